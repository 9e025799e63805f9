import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Random } from '../../common/random.js';
import { categoricalDistribution, contains, floatDistribution, intDistribution } from '../distributions.js';
import { makeTrial, viewOf } from '../test-fixtures.js';
import type { Distribution } from '../types.js';
import { RandomSampler, sampleUniformInternal } from './random.js';

function draws(distribution: Distribution, n = 4000, seed = 1): number[] {
  const rng = new Random(seed);
  return Array.from({ length: n }, () => sampleUniformInternal(rng, distribution));
}

describe('RandomSampler', () => {
  test('floats are uniform on [low, high]', () => {
    const values = draws(floatDistribution(-2, 6));
    assert.ok(values.every((v) => v >= -2 && v <= 6));
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    assert.ok(Math.abs(mean - 2) < 0.15, `mean ${mean}`);
  });

  test('log floats are uniform in log space', () => {
    const values = draws(floatDistribution(1e-4, 1, { log: true }));
    assert.ok(values.every((v) => v >= 1e-4 && v <= 1));
    const belowMiddle = values.filter((v) => v < 1e-2).length / values.length;
    assert.ok(Math.abs(belowMiddle - 0.5) < 0.04, `${belowMiddle} below the geometric middle`);
  });

  test('stepped floats and ints are uniform over their grid', () => {
    const stepped = floatDistribution(0, 1, { step: 0.25 });
    const f = draws(stepped);
    assert.ok(f.every((v) => contains(stepped, v)));
    assert.deepEqual([...new Set(f)].sort(), [0, 0.25, 0.5, 0.75, 1]);
    const ints = intDistribution(2, 10, { step: 4 });
    const counts = new Map<number, number>();
    for (const v of draws(ints, 3000)) counts.set(v, (counts.get(v) ?? 0) + 1);
    assert.deepEqual([...counts.keys()].sort((a, b) => a - b), [2, 6, 10]);
    for (const c of counts.values()) assert.ok(Math.abs(c - 1000) < 120, `count ${c}`);
  });

  test('log ints cover the range, favouring small values', () => {
    const dist = intDistribution(1, 100, { log: true });
    const values = draws(dist);
    assert.ok(values.every((v) => contains(dist, v)));
    assert.ok(values.includes(1) && values.includes(100));
    const small = values.filter((v) => v <= 10).length / values.length;
    assert.ok(small > 0.45 && small < 0.6, `${small} at most 10`);
  });

  test('categoricals are a uniform index', () => {
    const values = draws(categoricalDistribution(['a', 'b', 'c']), 3000);
    for (const index of [0, 1, 2]) assert.ok(Math.abs(values.filter((v) => v === index).length - 1000) < 120);
  });

  test('the same seed gives the same suggestions', () => {
    const view = viewOf([]);
    const trial = makeTrial({ number: 0 });
    const dist = floatDistribution(0, 1);
    const sequence = (sampler: RandomSampler): number[] => Array.from({ length: 20 }, () => sampler.sampleIndependent(view, trial, 'x', dist));
    const a = sequence(new RandomSampler({ seed: 9 }));
    assert.deepEqual(sequence(new RandomSampler({ seed: 9 })), a);
    assert.notDeepEqual(sequence(new RandomSampler({ seed: 10 })), a);
    const reseeded = new RandomSampler({ seed: 1 });
    reseeded.reseed(9);
    assert.deepEqual(sequence(reseeded), a);
    assert.deepEqual(new RandomSampler().inferRelativeSearchSpace(view, trial), {});
  });
});
