import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, mkdir, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { decodeFixed } from '../imaging/decode.js';
import { DataError } from './errors.js';
import type { Catalog, CatalogItem, DecodeTarget } from './labelled.js';
import { datasetDigest, materialize } from './materialize.js';

const roots: string[] = [];
after(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

async function tempRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'kiln-materialize-'));
  roots.push(root);
  return root;
}

/** A gray PNG of `size` whose pixels depend on `seed`. */
function grayPng(seed: number, size = 8): Promise<Buffer> {
  const raw = Buffer.alloc(size * size);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 13 + seed * 37) & 0xff;
  return sharp(raw, { raw: { width: size, height: size, channels: 1 } }).png().toBuffer();
}

/** Writes files under root as `class/name` and returns the catalog listing them. */
async function writeCatalog(root: string, files: { relPath: string; label: number; bytes: Uint8Array }[]): Promise<Catalog> {
  const items: CatalogItem[] = [];
  for (const file of files) {
    const path = join(root, file.relPath);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, file.bytes);
    items.push({ path, relPath: file.relPath, label: file.label });
  }
  return { name: 'set', source: root, root, sourceType: 'folder', classNames: ['a', 'b'], items, warnings: [] };
}

const GRAY8: DecodeTarget = { height: 8, width: 8, channels: 1 };

test('materialize decodes every item in catalog order with decodeFixed, and hashes each file', async () => {
  const root = await tempRoot();
  const files = [
    { relPath: 'b/2.png', label: 1, bytes: await grayPng(2) },
    { relPath: 'a/1.png', label: 0, bytes: await grayPng(1, 16) },
  ];
  const catalog = await writeCatalog(root, files);
  const cacheDir = join(root, 'cache');
  const result = await materialize(catalog, GRAY8, { cacheDir });
  assert.equal(result.items.length, 2);
  assert.deepEqual(result.items.map((i) => i.relPath), ['b/2.png', 'a/1.png']);
  const expected = Buffer.concat([await decodeFixed(files[0]!.bytes, GRAY8), await decodeFixed(files[1]!.bytes, GRAY8)]);
  assert.deepEqual(Buffer.from(result.pixels), expected);
  assert.equal(result.sha256[0], (await import('node:crypto')).createHash('sha256').update(files[0]!.bytes).digest('hex'));
  assert.deepEqual(result.bad, []);
  assert.match(result.digest, /^[0-9a-f]{64}$/);
});

test('the digest does not depend on listing order, and changes with a label, a split, a file or the target', () => {
  const items: CatalogItem[] = [
    { path: '/x/a/1.png', relPath: 'a/1.png', label: 0 },
    { path: '/x/b/2.png', relPath: 'b/2.png', label: 1, split: 'test' },
  ];
  const sha = ['11'.repeat(32), '22'.repeat(32)];
  const digest = datasetDigest(items, sha, GRAY8);
  assert.equal(datasetDigest([items[1]!, items[0]!], [sha[1]!, sha[0]!], GRAY8), digest);
  assert.equal(datasetDigest(items, sha, GRAY8), digest, 'stable across calls');
  assert.notEqual(datasetDigest([{ ...items[0]!, label: 1 }, items[1]!], sha, GRAY8), digest);
  assert.notEqual(datasetDigest([items[0]!, { ...items[1]!, split: 'train' }], sha, GRAY8), digest);
  assert.notEqual(datasetDigest(items, [sha[0]!, '33'.repeat(32)], GRAY8), digest);
  assert.notEqual(datasetDigest(items, sha, { height: 8, width: 8, channels: 3 }), digest);
  assert.notEqual(datasetDigest(items, sha, { height: 8, width: 9, channels: 1 }), digest);
});

test('every bad image is named in one KILN_ERR_DATA_BAD_IMAGES error, with its reason', async () => {
  const root = await tempRoot();
  const catalog = await writeCatalog(root, [
    { relPath: 'a/good.png', label: 0, bytes: await grayPng(1) },
    { relPath: 'a/empty.png', label: 0, bytes: new Uint8Array(0) },
    { relPath: 'b/text.png', label: 1, bytes: Buffer.from('this is not an image') },
    { relPath: 'b/cut.png', label: 1, bytes: (await grayPng(3, 64)).subarray(0, 60) },
  ]);
  await assert.rejects(materialize(catalog, GRAY8, { cacheDir: join(root, 'cache') }), (error: unknown) => {
    assert.ok(error instanceof DataError);
    assert.equal(error.code, 'KILN_ERR_DATA_BAD_IMAGES');
    assert.match(error.message, /3 of 4 images/);
    assert.match(error.message, /a\/empty\.png: .*empty/);
    assert.match(error.message, /b\/text\.png: /);
    assert.match(error.message, /b\/cut\.png: /);
    assert.doesNotMatch(error.message, /good\.png/);
    assert.match(error.message, /--skip-bad-images/);
    return true;
  });
});

