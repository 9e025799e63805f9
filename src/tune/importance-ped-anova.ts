/**
 * tune/importance-ped-anova — PED-ANOVA parameter importance, after Optuna's
 * PedAnovaImportanceEvaluator (optuna/importance/_ped_anova, Watanabe et al. 2023).
 *
 * A parameter matters when its distribution among the top trials differs from its distribution
 * among all trials. Each distribution is a 1-D Parzen estimator on a grid (numeric ranges cut into
 * 50 steps, log ones in log space; categorical ones per choice) with Scott's-rule bandwidth and a
 * prior kernel; the importance is the Pearson divergence Σ p_all · (p_top / p_all − 1)².
 */
import type { Distribution, FrozenTrial, StudyDirection } from './types.js';
import { MixtureOfProducts, categoricalKernels, numericKernels, type Kernels } from './samplers/tpe/parzen-estimator.js';

export interface PedAnovaOptions {
  direction?: StudyDirection;
  /** Fraction of trials counted as "top" (default 0.1; at least 2 trials). */
  targetQuantile?: number;
  /** Grid size for numeric parameters (default 50). */
  nSteps?: number;
  priorWeight?: number;
}

const MIN_TOP_TRIALS = 2;

/** Raw (unnormalised) PED-ANOVA importances of `params` over complete trials with finite values. */
export function pedAnovaImportances(trials: readonly FrozenTrial[], space: Record<string, Distribution>, options: PedAnovaOptions = {}): Record<string, number> {
  const names = Object.keys(space);
  const quantile = options.targetQuantile ?? 0.1;
  const nSteps = options.nSteps ?? 50;
  const priorWeight = options.priorWeight ?? 1.0;
  if (trials.length <= MIN_TOP_TRIALS) return Object.fromEntries(names.map((name) => [name, 1 / names.length]));

  const sign = (options.direction ?? 'minimize') === 'minimize' ? 1 : -1;
  const losses = trials.map((t) => sign * t.value!);
  const sorted = [...losses].sort((a, b) => a - b);
  // np.quantile(..., method="inverted_cdf"): the smallest loss whose empirical CDF reaches q.
  const quantileIndex = Math.max(0, Math.ceil(quantile * sorted.length) - 1);
  const cutoff = Math.max(sorted[MIN_TOP_TRIALS - 1], sorted[quantileIndex]);
  const top = trials.filter((_, i) => losses[i] <= cutoff);

  const out: Record<string, number> = {};
  for (const name of names) {
    const dist = space[name];
    const topCounts = countsOf(name, dist, top, nSteps);
    const allCounts = countsOf(name, dist, trials, nSteps);
    const pTop = scottPdf(topCounts, dist.type === 'categorical', priorWeight);
    const pAll = scottPdf(allCounts, dist.type === 'categorical', priorWeight);
    let divergence = 0;
    for (let i = 0; i < pTop.length; i++) {
      const a = pTop[i] + 1e-12;
      const b = pAll[i] + 1e-12;
      divergence += b * (a / b - 1) ** 2;
    }
    out[name] = (top.length / trials.length) * divergence;
  }
  return out;
}

/** Trial counts per grid cell (numeric) or per choice (categorical). */
function countsOf(name: string, dist: Distribution, trials: readonly FrozenTrial[], nSteps: number): Float64Array {
  if (dist.type === 'categorical') {
    const counts = new Float64Array(dist.choices.length);
    for (const t of trials) counts[Math.round(t.internalParams[name])] += 1;
    return counts;
  }
  let steps = nSteps;
  if (dist.type === 'int' && dist.log) steps = Math.min(Math.ceil(Math.log(dist.high - dist.low + 1) / Math.log(2)) + 1, nSteps);
  else if (dist.step !== null) steps = Math.min(Math.round((dist.high - dist.low) / dist.step) + 1, nSteps);
  steps = Math.max(steps, 2);
  const scale = (v: number): number => (dist.log ? Math.log(v) : v);
  const lo = scale(dist.low);
  const hi = scale(dist.high);
  const width = (hi - lo) / (steps - 1);
  const counts = new Float64Array(steps);
  for (const t of trials) {
    // np.searchsorted(grids, v − width/2): the first grid point ≥ v − width/2.
    const position = (scale(t.internalParams[name]) - width / 2 - lo) / width;
    const index = width > 0 ? Math.min(steps - 1, Math.max(0, Math.ceil(position - 1e-12))) : 0;
    counts[index] += 1;
  }
  return counts;
}

/** The Scott's-rule Parzen estimator's probability of each grid cell / choice. */
function scottPdf(counts: Float64Array, categorical: boolean, priorWeight: number): Float64Array {
  const n = counts.length;
  const observed: number[] = [];
  const weights: number[] = [];
  counts.forEach((c, i) => {
    if (c > 0) {
      observed.push(i);
      weights.push(c);
    }
  });
  let kernels: Kernels;
  if (observed.length === 0) {
    weights.push(1);
    kernels = categorical
      ? categoricalKernels([new Float64Array(n).fill(1 / n)], n)
      : numericKernels(Float64Array.of(0.5 * (n - 1)), Float64Array.of(n), 0, n - 1, 1);
  } else if (categorical) {
    const nKernels = observed.length + 1;
    const rows = [...observed, -1].map((choice) => {
      const row = new Float64Array(n).fill(priorWeight / nKernels);
      if (choice >= 0) row[choice] += 1;
      return row;
    });
    weights.push(priorWeight);
    kernels = categoricalKernels(rows, n);
  } else {
    const total = weights.reduce((a, b) => a + b, 0);
    const mean = observed.reduce((acc, mu, i) => acc + (mu * weights[i]) / total, 0);
    let sigma = Math.sqrt(observed.reduce((acc, mu, i) => acc + (mu - mean) ** 2 * weights[i], 0) / Math.max(1, total - 1));
    const cum: number[] = [];
    weights.reduce((acc, w) => {
      cum.push(acc + w);
      return acc + w;
    }, 0);
    const q25 = Math.floor(total / 4);
    const q75 = Math.floor((total * 3) / 4);
    const i25 = cum.findIndex((c) => c >= q25); // searchsorted side=left
    let i75 = cum.findIndex((c) => c > q75); // searchsorted side=right
    if (i75 < 0) i75 = cum.length;
    const iqr = observed[Math.min(observed.length - 1, i75)] - observed[Math.max(0, i25)];
    sigma = 1.059 * Math.min(iqr / 1.34, sigma) * Math.pow(total, -0.2);
    sigma = Math.max(sigma, 0.5 / 1.64);
    const mus = Float64Array.from([...observed, 0.5 * (n - 1)]);
    const sigmas = Float64Array.from([...observed.map(() => sigma), n]);
    weights.push(priorWeight);
    kernels = numericKernels(mus, sigmas, 0, n - 1, 1);
  }
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const mixture = new MixtureOfProducts(Float64Array.from(weights, (w) => w / totalWeight), [kernels]);
  const grid = Float64Array.from({ length: n }, (_, i) => i);
  return mixture.logPdf([grid]).map((v) => Math.exp(v));
}
