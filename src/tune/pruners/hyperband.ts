/**
 * tune/pruners/hyperband — HyperbandPruner (Optuna's HyperbandPruner): several
 * SuccessiveHalving brackets with increasing early-stopping rates run side by side.
 *
 * The number of brackets is floor(log_reductionFactor(maxResource / minResource)) + 1; bracket
 * s gets a share ceil(n * eta^(n-1-s) / (n-s)) of the trials. A trial's bracket is
 * crc32("<study name>_<trial number>") modulo the total share, walked through the shares — the
 * same assignment as Optuna, so it is deterministic and the same in every worker. A bracket's
 * SuccessiveHalvingPruner (minEarlyStoppingRate = bracket id) sees only the trials of its bracket,
 * and so do samplers (see `filterStudyForTrial`). `maxResource: 'auto'` becomes the largest last
 * step of a COMPLETE trial plus one, once a trial has completed (no pruning before).
 */
import { crc32 } from '../../common/crc32.js';
import type { FrozenTrial, Pruner, StudyView, TrialState } from '../types.js';
import { SuccessiveHalvingPruner } from './successive-halving.js';
import { invalidPrunerOption, lastStep, requireInteger } from './util.js';

export interface HyperbandPrunerOptions {
  /** Default 1. */
  minResource?: number;
  /** Steps of a full-length trial, or 'auto'. Default 'auto'. */
  maxResource?: number | 'auto';
  /** Default 3. */
  reductionFactor?: number;
  /** Default 0. */
  bootstrapCount?: number;
}

/** A view of a study restricted to one Hyperband bracket's trials. */
class BracketView implements StudyView {
  readonly studyId: number;
  readonly name: string;
  readonly direction: StudyView['direction'];
  setTrialSystemAttr?: (trialId: number, key: string, value: unknown) => void;
  stop?: () => void;

  constructor(
    private readonly inner: StudyView,
    private readonly pruner: HyperbandPruner,
    readonly bracketId: number,
  ) {
    this.studyId = inner.studyId;
    this.name = inner.name;
    this.direction = inner.direction;
    if (inner.setTrialSystemAttr) this.setTrialSystemAttr = inner.setTrialSystemAttr.bind(inner);
    if (inner.stop) this.stop = inner.stop.bind(inner);
  }

  trials(states?: readonly TrialState[]): FrozenTrial[] {
    return this.inner.trials(states).filter((trial) => this.pruner.bracketIdOf(this.name, trial.number) === this.bracketId);
  }
}

export class HyperbandPruner implements Pruner {
  readonly minResource: number;
  private maxResource: number | 'auto';
  readonly reductionFactor: number;
  readonly bootstrapCount: number;
  private readonly pruners: SuccessiveHalvingPruner[] = [];
  private readonly budgets: number[] = [];
  private totalBudget = 0;

  constructor(options: HyperbandPrunerOptions = {}) {
    this.minResource = options.minResource ?? 1;
    this.maxResource = options.maxResource ?? 'auto';
    this.reductionFactor = options.reductionFactor ?? 3;
    this.bootstrapCount = options.bootstrapCount ?? 0;
    requireInteger('minResource', this.minResource, 1);
    requireInteger('reductionFactor', this.reductionFactor, 2);
    requireInteger('bootstrapCount', this.bootstrapCount, 0);
    if (this.maxResource !== 'auto') {
      requireInteger('maxResource', this.maxResource, 1);
      if (this.maxResource < this.minResource) throw invalidPrunerOption(`maxResource (${this.maxResource}) must be >= minResource (${this.minResource})`);
      this.initialize();
    }
  }

  /** Number of brackets, once known (after the first COMPLETE trial with 'auto'). */
  get nBrackets(): number | undefined {
    return this.pruners.length > 0 ? this.pruners.length : undefined;
  }

  prune(study: StudyView, trial: FrozenTrial): boolean {
    if (this.pruners.length === 0) {
      this.tryInitialize(study);
      if (this.pruners.length === 0) return false;
    }
    const bracketId = this.bracketIdOf(study.name, trial.number);
    return this.pruners[bracketId].prune(this.bracketView(study, bracketId), trial);
  }

  /** The bracket of trial `trialNumber` in study `studyName` (0 before the brackets are known). */
  bracketIdOf(studyName: string, trialNumber: number): number {
    if (this.pruners.length === 0) return 0;
    let n = crc32(Buffer.from(`${studyName}_${trialNumber}`, 'utf8')) % this.totalBudget;
    for (let bracketId = 0; bracketId < this.pruners.length; bracketId++) {
      n -= this.budgets[bracketId];
      if (n < 0) return bracketId;
    }
    throw new Error('unreachable: bracket budget walk fell through');
  }

  /** `study` restricted to the trials of bracket `bracketId`. */
  bracketView(study: StudyView, bracketId: number): StudyView {
    return new BracketView(study, this, bracketId);
  }

  private tryInitialize(study: StudyView): void {
    if (this.maxResource === 'auto') {
      let maxStep: number | undefined;
      for (const trial of study.trials(['COMPLETE'])) {
        const step = lastStep(trial);
        if (step !== undefined && (maxStep === undefined || step > maxStep)) maxStep = step;
      }
      if (maxStep === undefined) return;
      this.maxResource = maxStep + 1;
    }
    this.initialize();
  }

  private initialize(): void {
    const maxResource = this.maxResource as number;
    const nBrackets = Math.max(1, Math.floor(Math.log(maxResource / this.minResource) / Math.log(this.reductionFactor)) + 1);
    for (let bracketId = 0; bracketId < nBrackets; bracketId++) {
      const s = nBrackets - 1 - bracketId;
      const budget = Math.ceil((nBrackets * this.reductionFactor ** s) / (s + 1));
      this.budgets.push(budget);
      this.totalBudget += budget;
      this.pruners.push(
        new SuccessiveHalvingPruner({
          minResource: this.minResource,
          reductionFactor: this.reductionFactor,
          minEarlyStoppingRate: bracketId,
          bootstrapCount: this.bootstrapCount,
        }),
      );
    }
  }
}

/**
 * The study a sampler should see for `trial` (Optuna's `_filter_study`): with a HyperbandPruner,
 * only the trials of the trial's bracket; otherwise the study itself.
 */
export function filterStudyForTrial(pruner: Pruner, study: StudyView, trial: FrozenTrial): StudyView {
  if (pruner instanceof HyperbandPruner) return pruner.bracketView(study, pruner.bracketIdOf(study.name, trial.number));
  return study;
}
