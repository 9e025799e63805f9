import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError } from './errors.js';
import type { LabelledDataset } from './labelled.js';
import { loadDataset } from './load.js';
import { lookupLoad, type LoadKey } from './load-cache.js';
import { listSource } from './source-listing.js';
import { resolveDataSource, type DataOptions } from './data-spec.js';
import { withTempDir } from './test-fixtures.js';
import { solidImage, solidValues, writeFolder, writeSolidFolder } from './test-images.js';

const withDir = (run: (dir: string) => Promise<void>): Promise<void> => withTempDir('kiln-load-cache-', run);

/** loadDataset, with its log lines (the cache line's milliseconds blanked: they differ by run). */
async function load(options: DataOptions): Promise<{ data: LabelledDataset; lines: string[] }> {
  const lines: string[] = [];
  const data = await loadDataset({ ...options, log: (l) => lines.push(l.replace(/from the cache in \d+ ms/, 'from the cache in N ms')) });
  return { data, lines };
}

/** Whether the next load of `data` under `key` would be a cached load (listing and stats only). */
async function wouldHit(data: string, home: string, key: LoadKey = {}): Promise<boolean> {
  const source = await resolveDataSource(data);
  assert.ok(source.kind === 'folder' || source.kind === 'manifest');
  const { hit } = await lookupLoad(join(home, 'cache', 'datasets'), await listSource(source), key);
  return hit !== null;
}

const all = (d: LabelledDataset): Float32Array[] => [d.train.images, d.validation!.images, d.test.images];
const total = (d: LabelledDataset): number => d.train.count + d.validation!.count + d.test.count;
const values = solidValues;
const UNIT = { mean: 0, std: 1 };

