import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { categoricalDistribution, floatDistribution, intDistribution } from '../distributions.js';
import { makeTrial } from '../test-fixtures.js';
import { intersectionSearchSpace } from './search-space.js';

describe('intersectionSearchSpace', () => {
  const x = floatDistribution(0, 1);
  const n = intDistribution(1, 5);
  const c = categoricalDistribution(['a', 'b']);

  test('keeps the params every COMPLETE trial has with identical distributions, in name order', () => {
    const trials = [
      makeTrial({ number: 0, state: 'COMPLETE', distributions: { x, n, c } }),
      makeTrial({ number: 1, state: 'COMPLETE', distributions: { c, x, n: intDistribution(1, 6) } }),
      makeTrial({ number: 2, state: 'RUNNING', distributions: {} }),
      makeTrial({ number: 3, state: 'FAIL', distributions: { n } }),
    ];
    const space = intersectionSearchSpace(trials);
    assert.deepEqual(Object.keys(space), ['c', 'x']);
    assert.deepEqual(space.x, x);
  });

  test('no COMPLETE trial: empty; PRUNED ones count with includePruned', () => {
    const trials = [makeTrial({ number: 0, state: 'PRUNED', distributions: { x } }), makeTrial({ number: 1, state: 'COMPLETE', distributions: { x, n } })];
    assert.deepEqual(intersectionSearchSpace([]), {});
    assert.deepEqual(Object.keys(intersectionSearchSpace(trials)), ['n', 'x']);
    assert.deepEqual(Object.keys(intersectionSearchSpace(trials, { includePruned: true })), ['x']);
  });
});
