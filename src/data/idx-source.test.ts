import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DataError } from './errors.js';
import { encodeIdx } from './idx.js';
import { loadIdxSource } from './idx-source.js';
import { tempDir } from './test-fixtures.js';

function pair(count: number, rows: number, cols: number, classes: number, seed: number): { images: Uint8Array; labels: Uint8Array; pixels: Uint8Array; y: Uint8Array } {
  const pixels = Uint8Array.from({ length: count * rows * cols }, (_, i) => (i * 7 + seed) % 256);
  const y = Uint8Array.from({ length: count }, (_, i) => (i + seed) % classes);
  return { images: encodeIdx('images', count, pixels, rows, cols), labels: encodeIdx('labels', count, y), pixels, y };
}

describe('loadIdxSource', () => {
  test('a folder of train/t10k pairs (any size, gzipped or not) and classes.txt', async () => {
    const dir = await tempDir('kiln-idx-');
    try {
      const train = pair(12, 5, 6, 3, 0);
      const test = pair(4, 5, 6, 3, 1);
      await writeFile(join(dir.path, 'train-images-idx3-ubyte.gz'), gzipSync(train.images));
      await writeFile(join(dir.path, 'train-labels-idx1-ubyte'), train.labels);
      await writeFile(join(dir.path, 't10k-images-idx3-ubyte'), test.images);
      await writeFile(join(dir.path, 't10k-labels-idx1-ubyte.gz'), gzipSync(test.labels));
      await writeFile(join(dir.path, 'classes.txt'), 'circle\nsquare\ntriangle\n\n');
      const idx = await loadIdxSource(dir.path);
      assert.deepEqual([idx.height, idx.width], [5, 6]);
      assert.deepEqual(idx.classNames, ['circle', 'square', 'triangle']);
      assert.deepEqual(idx.splits.train.pixels, train.pixels);
      assert.deepEqual(idx.splits.train.labels, train.y);
      assert.deepEqual(idx.splits.test?.labels, test.y);
      assert.deepEqual(Object.keys(idx.sha256).sort(), ['classes.txt', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte.gz', 'train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte']);
      assert.match(idx.digest, /^[0-9a-f]{64}$/);
      assert.equal((await loadIdxSource(dir.path)).digest, idx.digest, 'same files, same digest');
      await writeFile(join(dir.path, 'classes.txt'), 'circle\nsquare\ntriangle\nhexagon\n');
      assert.notEqual((await loadIdxSource(dir.path)).digest, idx.digest, 'the class list is part of the digest');
    } finally {
      await dir.cleanup();
    }
  });

  test('an explicit pair without classes.txt names classes by label number', async () => {
    const dir = await tempDir('kiln-idx-');
    try {
      const p = pair(6, 4, 4, 2, 0);
      await writeFile(join(dir.path, 'x-images'), p.images);
      await writeFile(join(dir.path, 'x-labels'), p.labels);
      const idx = await loadIdxSource(dir.path, { images: join(dir.path, 'x-images'), labels: join(dir.path, 'x-labels') });
      assert.deepEqual(idx.classNames, ['0', '1']);
      assert.equal(idx.splits.train.count, 6);
    } finally {
      await dir.cleanup();
    }
  });

  test('labels beyond classes.txt, and a missing labels file, are refused naming the file', async () => {
    const dir = await tempDir('kiln-idx-');
    try {
      const p = pair(6, 4, 4, 3, 0);
      await writeFile(join(dir.path, 'train-images-idx3-ubyte'), p.images);
      await assert.rejects(loadIdxSource(dir.path), (e: unknown) => e instanceof DataError && e.code === 'KILN_ERR_DATA_NOT_FOUND' && e.message.includes('train-labels-idx1-ubyte'));
      await writeFile(join(dir.path, 'train-labels-idx1-ubyte'), p.labels);
      await writeFile(join(dir.path, 'classes.txt'), 'a\nb\n');
      await assert.rejects(loadIdxSource(dir.path), (e: unknown) => e instanceof DataError && e.code === 'KILN_ERR_DATA_FORMAT' && e.message.includes('classes.txt') && e.message.includes('labels go up to 2'));
    } finally {
      await dir.cleanup();
    }
  });
});
