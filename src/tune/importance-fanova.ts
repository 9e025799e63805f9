/**
 * tune/importance-fanova — fANOVA parameter importance (Hutter et al. 2014), after Optuna's
 * FanovaImportanceEvaluator: a random forest of regression trees fitted to (parameters →
 * objective), and for each tree the share of the prediction's variance (over the uniform
 * distribution on the search space) explained by each parameter alone — its first-order
 * marginal variance over the tree's total variance — averaged over the trees.
 *
 * Encoding: numeric parameters are one feature each (log ones in log space, unlike Optuna's
 * raw scale — the space TPE and the user think in); a categorical parameter is one-hot encoded
 * (one feature per choice), and the measure over it is uniform over its choices rather than
 * over the one-hot cube, so every leaf's probability is exact.
 */
import { Random } from '../common/random.js';
import type { Distribution } from './types.js';

export interface FanovaOptions {
  seed?: number;
  nTrees?: number;
  maxDepth?: number;
  minSamplesSplit?: number;
  minSamplesLeaf?: number;
}

interface Tree {
  feature: Int32Array; // −1 for leaves
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  value: Float64Array;
}

/** Feature layout of the search space. */
interface Layout {
  /** Per feature: the parameter (group) it belongs to, and for one-hot features the choice (else −1). */
  group: number[];
  choice: number[];
}

type Group = { kind: 'numeric'; low: number; high: number; feature: number } | { kind: 'categorical'; nChoices: number; features: number[] };

/** fANOVA first-order importances (unnormalised means of per-tree variance fractions). */
export function fanovaImportances(rows: readonly Record<string, number>[], values: readonly number[], space: Record<string, Distribution>, options: FanovaOptions = {}): Record<string, number> {
  const names = Object.keys(space);
  const groups: Group[] = [];
  const featureGroup: number[] = [];
  const featureChoice: number[] = [];
  names.forEach((name, g) => {
    const dist = space[name];
    if (dist.type === 'categorical') {
      const features: number[] = [];
      for (let c = 0; c < dist.choices.length; c++) {
        features.push(featureGroup.length);
        featureGroup.push(g);
        featureChoice.push(c);
      }
      groups.push({ kind: 'categorical', nChoices: dist.choices.length, features });
    } else {
      const scale = (v: number): number => (dist.log ? Math.log(v) : v);
      groups.push({ kind: 'numeric', low: scale(dist.low), high: scale(dist.high), feature: featureGroup.length });
      featureGroup.push(g);
      featureChoice.push(-1);
    }
  });
  const nFeatures = featureGroup.length;
  const n = rows.length;
  const X = new Float64Array(n * nFeatures);
  rows.forEach((row, i) => {
    names.forEach((name, g) => {
      const dist = space[name];
      const group = groups[g];
      if (group.kind === 'categorical') X[i * nFeatures + group.features[Math.round(row[name])]] = 1;
      else X[i * nFeatures + group.feature] = dist.type !== 'categorical' && dist.log ? Math.log(row[name]) : row[name];
    });
  });
  const y = Float64Array.from(values);
  const rng = new Random(options.seed ?? 0);
  const nTrees = options.nTrees ?? 64;
  const settings = { maxDepth: options.maxDepth ?? 64, minSamplesSplit: options.minSamplesSplit ?? 2, minSamplesLeaf: options.minSamplesLeaf ?? 1 };

  const sums = new Float64Array(groups.length);
  let counted = 0;
  const layout: Layout = { group: featureGroup, choice: featureChoice };
  for (let t = 0; t < nTrees; t++) {
    const sample = Int32Array.from({ length: n }, () => rng.int(n));
    const tree = fitTree(X, y, nFeatures, sample, settings, rng);
    const leaves = leavesOf(tree, layout, groups);
    const total = treeMoments(leaves);
    if (!(total.variance > 0)) continue;
    counted++;
    groups.forEach((_, g) => {
      sums[g] += marginalVariance(leaves, groups, g, total.mean) / total.variance;
    });
  }
  const out: Record<string, number> = {};
  names.forEach((name, g) => {
    out[name] = counted > 0 ? sums[g] / counted : 0;
  });
  return out;
}

