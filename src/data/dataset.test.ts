import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FASHION_MNIST_FILES } from './checksums.js';
import { DataError } from './errors.js';
import { encodeIdx } from './idx.js';
import { labelHistogram, loadFashionMnist, splitTrainValidation, type ImageSet } from './dataset.js';
import {
  CLASS_NAMES,
  FASHION_MNIST_MEAN,
  FASHION_MNIST_NORMALIZATION,
  FASHION_MNIST_STD,
  NORMALIZED_ZERO,
  denormalizePixels,
  normalizePixels,
} from './normalize.js';
import { makeFixture, tempDir, writeFixture } from './test-fixtures.js';
import { writeFile } from 'node:fs/promises';
import { sha256Hex } from './checksums.js';

function syntheticSet(count: number): ImageSet {
  const images = new Float32Array(count * 784);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    images.fill(i, i * 784, (i + 1) * 784); // every pixel of image i holds i: identifies it
    labels[i] = i % 10;
  }
  return { images, labels, count, height: 28, width: 28, channels: 1 };
}

describe('normalization and constants', () => {
  test('constants', () => {
    assert.equal(FASHION_MNIST_MEAN, 0.286);
    assert.equal(FASHION_MNIST_STD, 0.353);
    assert.deepEqual(FASHION_MNIST_NORMALIZATION, { formula: '(x/255 - mean)/std', scale: 255, mean: 0.286, std: 0.353 });
    assert.deepEqual(CLASS_NAMES, ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
  });

  test('normalizePixels is (x/255 - mean)/std as float32, and round-trips', () => {
    const bytes = Uint8Array.from([0, 1, 128, 255]);
    const out = normalizePixels(bytes);
    for (let i = 0; i < bytes.length; i++) assert.equal(out[i], Math.fround((bytes[i] / 255 - 0.286) / 0.353));
    assert.equal(out[0], NORMALIZED_ZERO);
    assert.deepEqual(denormalizePixels(out), bytes);
  });
});

describe('loadFashionMnist (fixtures)', () => {
  test('images normalized, labels copied, counts and sources reported', async () => {
    const fixture = makeFixture(3, 12, 5);
    const dir = await tempDir();
    try {
      await writeFixture(dir.path, fixture, true);
      const data = await loadFashionMnist({ dataDir: dir.path, debianDir: null, env: {}, download: false, cacheDir: join(dir.path, 'c'), expectedSha256: fixture.sha256 });
      assert.equal(data.train.count, 12);
      assert.equal(data.test.count, 5);
      assert.equal(data.train.height, 28);
      assert.equal(data.train.width, 28);
      assert.deepEqual(data.train.images, normalizePixels(fixture.trainPixels));
      assert.deepEqual(data.test.images, normalizePixels(fixture.testPixels));
      assert.deepEqual(data.train.labels, fixture.trainLabels);
      assert.deepEqual(data.test.labels, fixture.testLabels);
      assert.deepEqual(Object.keys(data.sources).sort(), [...FASHION_MNIST_FILES].sort());
      assert.deepEqual(data.normalization, FASHION_MNIST_NORMALIZATION);
    } finally {
      await dir.cleanup();
    }
  });

  test('image/label count disagreement is KILN_ERR_DATA_FORMAT', async () => {
    const fixture = makeFixture(4, 10, 5);
    const dir = await tempDir();
    try {
      await writeFixture(dir.path, fixture, false);
      const labels = encodeIdx('labels', 9, new Uint8Array(9));
      await writeFile(join(dir.path, 'train-labels-idx1-ubyte'), labels);
      const expectedSha256 = { ...fixture.sha256, 'train-labels-idx1-ubyte': sha256Hex(labels) };
      await assert.rejects(
        loadFashionMnist({ dataDir: dir.path, debianDir: null, env: {}, download: false, cacheDir: dir.path, expectedSha256 }),
        (err: unknown) => err instanceof DataError && err.code === 'KILN_ERR_DATA_FORMAT' && /10.*9 labels/.test(err.message),
      );
    } finally {
      await dir.cleanup();
    }
  });
});

describe('splitTrainValidation', () => {
  const set = syntheticSet(1000);

  test('sizes (default 5000 of 60000 → 55000/5000 shape; configurable)', () => {
    const s = splitTrainValidation(set, { seed: 1, validationSize: 100 });
    assert.equal(s.train.count, 900);
    assert.equal(s.validation.count, 100);
    assert.equal(s.train.images.length, 900 * 784);
    assert.equal(s.validation.labels.length, 100);
    const big = splitTrainValidation(syntheticSet(60000), { seed: 1 });
    assert.equal(big.train.count, 55000);
    assert.equal(big.validation.count, 5000);
  });

  test('disjoint, covering, and contents follow the indices', () => {
    const s = splitTrainValidation(set, { seed: 9, validationSize: 250 });
    const all = [...s.trainIndices, ...s.validationIndices].sort((a, b) => a - b);
    assert.deepEqual(all, Array.from({ length: 1000 }, (_, i) => i));
    const seen = new Set<number>();
    for (const part of [s.train, s.validation]) {
      for (let k = 0; k < part.count; k++) {
        const id = part.images[k * 784];
        assert.equal(part.images[k * 784 + 783], id);
        assert.equal(part.labels[k], id % 10);
        assert.ok(!seen.has(id));
        seen.add(id);
      }
    }
    assert.equal(seen.size, 1000);
  });

  test('deterministic from the seed; different seeds differ', () => {
    const a = splitTrainValidation(set, { seed: 5, validationSize: 100 });
    const b = splitTrainValidation(set, { seed: 5, validationSize: 100 });
    const c = splitTrainValidation(set, { seed: 6, validationSize: 100 });
    assert.deepEqual(a.validationIndices, b.validationIndices);
    assert.deepEqual(a.validation.images, b.validation.images);
    assert.notDeepEqual(a.validationIndices, c.validationIndices);
  });

  test('rejects bad sizes', () => {
    assert.throws(() => splitTrainValidation(set, { seed: 1, validationSize: 1001 }), RangeError);
    assert.throws(() => splitTrainValidation(set, { seed: 1, validationSize: -1 }), RangeError);
  });

  test('labelHistogram', () => {
    assert.deepEqual(labelHistogram(set.labels), new Array(10).fill(100));
  });
});
