/**
 * tune/samplers/tpe — the Tree-structured Parzen Estimator sampler, after Optuna's TPESampler
 * (optuna/samplers/_tpe/sampler.py, v3.x) with the same defaults.
 *
 * After `nStartupTrials` finished (COMPLETE or PRUNED) trials drawn uniformly at random, each
 * suggestion splits the finished trials into the best `gamma(n)` ("below") and the rest
 * ("above"), fits a Parzen estimator l(x) to the first and g(x) to the second, draws
 * `nEiCandidates` points from l and keeps the one maximising log l(x) − log g(x) (which
 * maximises expected improvement under the TPE model).
 *
 * - Ranking: COMPLETE trials by value (direction-aware), then PRUNED trials — deeper ones first
 *   (higher last step), ties by their last intermediate value; a pruned trial never outranks a
 *   complete one. With `constantLiar`, RUNNING trials join "above" (treated as the worst), so
 *   concurrent workers are steered away from the points other workers are evaluating.
 * - Univariate (default): each parameter is modelled on its own in `sampleIndependent`.
 *   Multivariate: `sampleRelative` models the joint density over the intersection search space
 *   (parameters present with the same distribution in every finished trial) with Optuna's
 *   multivariate bandwidth; parameters outside it fall back to univariate TPE.
 * - Seeded: one generator per sampler, so the same seed and the same sequence of calls over the
 *   same history give the same suggestions.
 *
 * @example
 * const sampler = new TPESampler({ seed: 1, multivariate: true, constantLiar: true });
 */
import { webcrypto } from 'node:crypto';
import { Random } from '../../common/random.js';
import type { Distribution, FrozenTrial, Sampler, StudyDirection, StudyView, TrialState } from '../types.js';
import { ParzenEstimator, type ParzenEstimatorParameters } from './tpe/parzen-estimator.js';
import { compatibleDistribution, intersectionOf, isSingle, sampleUniform } from './tpe/space.js';

/** Optuna's default_gamma: 10% of the finished trials, at most 25. */
export function defaultGamma(n: number): number {
  return Math.min(Math.ceil(0.1 * n), 25);
}

/** Optuna's hyperopt_default_gamma: ⌈¼√n⌉, at most 25. */
export function hyperoptDefaultGamma(n: number): number {
  return Math.min(Math.ceil(0.25 * Math.sqrt(n)), 25);
}

/** Optuna's default_weights: flat for the newest 25 observations, a linear ramp from 1/n below them. */
export function defaultWeights(n: number): number[] {
  if (n === 0) return [];
  if (n < 25) return new Array<number>(n).fill(1);
  const m = n - 25;
  const ramp = Array.from({ length: m }, (_, i) => (m === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (m - 1)));
  return [...ramp, ...new Array<number>(25).fill(1)];
}

export interface TPESamplerOptions {
  /** Seed of the sampler's generator; without one, a random seed. */
  seed?: number;
  /** Trials sampled uniformly at random before TPE starts (default 10). */
  nStartupTrials?: number;
  /** Candidates drawn from l(x) per suggestion (default 24). */
  nEiCandidates?: number;
  /** Size of the "below" (good) group given the number of finished trials. */
  gamma?: (n: number) => number;
  /** Observation weights, oldest first, given their number. */
  weights?: (n: number) => number[];
  /** Add the prior kernel (mean = middle of the range, σ = the range; default true). */
  considerPrior?: boolean;
  priorWeight?: number;
  considerMagicClip?: boolean;
  considerEndpoints?: boolean;
  /** Model the parameters jointly (sampleRelative over the intersection search space). */
  multivariate?: boolean;
  /** Count RUNNING trials as the worst observations (for parallel workers). */
  constantLiar?: boolean;
  /** Warn (once per parameter) when multivariate mode samples a parameter independently. */
  warnIndependentSampling?: boolean;
}

interface Resolved {
  nStartupTrials: number;
  nEiCandidates: number;
  gamma: (n: number) => number;
  multivariate: boolean;
  constantLiar: boolean;
  warnIndependentSampling: boolean;
}

export class TPESampler implements Sampler {
  private readonly rng: Random;
  private readonly options: Resolved;
  private readonly parzen: ParzenEstimatorParameters;
  private readonly warned = new Set<string>();

  constructor(options: TPESamplerOptions = {}) {
    const seed = options.seed ?? webcrypto.getRandomValues(new Uint32Array(1))[0];
    this.rng = new Random(seed);
    this.options = {
      nStartupTrials: options.nStartupTrials ?? 10,
      nEiCandidates: options.nEiCandidates ?? 24,
      gamma: options.gamma ?? defaultGamma,
      multivariate: options.multivariate ?? false,
      constantLiar: options.constantLiar ?? false,
      warnIndependentSampling: options.warnIndependentSampling ?? true,
    };
    if (!(this.options.nEiCandidates >= 1)) throw new RangeError('TPE: nEiCandidates must be at least 1');
    this.parzen = {
      considerPrior: options.considerPrior ?? true,
      priorWeight: options.priorWeight ?? 1.0,
      considerMagicClip: options.considerMagicClip ?? true,
      considerEndpoints: options.considerEndpoints ?? false,
      weights: options.weights ?? defaultWeights,
      multivariate: this.options.multivariate,
    };
  }

