/**
 * data/stratify — the seeded, stratified split of a user's dataset into train / validation / test.
 *
 * Stratified (each class keeps its share in every split, as scikit-learn's train_test_split with
 * `stratify=y`) so a small or unbalanced dataset still tests and validates every class; seeded
 * with its own seed (--split-seed, default 42), independent of a run's --seed, so every run and
 * every tuning trial on a dataset sees the same test set. Test is split off first, then validation
 * off the rest. Per class, quotas follow the largest-remainder method, then each class with at
 * least 3 items keeps at least one item in every split it takes part in (so totals may move by a
 * few items from the requested size). The same labels, sizes and seed always give the same split.
 */
import { Random } from '../common/random.js';

/** A requested split size: a count (>= 1, an integer) or a fraction of the pool (< 1). */
export type SplitSize = number;

export interface StratifiedSplit {
  /** Indices into the labels, ascending. */
  train: number[];
  validation: number[];
  test: number[];
}

/** Items to take from a pool of `total` for a requested size (count or fraction). */
export function sizeToCount(size: SplitSize, total: number): number {
  if (!(size >= 0)) throw new RangeError(`split size must be >= 0, got ${size}`);
  const count = size < 1 ? Math.round(size * total) : Math.floor(size);
  return Math.min(count, total);
}

/**
 * Per-class quotas summing to `take` (largest remainder; ties to the lower class index), then
 * clamped to each class's [min, max] from `bounds` (which may move the total a little).
 */
export function classQuotas(sizes: readonly number[], take: number, bounds: (c: number) => [number, number]): number[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total === 0 || take === 0) return sizes.map(() => 0);
  const exact = sizes.map((n) => (take * n) / total);
  const quotas = exact.map(Math.floor);
  let left = take - quotas.reduce((a, b) => a + b, 0);
  const order = exact.map((e, c) => ({ c, frac: e - Math.floor(e) })).sort((a, b) => b.frac - a.frac || a.c - b.c);
  for (let k = 0; left > 0 && k < order.length; k++, left--) quotas[order[k].c]++;
  return quotas.map((q, c) => {
    const [min, max] = bounds(c);
    return Math.max(0, Math.min(Math.max(q, min), max));
  });
}

/**
 * Splits items (given by label) into train / validation / test. `test` or `validation` of
 * `undefined` means "the source gives that split already": nothing is split off for it.
 */
export function stratifiedSplit(
  labels: ArrayLike<number>,
  numClasses: number,
  sizes: { test?: SplitSize; validation?: SplitSize },
  seed: number,
): StratifiedSplit {
  const rng = new Random(seed);
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]].push(i);
  for (const members of byClass) rng.shuffle(members);

  const counts = byClass.map((m) => m.length);
  const splitVal = sizes.validation !== undefined;
  // Test first. A class of >= 3 items gives test one and keeps two back (validation and train).
  const testTake = sizes.test === undefined ? 0 : sizeToCount(sizes.test, labels.length);
  const testQuota = classQuotas(counts, testTake, (c) => (counts[c] >= 3 ? [1, counts[c] - (splitVal ? 2 : 1)] : [0, counts[c] - 1]));
  const rest = counts.map((n, c) => n - testQuota[c]);
  const valTake = !splitVal ? 0 : sizeToCount(sizes.validation!, rest.reduce((a, b) => a + b, 0));
  const valQuota = classQuotas(rest, valTake, (c) => [counts[c] >= 3 ? 1 : 0, rest[c] - 1]);

  const out: StratifiedSplit = { train: [], validation: [], test: [] };
  byClass.forEach((members, c) => {
    out.test.push(...members.slice(0, testQuota[c]));
    out.validation.push(...members.slice(testQuota[c], testQuota[c] + valQuota[c]));
    out.train.push(...members.slice(testQuota[c] + valQuota[c]));
  });
  const ascending = (a: number, b: number): number => a - b;
  out.train.sort(ascending);
  out.validation.sort(ascending);
  out.test.sort(ascending);
  return out;
}
