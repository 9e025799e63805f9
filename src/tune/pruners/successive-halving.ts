/**
 * tune/pruners/successive-halving — SuccessiveHalvingPruner, asynchronous successive halving
 * (ASHA) as Optuna implements it.
 *
 * Rung r ends at step `minResource * reductionFactor^(minEarlyStoppingRate + r)`. When a trial
 * reports at or past the end of its current rung, its value there is recorded in its system
 * attribute `completed_rung_<r>`, and the trial is promoted to rung r+1 only if that value is in
 * the top 1/reductionFactor of all values recorded at rung r so far (its own included); else it
 * is pruned. While fewer than reductionFactor trials reached the rung, only a value that is the
 * best there is promoted (Optuna cannot pause trials). With `bootstrapCount` b, a trial is pruned
 * while no more than b trials (itself included) reached the rung. A NaN value at a rung
 * boundary prunes. `minResource: 'auto'` becomes max(1, floor(last step of the longest COMPLETE
 * trial / 100)) once a trial has completed (no pruning before).
 */
import type { FrozenTrial, Pruner, StudyDirection, StudyView } from '../types.js';
import { invalidPrunerOption, lastStep, requireInteger } from './util.js';

export interface SuccessiveHalvingPrunerOptions {
  /** Steps of the first rung, or 'auto' (estimated from completed trials). Default 'auto'. */
  minResource?: number | 'auto';
  /** Default 4. */
  reductionFactor?: number;
  /** Rungs skipped at the start (shifts every rung to larger steps). Default 0. */
  minEarlyStoppingRate?: number;
  /** Trials that must reach a rung before any is promoted from it. Default 0. */
  bootstrapCount?: number;
}

/** The system attribute that records a trial's value at the end of rung `rung`. */
export function completedRungKey(rung: number): string {
  return `completed_rung_${rung}`;
}

/** The first rung the trial has not completed. */
export function currentRung(trial: FrozenTrial): number {
  let rung = 0;
  while (completedRungKey(rung) in trial.systemAttrs) rung += 1;
  return rung;
}

/** Optuna's `_estimate_min_resource`: max(1, floor(max last step of COMPLETE trials / 100)). */
export function estimateMinResource(trials: readonly FrozenTrial[]): number | undefined {
  let maxStep: number | undefined;
  for (const trial of trials) {
    if (trial.state !== 'COMPLETE') continue;
    const step = lastStep(trial);
    if (step !== undefined && (maxStep === undefined || step > maxStep)) maxStep = step;
  }
  return maxStep === undefined ? undefined : Math.max(Math.floor(maxStep / 100), 1);
}

/** Optuna's `_is_trial_promotable_to_next_rung`. */
export function isPromotable(value: number, competing: number[], reductionFactor: number, direction: StudyDirection): boolean {
  let promotableIndex = Math.floor(competing.length / reductionFactor) - 1;
  if (promotableIndex === -1) promotableIndex = 0;
  const sorted = [...competing].sort((a, b) => a - b);
  if (direction === 'maximize') return value >= sorted[sorted.length - 1 - promotableIndex];
  return value <= sorted[promotableIndex];
}

export class SuccessiveHalvingPruner implements Pruner {
  private minResource: number | undefined;
  readonly reductionFactor: number;
  readonly minEarlyStoppingRate: number;
  readonly bootstrapCount: number;

  constructor(options: SuccessiveHalvingPrunerOptions = {}) {
    const minResource = options.minResource ?? 'auto';
    this.reductionFactor = options.reductionFactor ?? 4;
    this.minEarlyStoppingRate = options.minEarlyStoppingRate ?? 0;
    this.bootstrapCount = options.bootstrapCount ?? 0;
    if (minResource !== 'auto') requireInteger('minResource', minResource, 1);
    requireInteger('reductionFactor', this.reductionFactor, 2);
    requireInteger('minEarlyStoppingRate', this.minEarlyStoppingRate, 0);
    requireInteger('bootstrapCount', this.bootstrapCount, 0);
    if (this.bootstrapCount > 0 && minResource === 'auto') {
      throw invalidPrunerOption("bootstrapCount > 0 and minResource 'auto' are mutually incompatible");
    }
    this.minResource = minResource === 'auto' ? undefined : minResource;
  }

  /** The first rung's length in steps, once known. */
  get resolvedMinResource(): number | undefined {
    return this.minResource;
  }

  prune(study: StudyView, trial: FrozenTrial): boolean {
    const step = lastStep(trial);
    if (step === undefined) return false;
    let rung = currentRung(trial);
    const value = trial.intermediateValues.get(step) as number;
    let trials: FrozenTrial[] | undefined;

    while (true) {
      if (this.minResource === undefined) {
        trials ??= study.trials();
        this.minResource = estimateMinResource(trials);
        if (this.minResource === undefined) return false;
      }
      const promotionStep = this.minResource * this.reductionFactor ** (this.minEarlyStoppingRate + rung);
      if (step < promotionStep) return false;
      if (Number.isNaN(value)) return true;

      trials ??= study.trials();
      const key = completedRungKey(rung);
      if (!study.setTrialSystemAttr) {
        throw invalidPrunerOption('SuccessiveHalvingPruner needs a study view that can write trial system attributes');
      }
      study.setTrialSystemAttr(trial.trialId, key, value);
      const competing: number[] = [];
      for (const other of trials) {
        if (other.trialId !== trial.trialId && key in other.systemAttrs) competing.push(other.systemAttrs[key] as number);
      }
      competing.push(value);
      if (competing.length <= this.bootstrapCount) return true;
      if (!isPromotable(value, competing, this.reductionFactor, study.direction)) return true;
      rung += 1;
    }
  }
}
