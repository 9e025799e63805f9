import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { completedAt, makeTrial, viewOf } from '../test-fixtures.js';
import type { FrozenTrial, Pruner, StudyDirection } from '../types.js';
import { MedianPruner } from './median.js';
import { NopPruner } from './nop.js';
import { nanPercentile, PercentilePruner } from './percentile.js';

/** Whether `pruner` prunes a RUNNING trial with `values` ({ step: value }) among `completed`. */
function judge(pruner: Pruner, completed: FrozenTrial[], values: Record<number, number>, direction: StudyDirection = 'minimize'): boolean {
  const trial = makeTrial({ number: completed.length, values });
  return pruner.prune(viewOf([...completed, trial], direction), trial);
}

const K = 3;
const FIVE = completedAt([0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5]);

describe('MedianPruner', () => {
  test('prunes a value worse than the median of completed trials at that step (minimize)', () => {
    const pruner = new MedianPruner();
    assert.equal(judge(pruner, FIVE, { [K]: 3.5 }), true);
    assert.equal(judge(pruner, FIVE, { [K]: 2.5 }), false);
    assert.equal(judge(pruner, FIVE, { [K]: 3 }), false, 'equal to the median is kept');
  });

  test('maximize: prunes a value below the median', () => {
    const pruner = new MedianPruner();
    assert.equal(judge(pruner, FIVE, { [K]: 2.5 }, 'maximize'), true);
    assert.equal(judge(pruner, FIVE, { [K]: 3.5 }, 'maximize'), false);
  });

  test('nStartupTrials: no pruning until that many trials are COMPLETE', () => {
    assert.equal(judge(new MedianPruner(), FIVE.slice(0, 4), { [K]: 100 }), false);
    assert.equal(judge(new MedianPruner({ nStartupTrials: 2 }), FIVE.slice(0, 2), { [K]: 100 }), true);
    assert.equal(judge(new MedianPruner({ nStartupTrials: 0 }), [], { [K]: 100 }), false, 'no completed trial: nothing to compare');
    const unfinished = FIVE.map((t) => ({ ...t, state: 'PRUNED' as const }));
    assert.equal(judge(new MedianPruner({ nStartupTrials: 1 }), unfinished, { [K]: 100 }), false, 'only COMPLETE trials count');
  });

  test('nWarmupSteps: no pruning before that step', () => {
    const pruner = new MedianPruner({ nWarmupSteps: 3 });
    assert.equal(judge(pruner, FIVE, { 2: 100 }), false);
    assert.equal(judge(pruner, FIVE, { 2: 100, 3: 100 }), true);
  });

  test('intervalSteps: judged only at the first report of each interval', () => {
    const pruner = new MedianPruner({ intervalSteps: 2 });
    assert.equal(judge(pruner, FIVE, { 0: 10 }), true, 'step 0 opens an interval');
    assert.equal(judge(pruner, FIVE, { 0: 10, 1: 10 }), false, 'step 1 is inside the interval started at 0');
    assert.equal(judge(pruner, FIVE, { 0: 10, 1: 10, 2: 10 }), true, 'step 2 opens the next interval');
    assert.equal(judge(pruner, FIVE, { 1: 10 }), true, 'the first report in an interval, even off its start');
    const warm = new MedianPruner({ intervalSteps: 3, nWarmupSteps: 1 });
    assert.equal(judge(warm, FIVE, { 1: 10, 2: 10 }), false, 'intervals count from the warm-up step: 1, 4, …');
    assert.equal(judge(warm, FIVE, { 1: 10, 2: 10, 3: 10, 4: 10 }), true);
  });

  test("the trial's best value so far is compared (Optuna), not its latest", () => {
    assert.equal(judge(new MedianPruner(), FIVE, { 0: 1, 1: 100 }), false);
    assert.equal(judge(new MedianPruner(), FIVE, { 0: 100, 1: 100 }), true);
  });

  test('NaN: a trial that reported only NaN is pruned; NaN after a finite value is judged by the finite one', () => {
    assert.equal(judge(new MedianPruner(), FIVE, { [K]: Number.NaN }), true);
    assert.equal(judge(new MedianPruner(), FIVE, { 0: 1, 1: Number.NaN }), false);
  });

  test('nMinTrials: a step reported by too few completed trials is not judged', () => {
    const sparse = [...completedAt([K], [1, 2]), ...completedAt([0], [1, 2, 3], 2)];
    assert.equal(judge(new MedianPruner(), sparse, { [K]: 100 }), true);
    assert.equal(judge(new MedianPruner({ nMinTrials: 3 }), sparse, { [K]: 100 }), false);
    assert.equal(judge(new MedianPruner(), FIVE, { 9: 100 }), false, 'no completed trial reported step 9');
  });

  test('no report, no pruning; options are validated', () => {
    assert.equal(judge(new MedianPruner(), FIVE, {}), false);
    assert.throws(() => new MedianPruner({ intervalSteps: 0 }), /intervalSteps/);
    assert.throws(() => new MedianPruner({ nStartupTrials: -1 }), /nStartupTrials/);
    assert.throws(() => new PercentilePruner(101), /percentile/);
  });
});

describe('PercentilePruner', () => {
  test('linear interpolation between ranks, ignoring NaN (numpy nanpercentile)', () => {
    assert.equal(nanPercentile([1, 2, 3, 4, 5], 25), 2);
    assert.equal(nanPercentile([1, 2, 3, 4], 50), 2.5);
    assert.equal(nanPercentile([4, 1, Number.NaN, 3, 2], 50), 2.5);
    assert.ok(Number.isNaN(nanPercentile([Number.NaN], 50)));
  });

  test('25th percentile, minimize: keeps the best quarter (prunes above p25 = 2)', () => {
    const pruner = new PercentilePruner(25);
    assert.equal(judge(pruner, FIVE, { [K]: 2.5 }), true);
    assert.equal(judge(pruner, FIVE, { [K]: 1.5 }), false);
  });

  test('75th percentile, minimize: prunes above p75 = 4', () => {
    const pruner = new PercentilePruner(75);
    assert.equal(judge(pruner, FIVE, { [K]: 3.5 }), false);
    assert.equal(judge(pruner, FIVE, { [K]: 4.5 }), true);
  });

  test('25th percentile, maximize: keeps the best quarter (prunes below the mirrored p75 = 4)', () => {
    const pruner = new PercentilePruner(25);
    assert.equal(judge(pruner, FIVE, { [K]: 3.5 }, 'maximize'), true);
    assert.equal(judge(pruner, FIVE, { [K]: 4.5 }, 'maximize'), false);
  });

  test('75th percentile, maximize: prunes below the mirrored p25 = 2', () => {
    const pruner = new PercentilePruner(75);
    assert.equal(judge(pruner, FIVE, { [K]: 1.5 }, 'maximize'), true);
    assert.equal(judge(pruner, FIVE, { [K]: 2.5 }, 'maximize'), false);
  });

  test('NopPruner never prunes', () => {
    assert.equal(judge(new NopPruner(), FIVE, { [K]: Number.NaN }), false);
  });
});