test('with skipBadImages the bad images are dropped and reported, the rest kept in order', async () => {
  const root = await tempRoot();
  const good = [await grayPng(1), await grayPng(2)];
  const catalog = await writeCatalog(root, [
    { relPath: 'a/1.png', label: 0, bytes: good[0]! },
    { relPath: 'a/bad.png', label: 0, bytes: Buffer.from('nope') },
    { relPath: 'b/2.png', label: 1, bytes: good[1]! },
  ]);
  const result = await materialize(catalog, GRAY8, { cacheDir: join(root, 'cache'), skipBadImages: true });
  assert.deepEqual(result.items.map((i) => i.relPath), ['a/1.png', 'b/2.png']);
  assert.deepEqual(result.bad.map((b) => b.relPath), ['a/bad.png']);
  assert.ok(result.bad[0]!.reason.length > 0);
  assert.equal(result.pixels.length, 2 * 64);
  assert.deepEqual(Buffer.from(result.pixels.subarray(64)), Buffer.from(await decodeFixed(good[1]!, GRAY8)));
});

// ---------------------------------------------------------------------------------------------
// The cache (data/tensor-cache): hit, miss on any change, corrupt files ignored.

async function fourImages(root: string): Promise<Catalog> {
  return writeCatalog(root, [
    { relPath: 'a/1.png', label: 0, bytes: await grayPng(1) },
    { relPath: 'a/2.png', label: 0, bytes: await grayPng(2) },
    { relPath: 'b/3.png', label: 1, bytes: await grayPng(3) },
    { relPath: 'b/4.png', label: 1, bytes: await grayPng(4) },
  ]);
}

test('the second load of an unchanged catalog comes from the cache, with the same pixels, hashes and digest', async () => {
  const root = await tempRoot();
  const catalog = await fourImages(root);
  const cacheDir = join(root, 'cache');
  const lines: string[] = [];
  const first = await materialize(catalog, GRAY8, { cacheDir, workers: 2 });
  const second = await materialize(catalog, GRAY8, { cacheDir, log: (l) => lines.push(l) });
  assert.equal(first.fromCache, false);
  assert.equal(second.fromCache, true);
  assert.deepEqual(Buffer.from(second.pixels), Buffer.from(first.pixels));
  assert.deepEqual(second.sha256, first.sha256);
  assert.equal(second.digest, first.digest);
  assert.deepEqual(second.items, first.items);
  assert.ok(existsSync(join(cacheDir, `${first.digest}.bin`)));
  assert.match(lines.join('\n'), /4 images of set loaded from the cache/);
});

test('a file rewritten with other pixels but the same size misses the cache (its mtime changed)', async () => {
  const root = await tempRoot();
  const catalog = await fourImages(root);
  const cacheDir = join(root, 'cache');
  const first = await materialize(catalog, GRAY8, { cacheDir });
  const path = catalog.items[2]!.path;
  const before = statSync(path);
  // Same size, different pixels: one byte of the IDAT's compressed stream rewritten would break the
  // PNG, so write a same-sized file made the way a user's tool would: another image, padded to size.
  const other = await sharp(Buffer.alloc(64, 200), { raw: { width: 8, height: 8, channels: 1 } }).png().toBuffer();
  const replacement = Buffer.concat([other.subarray(0, other.length - 12), tEXt(before.size - other.length), other.subarray(other.length - 12)]);
  assert.equal(replacement.length, before.size);
  await writeFile(path, replacement);
  await utimes(path, before.atime, new Date(before.mtimeMs + 5000));
  const second = await materialize(catalog, GRAY8, { cacheDir });
  assert.equal(second.fromCache, false);
  assert.notEqual(second.digest, first.digest);
  assert.deepEqual([...second.pixels.subarray(2 * 64, 3 * 64)], new Array(64).fill(200));
  const third = await materialize(catalog, GRAY8, { cacheDir });
  assert.equal(third.fromCache, true, 'the new version is cached in turn');
  assert.equal(third.digest, second.digest);
  assert.deepEqual((await readdir(cacheDir)).filter((f) => f.endsWith('.bin')), [`${second.digest}.bin`], "the earlier version's tensors are deleted");
});

test("a source's earlier tensors are kept while another source's index still uses them", async () => {
  const root = await tempRoot();
  const catalog = await fourImages(root);
  const cacheDir = join(root, 'cache');
  const twin = { ...catalog, source: `${catalog.source}/.` }; // same files and content, another source path
  const first = await materialize(catalog, GRAY8, { cacheDir });
  assert.equal((await materialize(twin, GRAY8, { cacheDir })).digest, first.digest);
  const fewer = { ...catalog, items: catalog.items.slice(1) };
  await materialize(fewer, GRAY8, { cacheDir });
  assert.ok(existsSync(join(cacheDir, `${first.digest}.bin`)), 'the twin still points at it');
  assert.equal((await materialize(twin, GRAY8, { cacheDir })).fromCache, true);
});

