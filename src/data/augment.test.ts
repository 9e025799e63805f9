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

  describe('colour (HWC) images', () => {
    /** Channel `ch` of an HWC image, as a gray image. */
    const plane = (x: Float32Array, pixels: number, c: number, ch: number): Float32Array => Float32Array.from({ length: pixels }, (_, i) => x[i * c + ch]);

    test('a flip moves whole pixels: every channel mirrored, the channel order kept', () => {
      // 1 row, 3 pixels, RGB.
      const x = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      augmentBatch(x, 1, { rotationDegrees: 0, flipProbability: 1, height: 1, width: 3, channels: 3 }, new Random(1));
      assert.deepEqual([...x], [7, 8, 9, 4, 5, 6, 1, 2, 3]);
    });

    test('flip + rotation of a 24x40 RGB image equals the same augmentation of each channel alone', () => {
      const h = 24;
      const w = 40;
      const n = 6;
      const rgb = new Float32Array(n * h * w * 3);
      const rng = new Random(4);
      for (let i = 0; i < rgb.length; i++) rgb[i] = rng.float() * 4 - 2;
      const options = { rotationDegrees: 25, flipProbability: 0.5, height: h, width: w, fill: -1.25 };
      const augmented = rgb.slice();
      augmentBatch(augmented, n, { ...options, channels: 3 }, new Random(9));
      for (let ch = 0; ch < 3; ch++) {
        const gray = new Float32Array(n * h * w);
        for (let k = 0; k < n; k++) gray.set(plane(rgb.subarray(k * h * w * 3), h * w, 3, ch), k * h * w);
        augmentBatch(gray, n, { ...options, channels: 1 }, new Random(9)); // same seed: same flips and angles
        for (let k = 0; k < n; k++) {
          assert.deepEqual(plane(augmented.subarray(k * h * w * 3), h * w, 3, ch), gray.subarray(k * h * w, (k + 1) * h * w), `image ${k} channel ${ch}`);
        }
      }
      assert.notDeepEqual(augmented, rgb);
    });

    test("pixels rotated in take the given fill (a dataset's normalized black), in every channel", () => {
      const fill = -0.75;
      const x = new Float32Array(16 * 16 * 3).fill(3);
      const rng = new Random(12);
      let corner = 3;
      for (let attempt = 0; attempt < 10 && Math.abs(corner - 3) < 1; attempt++) {
        x.fill(3);
        augmentBatch(x, 1, { rotationDegrees: 45, flipProbability: 0, height: 16, width: 16, channels: 3, fill }, rng);
        corner = x[0];
      }
      for (let ch = 0; ch < 3; ch++) assert.ok(Math.abs(x[ch] - fill) < Math.abs(x[ch] - 3), `corner channel ${ch}: ${x[ch]} should be near the fill ${fill}`);
      assert.equal(x[0], x[1]);
      assert.equal(x[1], x[2]);
      const centre = (8 * 16 + 8) * 3;
      assert.ok(Math.abs(x[centre] - 3) < 1e-5, 'centre keeps its value');
    });
  });
});
