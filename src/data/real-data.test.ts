/**
 * Exercises the REAL Fashion-MNIST files where this machine has them (the Debian package
 * directory, or the shared data folder next to the repository). Each location is its own test,
 * skipped (not passed) when its files are absent. Verification uses the pinned sha256 values.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Random } from '../common/random.js';
import { augmentBatch } from './augment.js';
import { batches } from './batches.js';
import { FASHION_MNIST_FILES, FASHION_MNIST_SHA256 } from './checksums.js';
import { labelHistogram, loadFashionMnist, splitTrainValidation } from './dataset.js';
import { DEBIAN_DATA_DIR } from './sources.js';
import { tempDir } from './test-fixtures.js';

// dist/src/data/real-data.test.js → repository root is three levels up.
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const candidates = [
  ...new Set([DEBIAN_DATA_DIR, resolve(repoRoot, '..', 'shared', 'data', 'fashion-mnist'), resolve(process.cwd(), '..', 'shared', 'data', 'fashion-mnist')]),
];

function complete(dir: string): boolean {
  return FASHION_MNIST_FILES.every((f) => existsSync(join(dir, `${f}.gz`)) || existsSync(join(dir, f)));
}

describe('real Fashion-MNIST files', () => {
  for (const dir of candidates) {
    test(`loads and verifies ${dir}`, async (t) => {
      if (!complete(dir)) {
        t.skip(`no Fashion-MNIST files in ${dir}`);
        return;
      }
      const cache = await tempDir();
      try {
        const started = performance.now();
        const data = await loadFashionMnist({ dataDir: dir, debianDir: null, env: {}, cacheDir: cache.path, download: false });
        const loadMs = performance.now() - started;
        t.diagnostic(`load (read + gunzip + parse + sha256 + normalize) from ${dir}: ${loadMs.toFixed(0)} ms`);

        for (const file of FASHION_MNIST_FILES) {
          assert.equal(data.sha256[file], FASHION_MNIST_SHA256[file]);
          assert.ok(data.sources[file].startsWith(dir), data.sources[file]);
        }
        assert.equal(data.train.count, 60000);
        assert.equal(data.test.count, 10000);
        assert.equal(data.train.images.length, 60000 * 784);
        assert.deepEqual(labelHistogram(data.train.labels), new Array(10).fill(6000));
        assert.deepEqual(labelHistogram(data.test.labels), new Array(10).fill(1000));

        // The published mean/std are the train set's: normalized train pixels have mean ~0, std ~1.
        let sum = 0;
        let sq = 0;
        for (const v of data.train.images) {
          sum += v;
          sq += v * v;
        }
        const n = data.train.images.length;
        const mean = sum / n;
        const std = Math.sqrt(sq / n - mean * mean);
        assert.ok(Math.abs(mean) < 0.01, `normalized mean ${mean}`);
        assert.ok(Math.abs(std - 1) < 0.01, `normalized std ${std}`);

        const split = splitTrainValidation(data.train, { seed: 42 });
        assert.equal(split.train.count, 55000);
        assert.equal(split.validation.count, 5000);

        let t0 = performance.now();
        let seen = 0;
        for (const b of batches(data.train, { batchSize: 128, shuffle: true, seed: 1 })) seen += b.size;
        const batchMs = performance.now() - t0;
        assert.equal(seen, 60000);
        t.diagnostic(`batches: 60000 real images, batch 128, shuffled: ${batchMs.toFixed(1)} ms per epoch`);
        assert.ok(batchMs < 1000, `epoch took ${batchMs} ms`);

        t0 = performance.now();
        const rng = new Random(7);
        seen = 0;
        for (const b of batches(data.train, { batchSize: 128, shuffle: true, rng })) {
          augmentBatch(b.x, b.size, { rotationDegrees: 10, flipProbability: 0.5 }, rng);
          seen += b.size;
        }
        t.diagnostic(`batches + augmentation (rotation ±10°, flip 0.5): ${(performance.now() - t0).toFixed(0)} ms per 60000-image epoch`);
        assert.equal(seen, 60000);
      } finally {
        await cache.cleanup();
      }
    });
  }
});
