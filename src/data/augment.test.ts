import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Random } from '../common/random.js';
import { augmentBatch } from './augment.js';
import { NORMALIZED_ZERO } from './normalize.js';

function seq(n: number, offset = 0): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = i + offset;
  return out;
}

describe('augmentBatch', () => {
  test('flip with probability 1 mirrors each row exactly (tiny 2x3 images)', () => {
    const x = Float32Array.from([1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60]);
    augmentBatch(x, 2, { rotationDegrees: 0, flipProbability: 1, height: 2, width: 3 }, new Random(1));
    assert.deepEqual([...x], [3, 2, 1, 6, 5, 4, 30, 20, 10, 60, 50, 40]);
  });

  test('rotation 0 and flip 0 is the identity', () => {
    const x = seq(5 * 784);
    const before = x.slice();
    augmentBatch(x, 5, { rotationDegrees: 0, flipProbability: 0 }, new Random(3));
    assert.deepEqual(x, before);
  });

  test('only the first n images are touched', () => {
    const x = seq(3 * 784);
    const before = x.slice();
    augmentBatch(x, 2, { rotationDegrees: 0, flipProbability: 1 }, new Random(3));
    assert.deepEqual(x.subarray(2 * 784), before.subarray(2 * 784));
    assert.notDeepEqual(x.subarray(0, 784), before.subarray(0, 784));
  });

  test('same seed, same result; different seed, different result', () => {
    const opts = { rotationDegrees: 15, flipProbability: 0.5 };
    const a = seq(8 * 784);
    const b = seq(8 * 784);
    const c = seq(8 * 784);
    augmentBatch(a, 8, opts, new Random(7));
    augmentBatch(b, 8, opts, new Random(7));
    augmentBatch(c, 8, opts, new Random(8));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  test('rotation fills from outside with the normalized zero and keeps a uniform background', () => {
    // A background-only image stays background under any rotation.
    const bg = new Float32Array(784).fill(NORMALIZED_ZERO);
    augmentBatch(bg, 1, { rotationDegrees: 30, flipProbability: 0 }, new Random(5));
    for (const v of bg) assert.ok(Math.abs(v - NORMALIZED_ZERO) < 1e-6);
    // A uniform bright image gets background in the corners and keeps its centre.
    const x = new Float32Array(784).fill(2);
    let rotated = false;
    const rng = new Random(11);
    for (let attempt = 0; attempt < 5 && !rotated; attempt++) {
      x.fill(2);
      augmentBatch(x, 1, { rotationDegrees: 45, flipProbability: 0 }, rng);
      rotated = Math.abs(x[0] - 2) > 1e-3;
    }
    assert.ok(rotated, 'corner should change under a rotation');
    assert.ok(Math.abs(x[0] - NORMALIZED_ZERO) < Math.abs(x[0] - 2), `corner ${x[0]} should be near the fill`);
    assert.ok(Math.abs(x[14 * 28 + 14] - 2) < 1e-5, 'centre keeps its value');
  });

  test('a small rotation moves a bright pixel near its rotated position', () => {
    // Pixel at (row 4, col 14) i.e. 9.5 above the centre (13.5, 13.5); rotate a few degrees.
    const x = new Float32Array(784).fill(0);
    x[4 * 28 + 14] = 1;
    augmentBatch(x, 1, { rotationDegrees: 10, flipProbability: 0 }, new Random(2));
    let sum = 0;
    let mx = 0;
    let my = 0;
    for (let r = 0; r < 28; r++) {
      for (let c = 0; c < 28; c++) {
        const v = x[r * 28 + c] - 0; // fill is NORMALIZED_ZERO but source is 0 inside; check mass
        if (v > 0) {
          sum += v;
          mx += v * c;
          my += v * r;
        }
      }
    }
    assert.ok(sum > 0.5 && sum < 1.5, `mass roughly preserved (${sum})`);
    const dist = Math.hypot(mx / sum - 13.5, my / sum - 13.5);
    assert.ok(Math.abs(dist - Math.hypot(0.5, 9.5)) < 1, `distance from centre preserved (${dist})`);
  });

  test('a 90° rotation (and flip + 90°) permutes pixels as expected', () => {
    // A stub generator: first draw decides the flip, second gives angle = (2u - 1) * max = +90°.
    const stub = (flipDraw: number) => {
      const draws = [flipDraw, 1];
      return { float: () => draws.shift() ?? 0 } as unknown as Random;
    };
    const src = seq(784);
    for (const flip of [false, true]) {
      const x = src.slice();
      augmentBatch(x, 1, { rotationDegrees: 90, flipProbability: 0.5 }, stub(flip ? 0 : 0.9));
      for (let dy = 0; dy < 28; dy++) {
        for (let dx = 0; dx < 28; dx++) {
          // Inverse map of +90°: destination (dx, dy) reads source column dy, row 27 - dx; a flip mirrors the column.
          const col = flip ? 27 - dy : dy;
          const want = src[(27 - dx) * 28 + col];
          assert.ok(Math.abs(x[dy * 28 + dx] - want) < 1e-3, `(${dx},${dy}) flip=${flip}: ${x[dy * 28 + dx]} vs ${want}`);
        }
      }
    }
  });
});
