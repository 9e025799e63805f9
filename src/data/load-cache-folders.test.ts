import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LabelledDataset } from './labelled.js';
import { loadDataset } from './load.js';
import { lookupByStamps } from './load-cache.js';
import { listSource, STAMP_SETTLE_MS, stampsHold, takeStamps } from './source-listing.js';
import { parseDataCache, type DataOptions } from './data-spec.js';
import { DataError } from './errors.js';
import { withTempDir } from './test-fixtures.js';
import { solidImage, solidValues, writeSolidFolder } from './test-images.js';

const withDir = (run: (dir: string) => Promise<void>): Promise<void> => withTempDir('kiln-load-cache-folders-', run);

const UNIT = { mean: 0, std: 1 };
const values = solidValues;

/** loadDataset with its log lines joined. */
async function load(options: DataOptions): Promise<{ data: LabelledDataset; log: string }> {
  const lines: string[] = [];
  const data = await loadDataset({ normalize: UNIT, ...options, log: (l) => lines.push(l) });
  return { data, log: lines.join('\n') };
}

/** Folders must be left alone for STAMP_SETTLE_MS before a listing for their stamps to count. */
const settle = (): Promise<void> => sleep(STAMP_SETTLE_MS + 200);
const byStamps = async (root: string, home: string): Promise<boolean> => (await lookupByStamps(join(home, 'cache', 'datasets'), root, {})) !== null;

/** <dir>/set (classes a and b, 3 solid images each), settled and loaded once, so that its folders are stamped. */
async function stampedFolder(dir: string): Promise<{ root: string; home: string; first: { data: LabelledDataset; log: string } }> {
  const root = join(dir, 'set');
  await writeSolidFolder(root, { a: 3, b: 3 });
  const home = join(dir, 'home');
  await settle();
  const first = await load({ data: root, home, cache: 'folders' });
  assert.equal(await byStamps(root, home), true);
  return { root, home, first };
}

describe('folder stamps (data/source-listing)', () => {
  test('a folder changed shortly before the listing gets no stamps; a settled one does, and they hold until an entry is added, removed or renamed', () => withDir(async (dir) => {
    const root = join(dir, 'set');
    await writeSolidFolder(root, { a: 2, b: 2 });
    const listing = await listSource({ kind: 'folder', path: root });
    assert.deepEqual(listing.stampPaths, [root, join(root, 'a'), join(root, 'b')]);
    assert.equal(takeStamps(listing.stampPaths, listing.listedAt), null, 'just written: not settled');
    // As if the listing had begun well after the last change.
    const stamps = takeStamps(listing.stampPaths, Date.now() + STAMP_SETTLE_MS + 1000);
    assert.ok(stamps);
    assert.equal(stampsHold(stamps), true);
    await writeFile(join(root, 'a', 'new.png'), await solidImage(1));
    assert.equal(stampsHold(stamps), false, 'added');
    const again = takeStamps(listing.stampPaths, Date.now() + STAMP_SETTLE_MS + 1000)!;
    await rename(join(root, 'b', '0.png'), join(root, 'b', 'renamed.png'));
    assert.equal(stampsHold(again), false, 'renamed');
  }));

  test('a manifest is stamped by itself and the folders of its files; an image rewritten in place changes no stamp', () => withDir(async (dir) => {
    await writeSolidFolder(join(dir, 'img'), { x: 2, y: 2 });
    const manifest = join(dir, 'data.csv');
    await writeFile(manifest, ['path,label', 'img/x/0.png,x', 'img/x/1.png,x', 'img/y/0.png,y', 'img/y/1.png,y'].join('\n'));
    const listing = await listSource({ kind: 'manifest', path: manifest, format: 'csv' });
    assert.deepEqual(listing.stampPaths, [manifest, join(dir, 'img', 'x'), join(dir, 'img', 'y')]);
    const stamps = takeStamps(listing.stampPaths, Date.now() + STAMP_SETTLE_MS + 1000)!;
    await writeFile(join(dir, 'img', 'x', '0.png'), await solidImage(250));
    assert.equal(stampsHold(stamps), true, 'what --data-cache folders cannot see');
    await writeFile(manifest, ['path,label', 'img/x/0.png,y', 'img/x/1.png,x', 'img/y/0.png,y', 'img/y/1.png,y'].join('\n'));
    assert.equal(stampsHold(stamps), false, 'the manifest edited');
  }));
});

