/**
 * tune/samplers/tpe/parzen-estimator — the mixture density TPE fits to a set of observations,
 * after Optuna's `_ParzenEstimator` (optuna/samplers/_tpe/parzen_estimator.py, v3.x).
 *
 * One mixture component ("kernel") per observation, plus a prior kernel; each component is a
 * product over parameters of a truncated normal (float, and int via the discretised truncated
 * normal on its step grid) or a categorical distribution. Numbers are internal values; log
 * distributions are modelled in log space (log-int as a continuous range widened by half a
 * step, rounded back onto the grid on sampling — Optuna's "log-int hack").
 */
import type { Random } from '../../../common/random.js';
import type { Distribution } from '../../types.js';
import { roundToGrid } from './space.js';
import { logGaussMass, normLogPdf, truncnormSample } from './truncnorm.js';

const EPS = 1e-12;

export interface ParzenEstimatorParameters {
  considerPrior: boolean;
  priorWeight: number;
  considerMagicClip: boolean;
  considerEndpoints: boolean;
  /** Weights of the observations, oldest first (Optuna's `weights(n)`). */
  weights: (n: number) => number[];
  /** Optuna's multivariate bandwidth (Scott-like, shared by all kernels) instead of neighbour distances. */
  multivariate: boolean;
}

/** Kernels of one numeric parameter (transformed space). `step` null: continuous. */
export interface NumericKernels {
  kind: 'numeric';
  mus: Float64Array;
  sigmas: Float64Array;
  low: number;
  high: number;
  step: number | null;
  /** Per kernel: log normaliser (continuous: log mass in [low, high] + log σ; discrete: log mass in the widened range). */
  logNorm: Float64Array;
}

/** Kernels of one categorical parameter: a row of choice probabilities per kernel. */
export interface CategoricalKernels {
  kind: 'categorical';
  /** logProbs[k * nChoices + c]. */
  logProbs: Float64Array;
  cumProbs: Float64Array;
  nChoices: number;
}

export type Kernels = NumericKernels | CategoricalKernels;

export function numericKernels(mus: Float64Array, sigmas: Float64Array, low: number, high: number, step: number | null): NumericKernels {
  const logNorm = new Float64Array(mus.length);
  for (let k = 0; k < mus.length; k++) {
    const mu = mus[k];
    const sigma = sigmas[k];
    logNorm[k] =
      step === null
        ? logGaussMass((low - mu) / sigma, (high - mu) / sigma) + Math.log(sigma)
        : logGaussMass((low - step / 2 - mu) / sigma, (high + step / 2 - mu) / sigma);
  }
  return { kind: 'numeric', mus, sigmas, low, high, step, logNorm };
}

export function categoricalKernels(rows: Float64Array[], nChoices: number): CategoricalKernels {
  const logProbs = new Float64Array(rows.length * nChoices);
  const cumProbs = new Float64Array(rows.length * nChoices);
  rows.forEach((row, k) => {
    let total = 0;
    for (let c = 0; c < nChoices; c++) total += row[c];
    let acc = 0;
    for (let c = 0; c < nChoices; c++) {
      const p = row[c] / total;
      acc += p;
      logProbs[k * nChoices + c] = Math.log(p);
      cumProbs[k * nChoices + c] = acc;
    }
    cumProbs[k * nChoices + nChoices - 1] = 1;
  });
  return { kind: 'categorical', logProbs, cumProbs, nChoices };
}

/** Draws one value from kernel `k`. */
export function sampleKernel(kernels: Kernels, k: number, rng: Random): number {
  if (kernels.kind === 'categorical') {
    const u = rng.float();
    const base = k * kernels.nChoices;
    let c = 0;
    while (c < kernels.nChoices - 1 && kernels.cumProbs[base + c] < u) c++;
    return c;
  }
  const { mus, sigmas, low, high, step } = kernels;
  if (step === null) return truncnormSample(rng.float(), mus[k], sigmas[k], low, high);
  const x = truncnormSample(rng.float(), mus[k], sigmas[k], low - step / 2, high + step / 2);
  return roundToGrid(x, low, high, step);
}

/** log density (or, discrete, log mass) of value `x` under kernel `k`. */
export function kernelLogPdf(kernels: Kernels, k: number, x: number): number {
  if (kernels.kind === 'categorical') return kernels.logProbs[k * kernels.nChoices + Math.round(x)];
  const { mus, sigmas, low, high, step, logNorm } = kernels;
  const mu = mus[k];
  const sigma = sigmas[k];
  if (step === null) {
    if (x < low || x > high) return -Infinity;
    const z = (x - mu) / sigma;
    return normLogPdf(z) - logNorm[k];
  }
  const lower = Math.max(x - step / 2, low - step / 2);
  const upper = Math.min(x + step / 2, high + step / 2);
  return logGaussMass((lower - mu) / sigma, (upper - mu) / sigma) - logNorm[k];
}

