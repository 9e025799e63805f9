/**
 * tune/samplers/tpe/space — small pure helpers on distributions that the TPE sampler and the
 * importance evaluators need (kept here so they depend on types.ts only): equality, "single"
 * (one possible value), the uniform internal draw Optuna's RandomSampler makes, and the
 * intersection search space of a set of trials.
 */
import type { Random } from '../../../common/random.js';
import type { Distribution, FrozenTrial, TrialState } from '../../types.js';

/** Same kind, same bounds/choices/log/step (Optuna's distribution equality). */
export function sameDistribution(a: Distribution, b: Distribution): boolean {
  if (a.type !== b.type) return false;
  if (a.type === 'categorical' && b.type === 'categorical') {
    return a.choices.length === b.choices.length && a.choices.every((choice, i) => Object.is(choice, b.choices[i]) || choice === b.choices[i]);
  }
  if (a.type === 'categorical' || b.type === 'categorical') return false;
  return a.low === b.low && a.high === b.high && a.log === b.log && a.step === b.step;
}

/**
 * Whether observations recorded under `recorded` can be read as internal values of `current`
 * (Optuna's check_distribution_compatibility: same kind, same log flag, same categorical choices;
 * numeric ranges may differ).
 */
export function compatibleDistribution(recorded: Distribution, current: Distribution): boolean {
  if (recorded.type !== current.type) return false;
  if (recorded.type === 'categorical' || current.type === 'categorical') return sameDistribution(recorded, current);
  return recorded.log === current.log;
}

/** True when the distribution admits exactly one value. */
export function isSingle(dist: Distribution): boolean {
  if (dist.type === 'categorical') return dist.choices.length === 1;
  if (dist.low === dist.high) return true;
  if (dist.step !== null && !dist.log) return dist.high - dist.low < dist.step;
  return false;
}

/** Rounds a stepped value onto the grid low + k·step inside [low, high]. */
export function roundToGrid(value: number, low: number, high: number, step: number): number {
  // toPrecision(15) drops floating-point noise (0.1 + 2·0.1 is 0.3, not 0.30000000000000004).
  const rounded = Number((low + Math.round((value - low) / step) * step).toPrecision(15));
  return Math.min(high, Math.max(low, rounded));
}

/**
 * A uniform draw of an internal value, as Optuna's RandomSampler makes it: log-uniform for log
 * distributions, stepped ones uniform over [low − step/2, high + step/2] then rounded to the grid
 * (so every grid point is equally likely), categorical a uniform index.
 */
export function sampleUniform(rng: Random, dist: Distribution): number {
  if (dist.type === 'categorical') return rng.int(dist.choices.length);
  if (isSingle(dist)) return dist.low;
  const step = dist.step ?? 0;
  if (dist.log) {
    const half = dist.type === 'int' ? step / 2 : 0;
    const lo = Math.log(dist.low - half);
    const hi = Math.log(dist.high + half);
    const value = Math.exp(lo + rng.float() * (hi - lo));
    return dist.type === 'int' ? roundToGrid(value, dist.low, dist.high, dist.step) : Math.min(dist.high, Math.max(dist.low, value));
  }
  if (step > 0) {
    const value = dist.low - step / 2 + rng.float() * (dist.high - dist.low + step);
    return roundToGrid(value, dist.low, dist.high, step);
  }
  return dist.low + rng.float() * (dist.high - dist.low);
}

/**
 * The parameters present, with identical distributions, in every trial of `states` (Optuna's
 * IntersectionSearchSpace), sorted by name. Empty when there are no such trials.
 */
export function intersectionOf(trials: readonly FrozenTrial[], states: readonly TrialState[] = ['COMPLETE', 'PRUNED']): Record<string, Distribution> {
  let space: Record<string, Distribution> | undefined;
  for (const trial of trials) {
    if (!states.includes(trial.state)) continue;
    if (space === undefined) {
      space = { ...trial.distributions };
      continue;
    }
    for (const name of Object.keys(space)) {
      const other = trial.distributions[name];
      if (other === undefined || !sameDistribution(space[name], other)) delete space[name];
    }
  }
  const sorted: Record<string, Distribution> = {};
  for (const name of Object.keys(space ?? {}).sort()) sorted[name] = space![name];
  return sorted;
}
