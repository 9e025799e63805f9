/**
 * tune/trial — Trial (define-by-run parameter suggestion for one run of the objective) and
 * FixedTrial (runs an objective with given parameters, outside any study).
 *
 * Suggestions are synchronous: when a study asks for a trial it snapshots the study's trials and
 * runs the sampler's relative step; each `suggest*` then takes, in order, the value already
 * suggested under that name in this trial, an enqueued (fixed) value, the only value of a
 * single-valued distribution, the relative sample, or the sampler's independent sample on the
 * snapshot. Writes (parameters, reports, attributes) go to storage through an ordered
 * write-behind queue that `shouldPrune` and the study's `tell` await.
 *
 * @example
 * const lr = trial.suggestFloat('lr', 1e-5, 1e-1, { log: true });
 * const layers = trial.suggestInt('layers', 1, 4);
 * const act = trial.suggestCategorical('act', ['relu', 'tanh'] as const);
 * trial.report(loss, epoch);
 * if (await trial.shouldPrune()) throw new TrialPruned();
 */
import { KilnError } from '../common/errors.js';
import {
  categoricalDistribution,
  checkDistributionCompatibility,
  contains,
  describeDistribution,
  floatDistribution,
  intDistribution,
  isSingle,
  singleInternalValue,
  toExternal,
  toInternal,
} from './distributions.js';
import { TrialFinishedError, warnOnce } from './errors.js';
import { filterStudyForTrial } from './pruners/hyperband.js';
import { SnapshotView } from './study-view.js';
import type {
  CategoricalChoice,
  Distribution,
  FrozenTrial,
  Pruner,
  Sampler,
  StudyDirection,
  StudyStorage,
  StudyView,
} from './types.js';

export interface SuggestFloatOptions {
  log?: boolean;
  step?: number | null;
}

export interface SuggestIntOptions {
  log?: boolean;
  step?: number;
}

/** What an objective may call: implemented by Trial and FixedTrial. */
export interface BaseTrial {
  readonly number: number;
  /** External values of the parameters suggested so far. */
  readonly params: Record<string, CategoricalChoice>;
  readonly userAttrs: Record<string, unknown>;
  suggestFloat(name: string, low: number, high: number, options?: SuggestFloatOptions): number;
  suggestInt(name: string, low: number, high: number, options?: SuggestIntOptions): number;
  suggestCategorical<T extends CategoricalChoice>(name: string, choices: readonly T[]): T;
  /** Reports an intermediate value at `step` (an integer >= 0); one value per step. */
  report(value: number, step: number): void;
  shouldPrune(): Promise<boolean>;
  setUserAttr(key: string, value: unknown): void;
}

/** An objective: returns the value to minimize or maximize. */
export type Objective = (trial: BaseTrial) => number | Promise<number>;

/** What a Trial needs of its study (Study implements it). */
export interface TrialHost {
  readonly storage: StudyStorage;
  readonly sampler: Sampler;
  readonly pruner: Pruner;
  readonly studyId: number;
  readonly studyName: string;
  readonly direction: StudyDirection;
  stop(): void;
}

/** Storage writes in submission order; the first failure is kept and rethrown by `flush`. */
class WriteQueue {
  private tail: Promise<void> = Promise.resolve();
  private error: { value: unknown } | undefined;

  push(write: () => Promise<unknown>): void {
    this.tail = this.tail.then(async () => {
      try {
        await write();
      } catch (error) {
        this.error ??= { value: error };
      }
    });
  }

  async flush(): Promise<void> {
    await this.tail;
    if (this.error) throw this.error.value;
  }
}

function validateStep(step: number): void {
  if (!Number.isSafeInteger(step) || step < 0) {
    throw new KilnError('KILN_ERR_INVALID_STEP', `the step of a report must be an integer >= 0 (got ${String(step)})`);
  }
}

function mutableCopy(trial: FrozenTrial): FrozenTrial {
  return {
    ...trial,
    params: { ...trial.params },
    internalParams: { ...trial.internalParams },
    distributions: { ...trial.distributions },
    intermediateValues: new Map(trial.intermediateValues),
    userAttrs: { ...trial.userAttrs },
    systemAttrs: { ...trial.systemAttrs },
  };
}

/** The typed suggest methods, shared by every trial kind: each builds its distribution and defers to `suggest`. */
abstract class SuggestingTrial {
  abstract suggest(name: string, distribution: Distribution): CategoricalChoice;

  suggestFloat(name: string, low: number, high: number, options: SuggestFloatOptions = {}): number {
    return this.suggest(name, floatDistribution(low, high, options)) as number;
  }

  suggestInt(name: string, low: number, high: number, options: SuggestIntOptions = {}): number {
    return this.suggest(name, intDistribution(low, high, options)) as number;
  }

  suggestCategorical<T extends CategoricalChoice>(name: string, choices: readonly T[]): T {
    return this.suggest(name, categoricalDistribution(choices)) as T;
  }
}