/** A weighted mixture of product distributions over the dimensions. */
export class MixtureOfProducts {
  readonly logWeights: Float64Array;
  private readonly cumWeights: Float64Array;

  constructor(
    readonly weights: Float64Array,
    readonly dims: Kernels[],
  ) {
    this.logWeights = weights.map((w) => Math.log(w));
    this.cumWeights = new Float64Array(weights.length);
    let acc = 0;
    weights.forEach((w, k) => {
      acc += w;
      this.cumWeights[k] = acc;
    });
    this.cumWeights[weights.length - 1] = 1;
  }

  /** `size` draws; result[d][i] is dimension d of draw i. */
  sample(rng: Random, size: number): Float64Array[] {
    const active = new Int32Array(size);
    for (let i = 0; i < size; i++) {
      const u = rng.float();
      let k = 0;
      while (k < this.cumWeights.length - 1 && this.cumWeights[k] < u) k++;
      active[i] = k;
    }
    return this.dims.map((kernels) => {
      const out = new Float64Array(size);
      for (let i = 0; i < size; i++) out[i] = sampleKernel(kernels, active[i], rng);
      return out;
    });
  }

  /** log density of each draw (columns as returned by `sample`). */
  logPdf(x: Float64Array[]): Float64Array {
    const size = x.length === 0 ? 0 : x[0].length;
    const nKernels = this.weights.length;
    const out = new Float64Array(size);
    const terms = new Float64Array(nKernels);
    for (let i = 0; i < size; i++) {
      let max = -Infinity;
      for (let k = 0; k < nKernels; k++) {
        let t = this.logWeights[k];
        for (let d = 0; d < this.dims.length && t !== -Infinity; d++) t += kernelLogPdf(this.dims[d], k, x[d][i]);
        terms[k] = t;
        if (t > max) max = t;
      }
      if (max === -Infinity) {
        out[i] = -Infinity;
        continue;
      }
      let sum = 0;
      for (let k = 0; k < nKernels; k++) sum += Math.exp(terms[k] - max);
      out[i] = Math.log(sum) + max;
    }
    return out;
  }
}

const isLog = (dist: Distribution): boolean => dist.type !== 'categorical' && dist.log;

/** Optuna's _ParzenEstimator: fit on internal observations (equal-length arrays per parameter). */
export class ParzenEstimator {
  private readonly names: string[];
  private readonly mixture: MixtureOfProducts;

  constructor(
    observations: Record<string, readonly number[]>,
    private readonly searchSpace: Record<string, Distribution>,
    parameters: ParzenEstimatorParameters,
    predeterminedWeights?: readonly number[],
  ) {
    if (parameters.considerPrior && !(parameters.priorWeight > 0)) throw new RangeError('TPE: priorWeight must be positive');
    this.names = Object.keys(searchSpace);
    const n = this.names.length === 0 ? 0 : (observations[this.names[0]]?.length ?? 0);
    const transformed = this.names.map((name) => {
      const values = observations[name] ?? [];
      if (values.length !== n) throw new Error(`TPE: observation count mismatch for ${name}`);
      return Float64Array.from(values, (v) => (isLog(searchSpace[name]) ? Math.log(v) : v));
    });

    let weights: number[];
    if (n === 0) weights = [1];
    else {
      weights = predeterminedWeights ? [...predeterminedWeights] : callWeights(parameters.weights, n);
      if (parameters.considerPrior) weights.push(parameters.priorWeight);
    }
    const total = weights.reduce((a, b) => a + b, 0);
    const normalised = Float64Array.from(weights, (w) => w / total);
    const dims = this.names.map((name, i) => this.kernelsFor(transformed[i], searchSpace[name], parameters));
    this.mixture = new MixtureOfProducts(normalised, dims);
  }

  /** `size` draws of internal values by parameter name. */
  sample(rng: Random, size: number): Record<string, Float64Array> {
    const columns = this.mixture.sample(rng, size);
    const out: Record<string, Float64Array> = {};
    this.names.forEach((name, d) => {
      const dist = this.searchSpace[name];
      const column = columns[d];
      if (isLog(dist)) for (let i = 0; i < size; i++) column[i] = Math.exp(column[i]);
      if (dist.type === 'int') for (let i = 0; i < size; i++) column[i] = roundToGrid(column[i], dist.low, dist.high, dist.step);
      else if (dist.type === 'float') for (let i = 0; i < size; i++) column[i] = Math.min(dist.high, Math.max(dist.low, column[i]));
      out[name] = column;
    });
    return out;
  }

