/**
 * tune/samplers/random — RandomSampler (Optuna's RandomSampler): every parameter independently
 * uniform in its internal space — floats uniform on [low, high] (on a log scale with `log`),
 * stepped floats and ints uniform over their grid, log ints uniform in log space then rounded,
 * categoricals a uniform index. Seeded: the same seed gives the same suggestions.
 */
import { randomInt } from 'node:crypto';
import { Random } from '../../common/random.js';
import type { Distribution, FrozenTrial, Sampler, StudyView } from '../types.js';

/** A random 32-bit seed from the OS (for samplers constructed without one). */
export function freshSeed(): number {
  return randomInt(0, 2 ** 32);
}

/** One uniform draw from `distribution`, as an internal value (shared with other samplers). */
export function sampleUniformInternal(rng: Random, distribution: Distribution): number {
  switch (distribution.type) {
    case 'categorical':
      return rng.int(distribution.choices.length);
    case 'int': {
      const { low, high, step } = distribution;
      if (distribution.log) {
        const lo = Math.log(low - 0.5);
        const hi = Math.log(high + 0.5);
        const v = Math.round(Math.exp(lo + rng.float() * (hi - lo)));
        return Math.min(high, Math.max(low, v));
      }
      return low + rng.int(Math.floor((high - low) / step) + 1) * step;
    }
    case 'float': {
      const { low, high, step } = distribution;
      if (step !== null) {
        const n = Math.round((high - low) / step);
        const v = Number((low + rng.int(n + 1) * step).toPrecision(15));
        return Math.min(high, Math.max(low, v));
      }
      if (distribution.log) {
        const lo = Math.log(low);
        const hi = Math.log(high);
        return Math.min(high, Math.max(low, Math.exp(lo + rng.float() * (hi - lo))));
      }
      return low + rng.float() * (high - low);
    }
  }
}

export interface RandomSamplerOptions {
  /** Seed of the sampler's stream; a random one when omitted. */
  seed?: number;
}

export class RandomSampler implements Sampler {
  private rng: Random;

  constructor(options: RandomSamplerOptions = {}) {
    this.rng = new Random(options.seed ?? freshSeed());
  }

  /** Restarts the stream from `seed` (Optuna's `reseed_rng`). */
  reseed(seed: number = freshSeed()): void {
    this.rng = new Random(seed);
  }

  inferRelativeSearchSpace(_study: StudyView, _trial: FrozenTrial): Record<string, Distribution> {
    return {};
  }

  sampleRelative(_study: StudyView, _trial: FrozenTrial, _searchSpace: Record<string, Distribution>): Record<string, number> {
    return {};
  }

  sampleIndependent(_study: StudyView, _trial: FrozenTrial, _name: string, distribution: Distribution): number {
    return sampleUniformInternal(this.rng, distribution);
  }
}
