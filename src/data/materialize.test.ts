import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