  /** log density of internal values (same layout as `sample`). */
  logPdf(samples: Record<string, Float64Array>): Float64Array {
    const columns = this.names.map((name) => {
      const column = samples[name];
      return isLog(this.searchSpace[name]) ? column.map((v) => Math.log(v)) : column;
    });
    return this.mixture.logPdf(columns);
  }

  private kernelsFor(obs: Float64Array, dist: Distribution, p: ParzenEstimatorParameters): Kernels {
    if (dist.type === 'categorical') {
      const nChoices = dist.choices.length;
      if (obs.length === 0) return categoricalKernels([new Float64Array(nChoices).fill(1 / nChoices)], nChoices);
      const nKernels = obs.length + (p.considerPrior ? 1 : 0);
      const rows: Float64Array[] = [];
      for (let k = 0; k < nKernels; k++) {
        const row = new Float64Array(nChoices).fill(p.priorWeight / nKernels);
        if (k < obs.length) row[Math.round(obs[k])] += 1;
        rows.push(row);
      }
      return categoricalKernels(rows, nChoices);
    }
    let low: number;
    let high: number;
    let step: number | null = dist.step;
    if (dist.log) {
      if (step !== null) {
        low = Math.log(dist.low - step / 2);
        high = Math.log(dist.high + step / 2);
        step = null;
      } else {
        low = Math.log(dist.low);
        high = Math.log(dist.high);
      }
    } else {
      low = dist.low;
      high = dist.high;
    }
    return this.numericKernelsFor(obs, low, high, step, p);
  }

  private numericKernelsFor(obs: Float64Array, low: number, high: number, step: number | null, p: ParzenEstimatorParameters): NumericKernels {
    const stepOr0 = step ?? 0;
    const considerPrior = p.considerPrior || obs.length === 0;
    const n = obs.length;
    const range = high - low + stepOr0;
    const priorMu = 0.5 * (low + high);
    let sigmas = new Float64Array(n);
    if (p.multivariate) {
      const sigma = 0.2 * Math.pow(Math.max(n, 1), -1 / (this.names.length + 4)) * range;
      sigmas.fill(sigma);
    } else {
      // Each kernel's σ is the larger distance to its sorted neighbours (the prior's mean and the
      // range ends included); without considerEndpoints the outermost kernels use their inner gap.
      const withPrior = considerPrior ? [...obs, priorMu] : [...obs];
      const order = withPrior.map((_, i) => i).sort((a, b) => withPrior[a] - withPrior[b] || a - b);
      const sorted = [low - stepOr0 / 2, ...order.map((i) => withPrior[i]), high + stepOr0 / 2];
      const m = withPrior.length;
      const sortedSigmas = new Float64Array(m);
      for (let j = 0; j < m; j++) sortedSigmas[j] = Math.max(sorted[j + 1] - sorted[j], sorted[j + 2] - sorted[j + 1]);
      if (!p.considerEndpoints && sorted.length >= 4) {
        sortedSigmas[0] = sorted[2] - sorted[1];
        sortedSigmas[m - 1] = sorted[m] - sorted[m - 1];
      }
      const all = new Float64Array(m);
      order.forEach((original, j) => {
        all[original] = sortedSigmas[j];
      });
      sigmas = all.slice(0, n);
    }
    const maxSigma = range;
    const minSigma = p.considerMagicClip ? range / Math.min(100, 1 + n + (considerPrior ? 1 : 0)) : EPS;
    for (let i = 0; i < n; i++) sigmas[i] = Math.min(maxSigma, Math.max(minSigma, sigmas[i]));

    const mus = considerPrior ? Float64Array.from([...obs, priorMu]) : Float64Array.from(obs);
    const allSigmas = considerPrior ? Float64Array.from([...sigmas, range]) : sigmas;
    return numericKernels(mus, allSigmas, low, high, step);
  }
}

function callWeights(fn: (n: number) => number[], n: number): number[] {
  const w = fn(n).slice(0, n);
  if (w.length !== n) throw new RangeError(`TPE: weights(${n}) returned ${w.length} values`);
  if (w.some((v) => !(v >= 0) || !Number.isFinite(v))) throw new RangeError('TPE: weights must be finite and non-negative');
  if (n > 0 && w.reduce((a, b) => a + b, 0) <= 0) throw new RangeError('TPE: weights must not all be zero');
  return w;
}