describe('a cached load of own data', () => {
  test('an unchanged folder is a hit: the same tensors, class names, identity and log lines as the full load that found its images in the cache', () => withDir(async (dir) => {
    const root = join(dir, 'pets');
    await writeFolder(root, { cat: 12, dog: 9 }, { width: 16, height: 12, channels: 3 });
    const home = join(dir, 'home');
    const first = await load({ data: root, home });
    assert.ok(first.lines.some((l) => l.startsWith('data: decoding 21 images')), first.lines.join('\n'));
    assert.equal(await wouldHit(root, home), true);
    const hit = await load({ data: root, home });
    // The full path again: no record, so catalog, inference and the tensor cache.
    await rm(join(home, 'cache', 'datasets', 'by-load'), { recursive: true });
    assert.equal(await wouldHit(root, home), false);
    const full = await load({ data: root, home });
    assert.deepEqual(hit.lines, full.lines);
    assert.match(hit.lines.join('\n'), /21 images of pets loaded from the cache/);
    assert.match(hit.lines.at(-1)!, /12x16 rgb \(inferred: size: median 12x16 .*; decoded images from the cache\)/);
    for (const other of [first, full]) {
      assert.deepEqual(hit.data.identity, other.data.identity);
      assert.deepEqual(hit.data.classNames, other.data.classNames);
      assert.deepEqual(hit.data.normalization, other.data.normalization);
      assert.deepEqual(all(hit.data), all(other.data));
      assert.deepEqual([hit.data.train.labels, hit.data.test.labels], [other.data.train.labels, other.data.test.labels]);
      assert.deepEqual(hit.data.sources, other.data.sources);
    }
  }));

  test('a file rewritten at the same size (new mtime) misses, and its new pixels are loaded', () => withDir(async (dir) => {
    const root = join(dir, 'set');
    await writeSolidFolder(root, { a: 3, b: 3 });
    const home = join(dir, 'home');
    const before = await load({ data: root, home, normalize: UNIT });
    const path = join(root, 'a', '0.png');
    const old = await stat(path);
    const replacement = await solidImage(200);
    assert.equal(replacement.length, old.size, 'precondition: same size');
    await writeFile(path, replacement);
    await utimes(path, old.atime, new Date(old.mtimeMs + 5000));
    assert.equal(await wouldHit(root, home), false);
    const after = await load({ data: root, home, normalize: UNIT });
    assert.deepEqual(values(before.data), [10, 20, 30, 40, 50, 60]);
    assert.deepEqual(values(after.data), [20, 30, 40, 50, 60, 200]);
    assert.notEqual(after.data.identity.digest, before.data.identity.digest);
    assert.equal(await wouldHit(root, home), true, 'the new version is recorded in turn');
  }));

  test('an added, a removed and a moved (relabelled) file each miss', () => withDir(async (dir) => {
    const root = join(dir, 'set');
    await writeSolidFolder(root, { a: 4, b: 4 });
    const home = join(dir, 'home');
    await load({ data: root, home, normalize: UNIT });

    await writeFile(join(root, 'b', '9.png'), await solidImage(250));
    assert.equal(await wouldHit(root, home), false, 'added');
    assert.equal(total((await load({ data: root, home })).data), 9);

    await rm(join(root, 'a', '0.png'));
    assert.equal(await wouldHit(root, home), false, 'removed');
    assert.equal(total((await load({ data: root, home })).data), 8);

    await rename(join(root, 'a', '1.png'), join(root, 'b', '1-moved.png'));
    assert.equal(await wouldHit(root, home), false, 'moved');
    const moved = (await load({ data: root, home })).data;
    const perClass = (d: LabelledDataset): number[] => [0, 1].map((c) => ['train', 'validation', 'test'].reduce((n, s) => n + (d.identity.counts[s as 'train']?.[c] ?? 0), 0));
    assert.deepEqual(perClass(moved), [2, 6]);
    assert.equal(await wouldHit(root, home), true);
  }));

  test('a new, empty class folder misses, and the load refuses it as before', () => withDir(async (dir) => {
    const root = join(dir, 'set');
    await writeSolidFolder(root, { a: 3, b: 3 });
    const home = join(dir, 'home');
    await load({ data: root, home });
    await writeFile(join(root, 'notes.txt'), 'a loose file');
    assert.equal(await wouldHit(root, home), false, 'a loose file changes the warnings');
    assert.match((await load({ data: root, home })).lines.join('\n'), /skipped 1 file\(s\) outside the class folders[\s\S]*notes\.txt/);
    await rm(join(root, 'notes.txt'));
    await load({ data: root, home });
    await mkdir(join(root, 'c'));
    assert.equal(await wouldHit(root, home), false);
    await assert.rejects(loadDataset({ data: root, home }), (e: unknown) => e instanceof DataError && e.code === 'KILN_ERR_DATA_EMPTY_CLASS' && e.message.includes('c: no images'));
  }));

  test('an edited manifest misses (a row relabelled); an unchanged one hits', () => withDir(async (dir) => {
    await writeSolidFolder(join(dir, 'img'), { x: 4, y: 4 });
    const manifest = join(dir, 'data.csv');
    const rows = (relabel: boolean): string => ['path,label', ...['x', 'y'].flatMap((c) => [0, 1, 2, 3].map((k) => `img/${c}/${k}.png,${c === 'x' && k === 0 && relabel ? 'y' : c}`))].join('\n');
    await writeFile(manifest, rows(false));
    const home = join(dir, 'home');
    const first = await load({ data: manifest, home });
    assert.equal(await wouldHit(manifest, home), true);
    const again = await load({ data: manifest, home });
    assert.deepEqual(again.data.identity, first.data.identity);
    assert.deepEqual(again.data.sources, { manifest, root: dir });
    await writeFile(manifest, rows(true));
    assert.equal(await wouldHit(manifest, home), false);
    const relabelled = (await load({ data: manifest, home })).data;
    assert.notEqual(relabelled.identity.digest, first.data.identity.digest);
    assert.equal(await wouldHit(manifest, home), true);
  }));

  test('another --image-size or --color has its own record; the inferred one still hits', () => withDir(async (dir) => {
    const root = join(dir, 'set');
    await writeFolder(root, { a: 5, b: 5 }, { width: 10, height: 10, channels: 3 });
    const home = join(dir, 'home');
    const inferred = await load({ data: root, home });
    assert.deepEqual([inferred.data.identity.schema.height, inferred.data.identity.schema.color], [10, 'rgb']);
    assert.equal(await wouldHit(root, home, { imageSize: [6, 6] }), false);
    assert.equal(await wouldHit(root, home, { color: 'gray' }), false);
    const small = await load({ data: root, home, imageSize: [6, 6] });
    const gray = await load({ data: root, home, color: 'gray' });
    assert.deepEqual([small.data.train.height, small.data.train.channels], [6, 3]);
    assert.deepEqual([gray.data.train.height, gray.data.train.channels], [10, 1]);
    assert.equal(await wouldHit(root, home, { imageSize: [6, 6] }), true);
    assert.equal(await wouldHit(root, home, { color: 'gray' }), true);
    assert.equal(await wouldHit(root, home), true);
    const again = await load({ data: root, home });
    assert.deepEqual(again.data.identity.schema, inferred.data.identity.schema);
    assert.equal(again.lines.at(-1)!.replace('; decoded images from the cache', ''), inferred.lines.at(-1));
  }));

  test('--skip-bad-images is part of the key: a hit replays the skipped files; without it the folder is still refused', () => withDir(async (dir) => {
    const root = join(dir, 'set');
    await writeSolidFolder(root, { a: 3, b: 3 });
    await writeFile(join(root, 'a', 'readme.txt'), 'not an image');
    await writeFile(join(root, 'b', 'cut.png'), (await solidImage(1)).subarray(0, 30));
    const home = join(dir, 'home');
    const first = await load({ data: root, home, skipBadImages: true });
    assert.equal(await wouldHit(root, home, { skipBadImages: true }), true);
    const again = await load({ data: root, home, skipBadImages: true });
    assert.equal(total(again.data), 6);
    assert.deepEqual(again.data.identity, first.data.identity);
    const text = again.lines.join('\n');
    assert.match(text, /skipped 1 file\(s\) that are not images[\s\S]*a\/readme\.txt/);
    assert.match(text, /skipped 1 image\(s\) that could not be decoded[\s\S]*b\/cut\.png/);
    assert.equal(await wouldHit(root, home), false);
    await assert.rejects(loadDataset({ data: root, home }), (e: unknown) => e instanceof DataError && e.code === 'KILN_ERR_DATA_NOT_IMAGE');
  }));

  test('options applied after decoding are not part of the key: a hit is still split by --split-seed and refused by --max-memory', () => withDir(async (dir) => {
    const root = join(dir, 'set');
    await writeSolidFolder(root, { a: 5, b: 5 });
    const home = join(dir, 'home');
    const first = await load({ data: root, home });
    assert.equal(await wouldHit(root, home), true);
    const reseeded = await load({ data: root, home, splitSeed: 7 });
    assert.notEqual(reseeded.data.identity.digest, first.data.identity.digest);
    await assert.rejects(loadDataset({ data: root, home, maxMemoryBytes: 10 * 64 * 4 - 1 }), (e: unknown) => e instanceof DataError && e.code === 'KILN_ERR_DATA_TOO_LARGE');
    assert.equal(await wouldHit(root, home), true);
  }));

  test('a damaged record or a missing tensor file is a miss, never an error', () => withDir(async (dir) => {
    const root = join(dir, 'set');
    await writeSolidFolder(root, { a: 3, b: 3 });
    const home = join(dir, 'home');
    const first = await load({ data: root, home, normalize: UNIT });
    const records = join(home, 'cache', 'datasets', 'by-load');
    const [record] = await readdir(records);
    await writeFile(join(records, record!), '{"format":1,');
    assert.equal(await wouldHit(root, home), false);
    assert.deepEqual(values((await load({ data: root, home, normalize: UNIT })).data), values(first.data));
    assert.equal(await wouldHit(root, home), true, 'rewritten');
    await rm(join(home, 'cache', 'datasets', `${(await readdir(join(home, 'cache', 'datasets'))).find((f) => f.endsWith('.bin'))}`));
    assert.equal(await wouldHit(root, home), false);
    assert.deepEqual(values((await load({ data: root, home, normalize: UNIT })).data), values(first.data));
  }));
});