test('an added, a removed or a relabelled item misses the cache, and a different target has its own entry', async () => {
  const root = await tempRoot();
  const catalog = await fourImages(root);
  const cacheDir = join(root, 'cache');
  await materialize(catalog, GRAY8, { cacheDir });
  const removed = { ...catalog, items: catalog.items.slice(1) };
  assert.equal((await materialize(removed, GRAY8, { cacheDir })).fromCache, false);
  const added = await writeCatalog(root, [{ relPath: 'b/5.png', label: 1, bytes: await grayPng(5) }]);
  assert.equal((await materialize({ ...catalog, items: [...catalog.items, ...added.items] }, GRAY8, { cacheDir })).fromCache, false);
  const relabelled = { ...catalog, items: catalog.items.map((item, i) => (i === 0 ? { ...item, label: 1 } : item)) };
  assert.equal((await materialize(relabelled, GRAY8, { cacheDir })).fromCache, false);
  assert.equal((await materialize(catalog, { height: 4, width: 4, channels: 1 }, { cacheDir })).fromCache, false);
  assert.equal((await materialize(catalog, { height: 4, width: 4, channels: 1 }, { cacheDir })).fromCache, true);
});

test('a truncated, corrupted or garbage cache file is ignored and rewritten, never an error', async () => {
  const root = await tempRoot();
  const catalog = await fourImages(root);
  const cacheDir = join(root, 'cache');
  const first = await materialize(catalog, GRAY8, { cacheDir });
  const bin = join(cacheDir, `${first.digest}.bin`);
  const good = await readFile(bin);
  const flipped = Buffer.from(good);
  flipped[good.length - 300]! ^= 0xff; // a pixel: same length, wrong content
  const damages: [string, string, Uint8Array][] = [
    ['truncated tensors', bin, good.subarray(0, good.length - 10)],
    ['a flipped pixel', bin, flipped],
    ['garbage tensors', bin, Buffer.from('garbage')],
    ['an empty tensor file', bin, new Uint8Array(0)],
  ];
  const [index] = await readdir(join(cacheDir, 'by-source'));
  damages.push(['a garbage index', join(cacheDir, 'by-source', index!), Buffer.from('{"format":1,')]);
  for (const [what, file, bytes] of damages) {
    await writeFile(file, bytes);
    const again = await materialize(catalog, GRAY8, { cacheDir });
    assert.equal(again.fromCache, false, what);
    assert.deepEqual(Buffer.from(again.pixels), Buffer.from(first.pixels), what);
    assert.equal((await materialize(catalog, GRAY8, { cacheDir })).fromCache, true, `${what}: rewritten`);
  }
  await rm(bin);
  assert.equal((await materialize(catalog, GRAY8, { cacheDir })).fromCache, false, 'a missing tensor file');
});

test('bad images are remembered by the cache: skipped again with skipBadImages, named again without', async () => {
  const root = await tempRoot();
  const catalog = await writeCatalog(root, [
    { relPath: 'a/1.png', label: 0, bytes: await grayPng(1) },
    { relPath: 'a/bad.png', label: 0, bytes: Buffer.from('nope') },
    { relPath: 'b/2.png', label: 1, bytes: await grayPng(2) },
  ]);
  const cacheDir = join(root, 'cache');
  await assert.rejects(materialize(catalog, GRAY8, { cacheDir }), /a\/bad\.png/);
  const skipped = await materialize(catalog, GRAY8, { cacheDir, skipBadImages: true });
  assert.equal(skipped.fromCache, true, 'the failed first load already cached the good images');
  assert.deepEqual(skipped.bad.map((b) => b.relPath), ['a/bad.png']);
  assert.deepEqual(skipped.items.map((i) => i.relPath), ['a/1.png', 'b/2.png']);
  await assert.rejects(materialize(catalog, GRAY8, { cacheDir }), (error: unknown) => error instanceof DataError && /a\/bad\.png: /.test(error.message));
});

test('a cache directory that cannot be written is logged, and the load still succeeds', async () => {
  const root = await tempRoot();
  const catalog = await fourImages(root);
  const blocker = join(root, 'not-a-dir');
  await writeFile(blocker, 'a file where the cache directory should be');
  const lines: string[] = [];
  const result = await materialize(catalog, GRAY8, { cacheDir: blocker, log: (l) => lines.push(l) });
  assert.equal(result.items.length, 4);
  assert.match(lines.join('\n'), /could not cache the decoded images/);
});

/** A PNG tEXt chunk of exactly `size` bytes (12 bytes of framing included), to pad a file. */
function tEXt(size: number): Buffer {
  const data = Buffer.from(`k\0${'x'.repeat(size - 14)}`, 'latin1');
  const type = Buffer.from('tEXt', 'latin1');
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  type.copy(chunk, 4);
  data.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(Buffer.concat([type, data])), 8 + data.length);
  return chunk;
}
