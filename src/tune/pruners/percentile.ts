/**
 * tune/pruners/percentile — PercentilePruner (Optuna's PercentilePruner): prunes a trial whose
 * best intermediate value so far is worse than the given percentile of the intermediate values
 * that COMPLETE trials reported at the same step.
 *
 * Exactly as Optuna: no pruning until `nStartupTrials` trials are COMPLETE, before step
 * `nWarmupSteps`, or at steps that are not the first report in a pruning interval
 * (`intervalSteps`, counted from the warm-up step); no pruning when fewer than `nMinTrials`
 * completed trials reported the step; a trial whose reported values are all NaN is pruned. For a
 * maximized study the percentile is mirrored (the 25th percentile keeps the top 75%).
 */
import type { FrozenTrial, Pruner, StudyDirection, StudyView } from '../types.js';
import { invalidPrunerOption, lastStep, requireInteger } from './util.js';

export interface PercentilePrunerOptions {
  /** COMPLETE trials needed before any pruning. Default 5. */
  nStartupTrials?: number;
  /** Steps (of the pruned trial) before pruning starts. Default 0. */
  nWarmupSteps?: number;
  /** Prune at most once per this many steps. Default 1. */
  intervalSteps?: number;
  /** COMPLETE trials that must have reported a step for it to be judged. Default 1. */
  nMinTrials?: number;
}

/**
 * The q-th percentile (0..100) of `values` with linear interpolation between closest ranks,
 * ignoring NaN (numpy's `nanpercentile`); NaN when no value is left.
 */
export function nanPercentile(values: readonly number[], q: number): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const rank = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  if (lo === hi) return sorted[lo];
  const a = sorted[lo];
  const b = sorted[hi];
  return a + (b - a) * (rank - lo);
}

/** The trial's best intermediate value over all its steps (NaN if all are NaN or none). */
export function bestIntermediateValue(trial: FrozenTrial, direction: StudyDirection): number {
  let best = Number.NaN;
  for (const value of trial.intermediateValues.values()) {
    if (Number.isNaN(value)) continue;
    if (Number.isNaN(best) || (direction === 'maximize' ? value > best : value < best)) best = value;
  }
  return best;
}

/** Optuna's `_is_first_in_interval_step`. */
export function isFirstInIntervalStep(step: number, steps: Iterable<number>, nWarmupSteps: number, intervalSteps: number): boolean {
  const nearestLowerPruningStep = Math.floor((step - nWarmupSteps) / intervalSteps) * intervalSteps + nWarmupSteps;
  let secondLastStep = -1;
  for (const s of steps) if (s > secondLastStep && s !== step) secondLastStep = s;
  return secondLastStep < nearestLowerPruningStep;
}

export class PercentilePruner implements Pruner {
  readonly percentile: number;
  readonly nStartupTrials: number;
  readonly nWarmupSteps: number;
  readonly intervalSteps: number;
  readonly nMinTrials: number;

  constructor(percentile: number, options: PercentilePrunerOptions = {}) {
    if (!(typeof percentile === 'number' && percentile >= 0 && percentile <= 100)) {
      throw invalidPrunerOption(`percentile must be between 0 and 100 inclusive (got ${String(percentile)})`);
    }
    this.percentile = percentile;
    this.nStartupTrials = options.nStartupTrials ?? 5;
    this.nWarmupSteps = options.nWarmupSteps ?? 0;
    this.intervalSteps = options.intervalSteps ?? 1;
    this.nMinTrials = options.nMinTrials ?? 1;
    requireInteger('nStartupTrials', this.nStartupTrials, 0);
    requireInteger('nWarmupSteps', this.nWarmupSteps, 0);
    requireInteger('intervalSteps', this.intervalSteps, 1);
    requireInteger('nMinTrials', this.nMinTrials, 1);
  }

  prune(study: StudyView, trial: FrozenTrial): boolean {
    const completed = study.trials(['COMPLETE']);
    if (completed.length === 0 || completed.length < this.nStartupTrials) return false;
    const step = lastStep(trial);
    if (step === undefined || step < this.nWarmupSteps) return false;
    if (!isFirstInIntervalStep(step, trial.intermediateValues.keys(), this.nWarmupSteps, this.intervalSteps)) return false;

    const direction = study.direction;
    const best = bestIntermediateValue(trial, direction);
    if (Number.isNaN(best)) return true;

    const atStep: number[] = [];
    for (const other of completed) {
      const value = other.intermediateValues.get(step);
      if (value !== undefined) atStep.push(value);
    }
    if (atStep.length < this.nMinTrials) return false;
    const p = nanPercentile(atStep, direction === 'maximize' ? 100 - this.percentile : this.percentile);
    if (Number.isNaN(p)) return false;
    return direction === 'maximize' ? best < p : best > p;
  }
}