/** CART regression tree (variance reduction), all features considered at each split in a random order. */
function fitTree(X: Float64Array, y: Float64Array, nFeatures: number, sample: Int32Array, s: { maxDepth: number; minSamplesSplit: number; minSamplesLeaf: number }, rng: Random): Tree {
  const feature: number[] = [];
  const threshold: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const value: number[] = [];
  const order = Int32Array.from({ length: nFeatures }, (_, i) => i);

  const build = (indices: Int32Array, depth: number): number => {
    const node = feature.length;
    let sum = 0;
    let sumSq = 0;
    for (const i of indices) {
      sum += y[i];
      sumSq += y[i] * y[i];
    }
    const m = indices.length;
    const mean = sum / m;
    feature.push(-1);
    threshold.push(0);
    left.push(-1);
    right.push(-1);
    value.push(mean);
    const impurity = sumSq / m - mean * mean;
    if (depth >= s.maxDepth || m < s.minSamplesSplit || m < 2 * s.minSamplesLeaf || impurity <= 1e-12 * Math.max(1, mean * mean)) return node;

    let bestScore = sum * sum / m + 1e-12 * Math.abs(sum * sum / m) + 1e-300;
    let bestFeature = -1;
    let bestThreshold = 0;
    rng.shuffle(order);
    const sorted = Array.from(indices);
    for (const f of order) {
      sorted.sort((a, b) => X[a * nFeatures + f] - X[b * nFeatures + f]);
      let leftSum = 0;
      for (let k = 0; k < m - 1; k++) {
        leftSum += y[sorted[k]];
        const xa = X[sorted[k] * nFeatures + f];
        const xb = X[sorted[k + 1] * nFeatures + f];
        if (xb <= xa) continue;
        const nl = k + 1;
        const nr = m - nl;
        if (nl < s.minSamplesLeaf || nr < s.minSamplesLeaf) continue;
        const rightSum = sum - leftSum;
        const score = (leftSum * leftSum) / nl + (rightSum * rightSum) / nr;
        if (score > bestScore) {
          bestScore = score;
          bestFeature = f;
          bestThreshold = xa + (xb - xa) / 2;
          if (bestThreshold === xb) bestThreshold = xa;
        }
      }
    }
    if (bestFeature < 0) return node;
    const l: number[] = [];
    const r: number[] = [];
    for (const i of indices) (X[i * nFeatures + bestFeature] <= bestThreshold ? l : r).push(i);
    feature[node] = bestFeature;
    threshold[node] = bestThreshold;
    const leftNode = build(Int32Array.from(l), depth + 1);
    const rightNode = build(Int32Array.from(r), depth + 1);
    left[node] = leftNode;
    right[node] = rightNode;
    return node;
  };
  build(sample, 0);
  return {
    feature: Int32Array.from(feature),
    threshold: Float64Array.from(threshold),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    value: Float64Array.from(value),
  };
}

/** A leaf as a box: per group, a numeric interval or a set of allowed choices. */
interface Leaf {
  value: number;
  lo: Float64Array;
  hi: Float64Array;
  allowed: Uint8Array[];
  /** Per group: the fraction of the group's measure inside the box. */
  fraction: Float64Array;
}

