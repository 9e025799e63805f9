import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Random } from '../common/random.js';
import { batches } from './batches.js';
import type { ImageSet } from './dataset.js';

function syntheticSet(count: number): ImageSet {
  const images = new Float32Array(count * 784);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    images.fill(i, i * 784, (i + 1) * 784);
    labels[i] = i % 10;
  }
  return { images, labels, count, height: 28, width: 28, channels: 1 };
}

function ids(x: Float32Array, size: number): number[] {
  return Array.from({ length: size }, (_, k) => x[k * 784]);
}

describe('batches', () => {
  const set = syntheticSet(1003);

  test('each index exactly once per epoch, last partial batch included', () => {
    for (const shuffle of [false, true]) {
      const seen: number[] = [];
      const sizes: number[] = [];
      for (const b of batches(set, { batchSize: 100, shuffle, seed: 4 })) {
        assert.equal(b.x.length, b.size * 784);
        assert.equal(b.y.length, b.size);
        const batchIds = ids(b.x, b.size);
        batchIds.forEach((id, k) => {
          assert.equal(b.y[k], id % 10);
          assert.equal(b.x[k * 784 + 500], id);
        });
        seen.push(...batchIds);
        sizes.push(b.size);
      }
      assert.deepEqual(sizes, [...new Array(10).fill(100), 3]);
      assert.deepEqual([...seen].sort((a, b) => a - b), Array.from({ length: 1003 }, (_, i) => i));
      if (!shuffle) assert.deepEqual(seen, Array.from({ length: 1003 }, (_, i) => i));
      else assert.notDeepEqual(seen, Array.from({ length: 1003 }, (_, i) => i));
    }
  });

  test('dropLast drops the partial batch', () => {
    const sizes = [...batches(set, { batchSize: 100, shuffle: true, seed: 1, dropLast: true })].map((b) => b.size);
    assert.deepEqual(sizes, new Array(10).fill(100));
  });

  test('shuffle is deterministic from the seed; an rng gives one stream per epoch', () => {
    const order = (opts: { seed?: number; rng?: Random }) =>
      [...batches(set, { batchSize: 64, shuffle: true, fresh: true, ...opts })].flatMap((b) => ids(b.x, b.size));
    assert.deepEqual(order({ seed: 3 }), order({ seed: 3 }));
    assert.notDeepEqual(order({ seed: 3 }), order({ seed: 4 }));
    const rng = new Random(3);
    const epoch1 = order({ rng });
    const epoch2 = order({ rng });
    assert.notDeepEqual(epoch1, epoch2);
  });

  test('shuffling without a seed is refused', () => {
    assert.throws(() => [...batches(set, { batchSize: 10, shuffle: true })], /seed/);
  });

  test('default reuses one buffer; fresh allocates new arrays', () => {
    const reused = [...batches(set, { batchSize: 500, shuffle: false })];
    assert.equal(reused[0].x.buffer, reused[1].x.buffer);
    assert.equal(reused[0].x.buffer, reused[2].x.buffer); // the partial batch is a view of the same buffer
    const fresh = [...batches(set, { batchSize: 500, shuffle: false, fresh: true })];
    assert.notEqual(fresh[0].x.buffer, fresh[1].x.buffer);
    assert.deepEqual(ids(fresh[1].x, 3), [500, 501, 502]);
  });

  test('augmenting batches never touches the set', () => {
    const small = syntheticSet(50);
    const before = small.images.slice();
    let count = 0;
    for (const b of batches(small, { batchSize: 16, shuffle: true, seed: 2, augment: { rotationDegrees: 20, flipProbability: 0.5 } })) count += b.size;
    assert.equal(count, 50);
    assert.deepEqual(small.images, before);
  });

  test("augmentation takes the set's height, width and channels: an RGB batch is flipped pixel by pixel", () => {
    // Two 2x3 RGB images whose values name (image, row, column, channel).
    const values = Float32Array.from({ length: 2 * 2 * 3 * 3 }, (_, i) => i);
    const rgb: ImageSet = { images: values, labels: Uint8Array.from([0, 1]), count: 2, height: 2, width: 3, channels: 3 };
    const [batch] = [...batches(rgb, { batchSize: 2, shuffle: false, seed: 1, augment: { rotationDegrees: 0, flipProbability: 1 } })];
    const at = (k: number, r: number, c: number, ch: number): number => ((k * 2 + r) * 3 + c) * 3 + ch;
    for (let k = 0; k < 2; k++) {
      for (let r = 0; r < 2; r++) for (let c = 0; c < 3; c++) for (let ch = 0; ch < 3; ch++) assert.equal(batch!.x[at(k, r, c, ch)], values[at(k, r, 2 - c, ch)]);
    }
  });

  test('a 60,000-image epoch takes far under a second', (t) => {
    const big = syntheticSet(60000);
    for (const b of batches(big, { batchSize: 128, shuffle: true, seed: 1 })) void b; // warm-up
    const started = process.hrtime.bigint();
    let seen = 0;
    for (const b of batches(big, { batchSize: 128, shuffle: true, seed: 2 })) seen += b.size;
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    t.diagnostic(`batches: 60000 images, batch 128, shuffled: ${ms.toFixed(1)} ms per epoch`);
    assert.equal(seen, 60000);
    assert.ok(ms < 1000, `epoch took ${ms} ms`);
  });
});
