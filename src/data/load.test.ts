import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeFixed } from '../imaging/decode.js';
import { PNG_SIGNATURE } from '../imaging/png.js';
import { DataError, type DataErrorCode } from './errors.js';
import { encodeIdx } from './idx.js';
import { loadFashionMnist } from './dataset.js';
import { loadDataset } from './load.js';
import { normalizePixel } from './normalize.js';
import { tempDir } from './test-fixtures.js';
import { writeFolder } from './test-images.js';

const refused = (code: DataErrorCode, ...names: string[]) => (error: unknown): boolean => {
  assert.ok(error instanceof DataError, String(error));
  assert.equal(error.code, code, error.message);
  for (const name of names) assert.ok(error.message.includes(name), `message names ${name}:\n${error.message}`);
  return true;
};

async function withDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir('kiln-load-');
  try {
    await run(dir.path);
  } finally {
    await dir.cleanup();
  }
}

const sum = (xs: readonly number[] | undefined): number => (xs ?? []).reduce((a, b) => a + b, 0);

describe('loadDataset: own data', () => {
  test('a class folder becomes train/validation/test (stratified, 0.2 then 0.1), inferred 12x16 rgb, normalized with train statistics', () => withDir(async (dir) => {
    const root = join(dir, 'pets');
    await writeFolder(root, { cat: 30, dog: 20, owl: 10 }, { width: 16, height: 12, channels: 3 });
    const lines: string[] = [];
    const data = await loadDataset({ data: root, home: join(dir, 'home'), log: (l) => lines.push(l) });
    const id = data.identity;
    assert.equal(id.name, 'pets');
    assert.equal(id.source, root);
    assert.equal(id.sourceType, 'folder');
    assert.deepEqual(id.schema, { height: 12, width: 16, channels: 3, color: 'rgb', classNames: ['cat', 'dog', 'owl'] });
    assert.deepEqual(id.counts, { train: [22, 14, 7], validation: [2, 2, 1], test: [6, 4, 2] });
    assert.match(id.digest, /^[0-9a-f]{64}$/);
    assert.ok(data.validation);
    assert.equal(data.train.count + data.validation.count + data.test.count, 60);
    assert.deepEqual([data.train.height, data.train.width, data.train.channels], [12, 16, 3]);
    assert.deepEqual(data.sources, { root });
    assert.match(lines.at(-1) ?? '', /^data: .*pets \(folder, 3 classes, 60 images: train 43 \/ val 5 \/ test 12\), 12x16 rgb \(inferred: size: median 12x16/);

    // The train images are exactly the decoded files, normalized with the train set's own mean/std.
    const trainFiles = await Promise.all(['cat', 'dog', 'owl'].flatMap((c, label) => Array.from({ length: [30, 20, 10][label] }, (_, k) => ({ path: join(root, c, `${String(k).padStart(3, '0')}.png`), label }))).map(async (f) => ({ ...f, pixels: await decodeFixed(await readFile(f.path), { height: 12, width: 16, channels: 3 }) })));
    let n = 0;
    let s = 0;
    let s2 = 0;
    const seen = new Set<string>();
    const size = 12 * 16 * 3;
    for (let k = 0; k < data.train.count; k++) {
      const floats = data.train.images.subarray(k * size, (k + 1) * size);
      const match = trainFiles.find((f) => !seen.has(f.path) && f.label === data.train.labels[k] && f.pixels.every((v, p) => Math.fround(normalizePixel(v, data.normalization.mean, data.normalization.std)) === floats[p]));
      assert.ok(match, `train image ${k} is one of the files, normalized`);
      seen.add(match.path);
      for (const v of match.pixels) {
        n++;
        s += v / 255;
        s2 += (v / 255) ** 2;
      }
    }
    const mean = s / n;
    assert.equal(data.normalization.mean, Math.round(mean * 1e4) / 1e4);
    assert.equal(data.normalization.std, Math.round(Math.sqrt(s2 / n - mean * mean) * 1e4) / 1e4);
  }));

  test('the same folder and split seed give the same split and digest; another split seed another split and another digest', () => withDir(async (dir) => {
    const root = join(dir, 'pets');
    await writeFolder(root, { a: 20, b: 20 }, { width: 8, height: 8, channels: 1 });
    const home = join(dir, 'home');
    const first = await loadDataset({ data: root, home });
    const again = await loadDataset({ data: root, home });
    const other = await loadDataset({ data: root, home, splitSeed: 7 });
    assert.equal(first.identity.digest, again.identity.digest);
    assert.deepEqual(first.test.images, again.test.images);
    assert.notDeepEqual(first.test.images, other.test.images);
    assert.notEqual(first.identity.digest, other.identity.digest, 'another test set is another dataset identity');
    assert.equal(first.identity.schema.color, 'gray');
  }));

  test('given train/val/test folders are used as they are; flags set size, colour and normalization', () => withDir(async (dir) => {
    const root = join(dir, 'shapes');
    await writeFolder(root, { 'train/a': 5, 'train/b': 4, 'val/a': 1, 'val/b': 2, 'test/a': 3 }, { width: 10, height: 10, channels: 3 });
    const data = await loadDataset({ data: root, home: join(dir, 'home'), imageSize: [6, 8], color: 'gray', normalize: { mean: 0.5, std: 0.25 } });
    assert.deepEqual(data.identity.counts, { train: [5, 4], validation: [1, 2], test: [3, 0] });
    assert.deepEqual(data.identity.schema, { height: 6, width: 8, channels: 1, color: 'gray', classNames: ['a', 'b'] });
    assert.deepEqual(data.normalization, { mean: 0.5, std: 0.25 });
    const pixels = await decodeFixed(await readFile(join(root, 'test/a/000.png')), { height: 6, width: 8, channels: 1 });
    assert.deepEqual(data.test.images.subarray(0, 48), Float32Array.from(pixels, (v) => normalizePixel(v, 0.5, 0.25)));
  }));

  test('a CSV manifest with a split column; a validation split is cut from the rest', () => withDir(async (dir) => {
    await writeFolder(join(dir, 'img'), { x: 10, y: 10 }, { width: 8, height: 8, channels: 1 });
    const rows = ['path,label,split'];
    for (const c of ['x', 'y']) for (let k = 0; k < 10; k++) rows.push(`img/${c}/${String(k).padStart(3, '0')}.png,${c === 'x' ? 'left' : 'right'},${k < 2 ? 'test' : ''}`);
    await writeFile(join(dir, 'data.csv'), rows.join('\n'));
    const data = await loadDataset({ data: join(dir, 'data.csv'), home: join(dir, 'home'), valSize: 2 });
    assert.equal(data.identity.name, 'data');
    assert.equal(data.identity.sourceType, 'manifest');
    assert.deepEqual(data.identity.counts, { train: [7, 7], validation: [1, 1], test: [2, 2] });
    assert.deepEqual(data.classNames, ['left', 'right']);
  }));

  test('an IDX folder with classes.txt loads at its own size, test given, validation split off train', () => withDir(async (dir) => {
    const pixels = Uint8Array.from({ length: 30 * 25 }, (_, i) => (i * 13) % 256);
    const labels = Uint8Array.from({ length: 30 }, (_, i) => i % 3);
    await writeFile(join(dir, 'train-images-idx3-ubyte'), encodeIdx('images', 30, pixels, 5, 5));
    await writeFile(join(dir, 'train-labels-idx1-ubyte'), encodeIdx('labels', 30, labels));
    await writeFile(join(dir, 't10k-images-idx3-ubyte'), encodeIdx('images', 6, pixels.subarray(0, 150), 5, 5));
    await writeFile(join(dir, 't10k-labels-idx1-ubyte'), encodeIdx('labels', 6, labels.subarray(0, 6)));
    await writeFile(join(dir, 'classes.txt'), 'r\ng\nb\n');
    const data = await loadDataset({ data: dir, home: join(dir, 'home') });
    assert.equal(data.identity.sourceType, 'idx');
    assert.deepEqual(data.identity.schema, { height: 5, width: 5, channels: 1, color: 'gray', classNames: ['r', 'g', 'b'] });
    assert.deepEqual(data.identity.counts, { train: [9, 9, 9], validation: [1, 1, 1], test: [2, 2, 2] });
    assert.equal(Object.keys(data.sha256).length, 5);
    const rgb = await loadDataset({ data: dir, home: join(dir, 'home'), color: 'rgb' });
    assert.equal(rgb.test.channels, 3);
    assert.deepEqual(Array.from(rgb.test.images.subarray(0, 6)), [0, 0, 0, 1, 1, 1].map((k) => data.test.images[k]));
    assert.notEqual(rgb.identity.digest, data.identity.digest);
  }));
});

describe('loadDataset: refusals before any training', () => {
  test('too large for the memory budget: refused before decoding, with the size in MiB and what to change', () => withDir(async (dir) => {
    const root = join(dir, 'big');
    await writeFolder(root, { a: 4, b: 4 }, { width: 64, height: 64, channels: 3 });
    // A corrupt image that decoding would report: the memory check must come first.
    await writeFile(join(root, 'a', 'zz-corrupt.png'), Uint8Array.from([...PNG_SIGNATURE, 1, 2, 3]));
    const need = 9 * 64 * 64 * 3 * 4; // 442,368 bytes
    await assert.rejects(loadDataset({ data: root, home: join(dir, 'home'), maxMemoryBytes: need - 1 }),
      refused('KILN_ERR_DATA_TOO_LARGE', '9 images at 64x64x3 take 0.42 MiB as float32, more than the 0.42 MiB budget', '--image-size 32x32', '--color gray', '--max-memory'));
  }));

  test('undecodable images are all named (KILN_ERR_DATA_BAD_IMAGES), or skipped and listed with skipBadImages', () => withDir(async (dir) => {
    const root = join(dir, 'pets');
    await writeFolder(root, { a: 4, b: 4 });
    await writeFile(join(root, 'a', 'broken.png'), Uint8Array.from([...PNG_SIGNATURE, 0, 0, 0]));
    await writeFile(join(root, 'b', 'cut.png'), (await readFile(join(root, 'b', '000.png'))).subarray(0, 40));
    await assert.rejects(loadDataset({ data: root, home: join(dir, 'home'), imageSize: [8, 8], color: 'gray' }), refused('KILN_ERR_DATA_BAD_IMAGES', 'a/broken.png', 'b/cut.png'));
    const lines: string[] = [];
    const data = await loadDataset({ data: root, home: join(dir, 'home'), imageSize: [8, 8], color: 'gray', skipBadImages: true, log: (l) => lines.push(l) });
    assert.equal(sum(data.identity.counts.train) + sum(data.identity.counts.validation) + sum(data.identity.counts.test), 8);
    assert.match(lines.join('\n'), /skipped 2 image\(s\)[\s\S]*a\/broken\.png[\s\S]*b\/cut\.png/);
  }));

  test('a class left with no images once bad images are skipped is refused, naming it', () => withDir(async (dir) => {
    const root = join(dir, 'pets');
    await writeFolder(root, { a: 3, b: 3 });
    await mkdir(join(root, 'c'));
    await writeFile(join(root, 'c', 'only.png'), Uint8Array.from([...PNG_SIGNATURE, 9, 9, 9]));
    await assert.rejects(loadDataset({ data: root, home: join(dir, 'home'), imageSize: [8, 8], color: 'gray', skipBadImages: true }), refused('KILN_ERR_DATA_EMPTY_CLASS', 'c: no images'));
  }));

  test('an IDX class list naming a class no label uses is refused as an empty class', () => withDir(async (dir) => {
    const labels = Uint8Array.from({ length: 8 }, (_, i) => i % 2);
    await writeFile(join(dir, 'train-images-idx3-ubyte'), encodeIdx('images', 8, new Uint8Array(8 * 4), 2, 2));
    await writeFile(join(dir, 'train-labels-idx1-ubyte'), encodeIdx('labels', 8, labels));
    await writeFile(join(dir, 'classes.txt'), 'yes\nno\nmaybe\n');
    await assert.rejects(loadDataset({ data: dir, home: join(dir, 'home') }), refused('KILN_ERR_DATA_EMPTY_CLASS', 'maybe: no images'));
  }));

  test('images duplicated across train and test are reported as a warning with counts', () => withDir(async (dir) => {
    const root = join(dir, 'pets');
    await writeFolder(root, { 'train/a': 3, 'train/b': 3, 'test/a': 2, 'test/b': 2 });
    await copyFile(join(root, 'train/a/000.png'), join(root, 'test/a/000.png'));
    await copyFile(join(root, 'train/b/002.png'), join(root, 'test/b/001.png'));
    // The first load, then cached loads (names and duplicate groups come from the cache record).
    for (const cache of ['files', 'files', 'folders'] as const) {
      const lines: string[] = [];
      await loadDataset({ data: root, home: join(dir, 'home'), cache, log: (l) => lines.push(l) });
      const warning = lines.find((l) => l.includes('identical to training images'));
      assert.ok(warning, lines.join('\n'));
      assert.match(warning, /2 of 4 test images/);
      assert.match(warning, /test\/a\/000\.png = train\/a\/000\.png/);
    }
  }));
});

describe('loadDataset: Fashion-MNIST stays the default', () => {
  test('loadDataset({home}) gives the same train/test pixels, labels and constants as loadFashionMnist', async () => {
    const dir = await tempDir('kiln-load-');
    try {
      const [wrapped, direct] = await Promise.all([loadDataset({ home: dir.path }), loadFashionMnist({})]);
      assert.equal(wrapped.identity.sourceType, 'builtin');
      assert.equal(wrapped.validation, undefined);
      assert.deepEqual(wrapped.normalization, { mean: 0.286, std: 0.353 });
      assert.equal(wrapped.train.count, 60000);
      assert.ok(Buffer.from(wrapped.train.images.buffer).equals(Buffer.from(direct.train.images.buffer)));
      assert.ok(Buffer.from(wrapped.test.images.buffer).equals(Buffer.from(direct.test.images.buffer)));
      assert.deepEqual(wrapped.train.labels, direct.train.labels);
      assert.deepEqual(wrapped.sha256, direct.sha256);
      assert.equal((await loadDataset({ home: dir.path, data: 'fashion-mnist' })).identity.digest, wrapped.identity.digest);
    } finally {
      await dir.cleanup();
    }
  });
});