/** The tree's leaves with their boxes (one walk; unreachable leaves dropped). */
function leavesOf(tree: Tree, layout: Layout, groups: Group[]): Leaf[] {
  const leaves: Leaf[] = [];
  const lo = Float64Array.from(groups, (g) => (g.kind === 'numeric' ? g.low : 0));
  const hi = Float64Array.from(groups, (g) => (g.kind === 'numeric' ? g.high : 0));
  const allowed = groups.map((g) => new Uint8Array(g.kind === 'categorical' ? g.nChoices : 0).fill(1));
  const walk = (node: number): void => {
    const f = tree.feature[node];
    if (f < 0) {
      const fraction = Float64Array.from(groups, (group, g) => {
        if (group.kind === 'numeric') {
          const width = group.high - group.low;
          return width > 0 ? Math.max(0, hi[g] - lo[g]) / width : 1;
        }
        let n = 0;
        for (const a of allowed[g]) n += a;
        return n / group.nChoices;
      });
      if (fraction.every((p) => p > 0)) leaves.push({ value: tree.value[node], lo: lo.slice(), hi: hi.slice(), allowed: allowed.map((a) => a.slice()), fraction });
      return;
    }
    const g = layout.group[f];
    const t = tree.threshold[node];
    if (groups[g].kind === 'numeric') {
      const [l, h] = [lo[g], hi[g]];
      if (t > l) {
        hi[g] = Math.min(h, t);
        walk(tree.left[node]);
        hi[g] = h;
      }
      if (t < h) {
        lo[g] = Math.max(l, t);
        walk(tree.right[node]);
        lo[g] = l;
      }
      return;
    }
    // One-hot feature of choice c: "≤ t" (t in (0, 1)) means the choice is not c.
    const c = layout.choice[f];
    const saved = allowed[g].slice();
    allowed[g][c] = 0;
    walk(tree.left[node]);
    allowed[g].set(saved);
    if (saved[c]) {
      allowed[g].fill(0);
      allowed[g][c] = 1;
      walk(tree.right[node]);
      allowed[g].set(saved);
    }
  };
  walk(0);
  return leaves;
}

/** Mean and variance of the tree's prediction over the whole search space. */
function treeMoments(leaves: readonly Leaf[]): { mean: number; variance: number } {
  let total = 0;
  let mean = 0;
  for (const leaf of leaves) {
    const p = leaf.fraction.reduce((a, b) => a * b, 1);
    total += p;
    mean += p * leaf.value;
  }
  mean /= total;
  let variance = 0;
  for (const leaf of leaves) variance += leaf.fraction.reduce((a, b) => a * b, 1) * (leaf.value - mean) ** 2;
  return { mean, variance: variance / total };
}

/**
 * Variance over group `g` alone of the tree's prediction averaged over all other groups: the
 * group's range is cut at every leaf boundary into cells on which that average is constant; a
 * leaf adds value × (its mass in the other groups) to each cell (or choice) it covers.
 */
function marginalVariance(leaves: readonly Leaf[], groups: Group[], g: number, mean: number): number {
  const group = groups[g];
  const massOther = (leaf: Leaf): number => leaf.fraction.reduce((acc, p, i) => (i === g ? acc : acc * p), 1);
  if (group.kind === 'categorical') {
    const marginal = new Float64Array(group.nChoices);
    for (const leaf of leaves) {
      const m = massOther(leaf) * leaf.value;
      for (let c = 0; c < group.nChoices; c++) if (leaf.allowed[g][c]) marginal[c] += m;
    }
    let variance = 0;
    for (const v of marginal) variance += (v - mean) ** 2 / group.nChoices;
    return variance;
  }
  const width = group.high - group.low;
  if (!(width > 0)) return 0;
  const cuts = [...new Set(leaves.flatMap((leaf) => [leaf.lo[g], leaf.hi[g]]))].sort((a, b) => a - b);
  const nCells = cuts.length - 1;
  const delta = new Float64Array(nCells + 1);
  const indexOf = (x: number): number => {
    let a = 0;
    let b = cuts.length - 1;
    while (a < b) {
      const mid = (a + b) >> 1;
      if (cuts[mid] < x) a = mid + 1;
      else b = mid;
    }
    return a;
  };
  for (const leaf of leaves) {
    const m = massOther(leaf) * leaf.value;
    delta[indexOf(leaf.lo[g])] += m;
    delta[indexOf(leaf.hi[g])] -= m;
  }
  let variance = 0;
  let running = 0;
  for (let i = 0; i < nCells; i++) {
    running += delta[i];
    variance += ((cuts[i + 1] - cuts[i]) / width) * (running - mean) ** 2;
  }
  return variance;
}