  inferRelativeSearchSpace(study: StudyView, _trial: FrozenTrial): Record<string, Distribution> {
    if (!this.options.multivariate) return {};
    const space = intersectionOf(study.trials(['COMPLETE', 'PRUNED']));
    for (const name of Object.keys(space)) if (isSingle(space[name])) delete space[name];
    return space;
  }

  sampleRelative(study: StudyView, trial: FrozenTrial, searchSpace: Record<string, Distribution>): Record<string, number> {
    if (Object.keys(searchSpace).length === 0) return {};
    if (study.trials(['COMPLETE', 'PRUNED']).length < this.options.nStartupTrials) return {};
    return this.sample(study, trial, searchSpace);
  }

  sampleIndependent(study: StudyView, trial: FrozenTrial, name: string, distribution: Distribution): number {
    if (isSingle(distribution)) return distribution.type === 'categorical' ? 0 : distribution.low;
    if (study.trials(['COMPLETE', 'PRUNED']).length < this.options.nStartupTrials) return sampleUniform(this.rng, distribution);
    if (this.options.multivariate && this.options.warnIndependentSampling && !this.warned.has(name)) {
      this.warned.add(name);
      process.emitWarning(`TPESampler: parameter "${name}" is sampled independently (it is not in the relative search space of trial ${trial.number}).`);
    }
    return this.sample(study, trial, { [name]: distribution })[name];
  }

  private sample(study: StudyView, trial: FrozenTrial, searchSpace: Record<string, Distribution>): Record<string, number> {
    const states: TrialState[] = this.options.constantLiar ? ['COMPLETE', 'PRUNED', 'RUNNING'] : ['COMPLETE', 'PRUNED'];
    const trials = study.trials(states).filter((t) => t.number !== trial.number);
    const nFinished = trials.filter((t) => t.state !== 'RUNNING').length;
    const [below, above] = splitTrials(trials, study.direction, this.options.gamma(nFinished));

    const lx = new ParzenEstimator(observationsOf(below, searchSpace), searchSpace, this.parzen);
    const gx = new ParzenEstimator(observationsOf(above, searchSpace), searchSpace, this.parzen);
    const candidates = lx.sample(this.rng, this.options.nEiCandidates);
    const logL = lx.logPdf(candidates);
    const logG = gx.logPdf(candidates);
    let best = 0;
    let bestScore = -Infinity;
    for (let i = 0; i < logL.length; i++) {
      const score = logL[i] - logG[i];
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    const out: Record<string, number> = {};
    for (const name of Object.keys(searchSpace)) out[name] = candidates[name][best];
    return out;
  }
}

/**
 * Optuna's _split_trials: the best `nBelow` finished trials (COMPLETE by value, then PRUNED by
 * (−last step, last intermediate value)) and the rest, RUNNING ones always "above"; both groups
 * in trial-number order (so the observation weights ramp by age).
 */
export function splitTrials(trials: readonly FrozenTrial[], direction: StudyDirection, nBelow: number): [FrozenTrial[], FrozenTrial[]] {
  const sign = direction === 'minimize' ? 1 : -1;
  const complete = trials.filter((t) => t.state === 'COMPLETE' && t.value !== null && !Number.isNaN(t.value));
  const pruned = trials.filter((t) => t.state === 'PRUNED' || (t.state === 'COMPLETE' && (t.value === null || Number.isNaN(t.value))));
  const running = trials.filter((t) => t.state === 'RUNNING');

  const sortedComplete = [...complete].sort((a, b) => sign * (a.value! - b.value!) || a.number - b.number);
  const nComplete = Math.min(Math.max(0, nBelow), sortedComplete.length);
  const below = sortedComplete.slice(0, nComplete);
  const above = sortedComplete.slice(nComplete);

  const score = (t: FrozenTrial): [number, number] => {
    if (t.intermediateValues.size === 0) return [1, 0];
    let step = -Infinity;
    for (const s of t.intermediateValues.keys()) if (s > step) step = s;
    const value = t.intermediateValues.get(step)!;
    if (Number.isNaN(value)) return [-step, Infinity];
    return [-step, sign * value];
  };
  const scored = pruned.map((t) => ({ t, s: score(t) }));
  scored.sort((a, b) => a.s[0] - b.s[0] || a.s[1] - b.s[1] || a.t.number - b.t.number);
  const nPruned = Math.min(Math.max(0, nBelow - below.length), scored.length);
  below.push(...scored.slice(0, nPruned).map((x) => x.t));
  above.push(...scored.slice(nPruned).map((x) => x.t), ...running);

  below.sort((a, b) => a.number - b.number);
  above.sort((a, b) => a.number - b.number);
  return [below, above];
}

/**
 * Internal values of the search space's parameters from the trials that have all of them with a
 * compatible distribution (Optuna's _get_internal_repr).
 */
function observationsOf(trials: readonly FrozenTrial[], searchSpace: Record<string, Distribution>): Record<string, number[]> {
  const names = Object.keys(searchSpace);
  const out: Record<string, number[]> = {};
  for (const name of names) out[name] = [];
  for (const trial of trials) {
    const ok = names.every((name) => {
      const recorded = trial.distributions[name];
      const value = trial.internalParams[name];
      if (recorded === undefined || value === undefined || !compatibleDistribution(recorded, searchSpace[name])) return false;
      const dist = searchSpace[name];
      if (dist.type === 'categorical') return value >= 0 && value < dist.choices.length;
      return !dist.log || value > 0;
    });
    if (!ok) continue;
    for (const name of names) out[name].push(trial.internalParams[name]);
  }
  return out;
}