export class Trial extends SuggestingTrial implements BaseTrial {
  private readonly host: TrialHost;
  private readonly local: FrozenTrial;
  private readonly view: SnapshotView;
  private readonly queue = new WriteQueue();
  private readonly fixedParams: Record<string, CategoricalChoice>;
  private relativeSearchSpace: Record<string, Distribution> = {};
  private relativeParams: Record<string, number> = {};
  private studyDistributions: Map<string, Distribution> | undefined;
  private finished = false;

  /** @internal Trials come from `study.ask()` / `study.optimize()`. */
  constructor(host: TrialHost, trial: FrozenTrial, snapshot: readonly FrozenTrial[]) {
    super();
    this.host = host;
    this.local = mutableCopy(trial);
    const fixed = trial.systemAttrs.fixed_params;
    this.fixedParams = fixed && typeof fixed === 'object' ? { ...(fixed as Record<string, CategoricalChoice>) } : {};
    this.view = new SnapshotView({ studyId: host.studyId, name: host.studyName, direction: host.direction }, snapshot, {
      writeSystemAttr: (trialId, key, value) => {
        if (this.finished && trialId === this.local.trialId) throw this.finishedError();
        if (trialId === this.local.trialId) this.local.systemAttrs[key] = value;
        this.queue.push(() => host.storage.setTrialSystemAttr(trialId, key, value));
      },
      stop: () => host.stop(),
    });
  }

  /** @internal Runs the sampler's before-trial hook and relative step (called once by the study). */
  start(): void {
    const current = this.frozen();
    this.host.sampler.beforeTrial?.(this.view, current);
    const filtered = this.samplerView();
    const trial = this.frozen();
    this.relativeSearchSpace = this.host.sampler.inferRelativeSearchSpace(filtered, trial);
    this.relativeParams = this.host.sampler.sampleRelative(filtered, trial, this.relativeSearchSpace);
  }

  get number(): number {
    return this.local.number;
  }

  /** Storage-wide id. */
  get trialId(): number {
    return this.local.trialId;
  }

  get params(): Record<string, CategoricalChoice> {
    return { ...this.local.params };
  }

  get distributions(): Record<string, Distribution> {
    return { ...this.local.distributions };
  }

  get userAttrs(): Record<string, unknown> {
    return { ...this.local.userAttrs };
  }

  get systemAttrs(): Record<string, unknown> {
    return { ...this.local.systemAttrs };
  }

  get intermediateValues(): Map<number, number> {
    return new Map(this.local.intermediateValues);
  }

  get datetimeStart(): number | null {
    return this.local.datetimeStart;
  }

  /** The trial as this process sees it (pending writes included). */
  frozen(): FrozenTrial {
    return mutableCopy(this.local);
  }

  /** Suggests a value of `name` from any distribution (what the typed suggest methods call). */
  suggest(name: string, distribution: Distribution): CategoricalChoice {
    this.assertActive();
    const previous = this.local.distributions[name];
    if (previous !== undefined) {
      checkDistributionCompatibility(name, previous, distribution);
      return this.local.params[name];
    }
    const studyWide = this.knownDistributions().get(name);
    if (studyWide !== undefined) checkDistributionCompatibility(name, studyWide, distribution);

    let internal: number;
    if (name in this.fixedParams) {
      internal = toInternal(distribution, this.fixedParams[name]);
      if (!contains(distribution, internal)) {
        warnOnce(`fixed parameter "${name}" = ${JSON.stringify(this.fixedParams[name])} is outside ${describeDistribution(distribution)}; it is used anyway`);
      }
    } else if (isSingle(distribution)) {
      internal = singleInternalValue(distribution);
    } else if (this.isRelativeParam(name, distribution)) {
      internal = this.relativeParams[name];
    } else {
      internal = this.host.sampler.sampleIndependent(this.samplerView(), this.frozen(), name, distribution);
    }
    const external = toExternal(distribution, internal);
    this.local.params[name] = external;
    this.local.internalParams[name] = internal;
    this.local.distributions[name] = distribution;
    this.knownDistributions().set(name, distribution);
    const trialId = this.local.trialId;
    this.queue.push(() => this.host.storage.setTrialParam(trialId, name, internal, distribution));
    return external;
  }

  report(value: number, step: number): void {
    this.assertActive();
    validateStep(step);
    if (typeof value !== 'number') throw new KilnError('KILN_ERR_INVALID_REPORT', `a reported value must be a number (got ${typeof value})`);
    if (this.local.intermediateValues.has(step)) {
      warnOnce(`trial #${this.number}: step ${step} was already reported; the new value is ignored`);
      return;
    }
    this.local.intermediateValues.set(step, value);
    const trialId = this.local.trialId;
    this.queue.push(() => this.host.storage.setTrialIntermediateValue(trialId, step, value));
  }

