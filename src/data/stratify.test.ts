import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { classQuotas, sizeToCount, stratifiedSplit } from './stratify.js';

/** `counts[c]` items of class c, interleaved. */
function labelsOf(counts: number[]): number[] {
  const labels: number[] = [];
  for (let k = 0; labels.length < counts.reduce((a, b) => a + b, 0); k++) counts.forEach((n, c) => k < n && labels.push(c));
  return labels;
}

const perClass = (labels: number[], indices: number[], classes: number): number[] => {
  const out = new Array<number>(classes).fill(0);
  for (const i of indices) out[labels[i]]++;
  return out;
};

describe('stratifiedSplit', () => {
  test('sizes are counts or fractions of the pool', () => {
    assert.equal(sizeToCount(0.2, 1000), 200);
    assert.equal(sizeToCount(150, 1000), 150);
    assert.equal(sizeToCount(5000, 1000), 1000);
    assert.equal(sizeToCount(0, 1000), 0);
  });

  test('test then validation keep each class its share (0.2 of all, then 0.1 of the rest)', () => {
    const counts = [500, 300, 200];
    const labels = labelsOf(counts);
    const split = stratifiedSplit(labels, 3, { test: 0.2, validation: 0.1 }, 42);
    assert.deepEqual(perClass(labels, split.test, 3), [100, 60, 40]);
    assert.deepEqual(perClass(labels, split.validation, 3), [40, 24, 16]);
    assert.deepEqual(perClass(labels, split.train, 3), [360, 216, 144]);
    const all = [...split.train, ...split.validation, ...split.test].sort((a, b) => a - b);
    assert.deepEqual(all, labels.map((_, i) => i), 'every item in exactly one split');
    for (const part of [split.train, split.validation, split.test]) assert.deepEqual(part, [...part].sort((a, b) => a - b), 'ascending');
  });

  test('the same seed gives the same split; another seed another', () => {
    const labels = labelsOf([50, 50, 50]);
    const a = stratifiedSplit(labels, 3, { test: 0.2, validation: 0.1 }, 42);
    const b = stratifiedSplit(labels, 3, { test: 0.2, validation: 0.1 }, 42);
    const c = stratifiedSplit(labels, 3, { test: 0.2, validation: 0.1 }, 43);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.test, c.test);
  });

  test('every class of at least 3 items keeps one item in each split, however small the fractions', () => {
    const counts = [3, 4, 200, 1, 2];
    const labels = labelsOf(counts);
    const split = stratifiedSplit(labels, 5, { test: 0.01, validation: 0.01 }, 7);
    const test = perClass(labels, split.test, 5);
    const val = perClass(labels, split.validation, 5);
    const train = perClass(labels, split.train, 5);
    for (const c of [0, 1, 2]) {
      assert.ok(test[c] >= 1 && val[c] >= 1 && train[c] >= 1, `class ${c}: ${train[c]}/${val[c]}/${test[c]}`);
    }
    assert.equal(train[3], 1, 'a lone item stays in train');
    assert.ok(train[4] >= 1, 'a class of 2 keeps one in train');
  });

  test('a split the source already gives (undefined) takes nothing', () => {
    const labels = labelsOf([10, 10]);
    const split = stratifiedSplit(labels, 2, { validation: 0.2 }, 1);
    assert.equal(split.test.length, 0);
    assert.deepEqual(perClass(labels, split.validation, 2), [2, 2]);
  });

  test('classQuotas distributes the remainder by largest fraction', () => {
    assert.deepEqual(classQuotas([5, 3, 2], 5, () => [0, 10]), [3, 1, 1]);
  });
});
