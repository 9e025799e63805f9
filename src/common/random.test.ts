import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Random } from './random.js';

describe('Random', () => {
  test('the same seed gives the same stream; nearby seeds give different streams', () => {
    const a = new Random(1);
    const b = new Random(1);
    const c = new Random(2);
    const sa = Array.from({ length: 8 }, () => a.uint32());
    assert.deepEqual(sa, Array.from({ length: 8 }, () => b.uint32()));
    assert.notDeepEqual(sa, Array.from({ length: 8 }, () => c.uint32()));
  });

  test('float is in [0, 1) and int(n) in [0, n)', () => {
    const rng = new Random(7);
    for (let i = 0; i < 10000; i++) {
      const f = rng.float();
      assert.ok(f >= 0 && f < 1);
      const k = rng.int(10);
      assert.ok(Number.isInteger(k) && k >= 0 && k < 10);
    }
  });

  test('shuffle is a seeded permutation', () => {
    const values = Uint32Array.from({ length: 100 }, (_, i) => i);
    const shuffled = new Random(5).shuffle(values.slice());
    assert.deepEqual([...shuffled].sort((x, y) => x - y), [...values]);
    assert.notDeepEqual([...shuffled], [...values]);
    assert.deepEqual([...new Random(5).shuffle(values.slice())], [...shuffled]);
  });

  test('fillBernoulli keeps each entry with probability keep, scaled, and is seeded', () => {
    const out = new Float32Array(200001);
    new Random(9).fillBernoulli(out, 0.8, 1.25);
    let kept = 0;
    for (const value of out) {
      assert.ok(value === 0 || value === 1.25);
      if (value !== 0) kept += 1;
    }
    // Binomial(200001, 0.8): standard deviation ~179, so ±1000 is more than 5 sigma.
    assert.ok(Math.abs(kept - 0.8 * out.length) < 1000, `kept ${kept}`);
    assert.deepEqual(new Random(9).fillBernoulli(new Float32Array(33), 0.5, 2), new Random(9).fillBernoulli(new Float32Array(33), 0.5, 2));
    assert.notDeepEqual(new Random(9).fillBernoulli(new Float32Array(33), 0.5, 2), new Random(10).fillBernoulli(new Float32Array(33), 0.5, 2));
  });

  test('fillBernoulli with keep 1 keeps everything and with keep 0 drops everything', () => {
    assert.ok(new Random(1).fillBernoulli(new Float32Array(100), 1, 1).every((v) => v === 1));
    assert.ok(new Random(1).fillBernoulli(new Float32Array(100), 0, 1).every((v) => v === 0));
  });
});
