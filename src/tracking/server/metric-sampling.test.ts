import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sampleSteps } from './metric-sampling.js';

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);
const sorted = (steps: Set<number>): number[] => [...steps].sort((a, b) => a - b);

test('steps in range that fit within max_results are all kept', () => {
  assert.deepEqual(sorted(sampleSteps(2, 5, 10, range(10))), [2, 3, 4, 5]);
});

test('more steps than max_results: evenly spaced by floor(i * count / max_results), plus the last step in range', () => {
  // 15 steps, 4 wanted: interval 3.75 → indexes 0, 3, 7, 11, then the last (index 14).
  const steps = [...range(10), 10, 12, 14, 16, 18];
  assert.deepEqual(sorted(sampleSteps(0, 18, 4, steps)), [0, 3, 7, 12, 18]);
});

test('steps that were never logged are not invented: the range bounds need not be logged steps', () => {
  assert.deepEqual(sorted(sampleSteps(1, 17, 2, [0, 4, 8, 12, 16, 20])), [4, 12, 16]);
});

test('a range starting past the middle of the history is still sampled evenly (MLflow would keep only its last step)', () => {
  // 50..99 in range, 5 wanted: interval 10 → 50, 60, 70, 80, 90, and the last, 99.
  assert.deepEqual(sorted(sampleSteps(50, 99, 5, range(100))), [50, 60, 70, 80, 90, 99]);
});

test('an empty range samples nothing', () => {
  assert.deepEqual(sorted(sampleSteps(0, 0, 5, [])), []);
  assert.deepEqual(sorted(sampleSteps(30, 40, 5, range(10))), []);
});