describe('--data-cache', () => {
  test('parses files, folders and rebuild, and names them when refusing anything else', () => {
    assert.deepEqual(['files', 'Folders', ' rebuild '].map(parseDataCache), ['files', 'folders', 'rebuild']);
    assert.throws(() => parseDataCache('trust'), (e: unknown) => e instanceof DataError && e.code === 'KILN_ERR_DATA_OPTION' && /files, folders or rebuild/.test(e.message));
  });

  test('folders: a settled folder loads from its stamps alone, the same dataset as the per-file check; any added, removed or moved file is seen', () => withDir(async (dir) => {
    const root = join(dir, 'set');
    await writeSolidFolder(root, { a: 4, b: 4 });
    const home = join(dir, 'home');
    const first = await load({ data: root, home, cache: 'folders' });
    assert.match(first.log, /decoding 8 images/);
    assert.equal(await byStamps(root, home), false, 'written just now: stamps wait for the folders to settle');

    await settle();
    const checked = await load({ data: root, home, cache: 'folders' });
    assert.match(checked.log, /8 images of set loaded from the cache in \d+ ms \(digest [0-9a-f]{12}\)/, 'found by the per-file check, which stamps the settled folders');
    assert.equal(await byStamps(root, home), true);
    const stamped = await load({ data: root, home, cache: 'folders' });
    assert.match(stamped.log, /8 images of set loaded from the cache in \d+ ms \(digest [0-9a-f]{12}, folders unchanged\)/);
    assert.deepEqual(stamped.data.identity, first.data.identity);
    assert.deepEqual(values(stamped.data), values(first.data));
    assert.deepEqual([stamped.data.train.labels, stamped.data.test.labels], [first.data.train.labels, first.data.test.labels]);
    assert.deepEqual(stamped.data.sources, first.data.sources);

    await writeFile(join(root, 'b', '9.png'), await solidImage(250));
    assert.equal(await byStamps(root, home), false, 'added');
    const added = await load({ data: root, home, cache: 'folders' });
    assert.deepEqual(values(added.data), [10, 20, 30, 40, 50, 60, 70, 80, 250]);

    await settle();
    await load({ data: root, home, cache: 'folders' }); // stamps the settled folders
    await rename(join(root, 'a', '0.png'), join(root, 'b', 'moved.png'));
    assert.equal(await byStamps(root, home), false, 'moved');
    const moved = await load({ data: root, home, cache: 'folders' });
    const perClass = (d: LabelledDataset): number[] => [0, 1].map((c) => (['train', 'validation', 'test'] as const).reduce((n, s) => n + (d.identity.counts[s]?.[c] ?? 0), 0));
    assert.deepEqual(perClass(moved.data), [3, 6]);
  }));

  test('folders: a file added and removed again leaves the files unchanged but not the folder; the per-file check hits and stamps the folders anew', () => withDir(async (dir) => {
    const { root, home } = await stampedFolder(dir);
    await writeFile(join(root, 'a', 'tmp.png'), await solidImage(5));
    await rm(join(root, 'a', 'tmp.png'));
    assert.equal(await byStamps(root, home), false);
    await settle();
    const checked = await load({ data: root, home, cache: 'folders' });
    assert.match(checked.log, /6 images of set loaded from the cache in \d+ ms \(digest [0-9a-f]{12}\)/);
    assert.equal(await byStamps(root, home), true, 'stamped anew');
  }));

  test('folders misses an image rewritten in place (as documented); files and rebuild see it', () => withDir(async (dir) => {
    const { root, home, first: before } = await stampedFolder(dir);
    const path = join(root, 'a', '0.png');
    const old = await stat(path);
    await writeFile(path, await solidImage(200));
    await utimes(path, old.atime, new Date(old.mtimeMs + 5000));
    const stale = await load({ data: root, home, cache: 'folders' });
    assert.deepEqual(values(stale.data), values(before.data), 'the cached pixels, unchanged');
    const fresh = await load({ data: root, home, cache: 'files' });
    assert.deepEqual(values(fresh.data), [20, 30, 40, 50, 60, 200]);
    assert.notEqual(fresh.data.identity.digest, before.data.identity.digest);
  }));

  test('rebuild decodes every image again though nothing changed, and the next load hits the rewritten cache', () => withDir(async (dir) => {
    const root = join(dir, 'set');
    await writeSolidFolder(root, { a: 3, b: 3 });
    const home = join(dir, 'home');
    const first = await load({ data: root, home });
    const rebuilt = await load({ data: root, home, cache: 'rebuild' });
    assert.match(rebuilt.log, /decoding 6 images/);
    assert.doesNotMatch(rebuilt.log, /from the cache/);
    assert.deepEqual(rebuilt.data.identity, first.data.identity);
    const again = await load({ data: root, home });
    assert.match(again.log, /6 images of set loaded from the cache/);
  }));

  test('folders: a new, empty class folder is seen, and the load refuses it as before', () => withDir(async (dir) => {
    const { root, home } = await stampedFolder(dir);
    await mkdir(join(root, 'c'));
    assert.equal(await byStamps(root, home), false);
    await assert.rejects(loadDataset({ data: root, home, cache: 'folders' }), (e: unknown) => e instanceof DataError && e.code === 'KILN_ERR_DATA_EMPTY_CLASS');
    await rm(join(root, 'c'), { recursive: true });
  }));
});