  /** Refreshes the study snapshot from storage and asks the pruner whether to stop this trial. */
  async shouldPrune(): Promise<boolean> {
    this.assertActive();
    await this.queue.flush();
    const trials = await this.host.storage.getAllTrials(this.host.studyId);
    this.view.refresh(trials);
    const stored = trials.find((t) => t.trialId === this.local.trialId) ?? (await this.host.storage.getTrial(this.local.trialId));
    const pruned = this.host.pruner.prune(this.view, stored);
    return pruned;
  }

  setUserAttr(key: string, value: unknown): void {
    this.assertActive();
    this.local.userAttrs[key] = value;
    const trialId = this.local.trialId;
    this.queue.push(() => this.host.storage.setTrialUserAttr(trialId, key, value));
  }

  /** @internal Sets a system attribute (queued), e.g. the failure reason. */
  setSystemAttr(key: string, value: unknown): void {
    this.assertActive();
    this.local.systemAttrs[key] = value;
    const trialId = this.local.trialId;
    this.queue.push(() => this.host.storage.setTrialSystemAttr(trialId, key, value));
  }

  /** Waits for every queued storage write; rethrows the first failed one. */
  flushWrites(): Promise<void> {
    return this.queue.flush();
  }

  /** @internal Called by the study once the trial is told; later calls throw. */
  markFinished(): void {
    this.finished = true;
  }

  get isFinished(): boolean {
    return this.finished;
  }

  private samplerView(): StudyView {
    return filterStudyForTrial(this.host.pruner, this.view, this.local);
  }

  private isRelativeParam(name: string, distribution: Distribution): boolean {
    if (!(name in this.relativeParams)) return false;
    const relative = this.relativeSearchSpace[name];
    if (relative === undefined) {
      throw new KilnError('KILN_ERR_SAMPLER', `the sampler's relative sample has "${name}", which is not in its relative search space`);
    }
    checkDistributionCompatibility(name, relative, distribution);
    return contains(distribution, this.relativeParams[name]);
  }

  /** Latest distribution per parameter name over the snapshot (for study-wide compatibility). */
  private knownDistributions(): Map<string, Distribution> {
    if (!this.studyDistributions) {
      this.studyDistributions = new Map();
      for (const trial of this.view.trials()) {
        if (trial.trialId === this.local.trialId) continue;
        for (const [name, distribution] of Object.entries(trial.distributions)) this.studyDistributions.set(name, distribution);
      }
    }
    return this.studyDistributions;
  }

  private assertActive(): void {
    if (this.finished) throw this.finishedError();
  }

  private finishedError(): TrialFinishedError {
    return new TrialFinishedError(`trial #${this.number} has already been told and cannot be updated`);
  }
}

/**
 * A trial with fixed parameters, for running an objective outside a study (Optuna's
 * FixedTrial): each `suggest*` returns the given value (throwing when the name is missing or a
 * categorical value is not among the choices), `report` records, `shouldPrune` is false.
 */
export class FixedTrial extends SuggestingTrial implements BaseTrial {
  readonly number: number;
  private readonly given: Record<string, CategoricalChoice>;
  private readonly suggested: Record<string, CategoricalChoice> = {};
  private readonly suggestedDistributions: Record<string, Distribution> = {};
  private readonly attrs: Record<string, unknown> = {};
  readonly intermediateValues = new Map<number, number>();

  constructor(params: Record<string, CategoricalChoice>, number = 0) {
    super();
    this.given = { ...params };
    this.number = number;
  }

  get params(): Record<string, CategoricalChoice> {
    return { ...this.suggested };
  }

  get distributions(): Record<string, Distribution> {
    return { ...this.suggestedDistributions };
  }

  get userAttrs(): Record<string, unknown> {
    return { ...this.attrs };
  }

  suggest(name: string, distribution: Distribution): CategoricalChoice {
    if (!(name in this.given)) {
      throw new KilnError('KILN_ERR_MISSING_PARAM', `the value of parameter "${name}" is not given; set it when constructing the FixedTrial`);
    }
    const previous = this.suggestedDistributions[name];
    if (previous !== undefined) checkDistributionCompatibility(name, previous, distribution);
    const value = this.given[name];
    const internal = toInternal(distribution, value);
    if (!contains(distribution, internal)) {
      warnOnce(`fixed parameter "${name}" = ${JSON.stringify(value)} is outside ${describeDistribution(distribution)}; it is used anyway`);
    }
    this.suggested[name] = value;
    this.suggestedDistributions[name] = distribution;
    return value;
  }

  report(value: number, step: number): void {
    validateStep(step);
    if (!this.intermediateValues.has(step)) this.intermediateValues.set(step, value);
  }

  async shouldPrune(): Promise<boolean> {
    return false;
  }

  setUserAttr(key: string, value: unknown): void {
    this.attrs[key] = value;
  }
}
