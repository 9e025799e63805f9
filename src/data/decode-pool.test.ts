import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { decodeFixed } from '../imaging/decode.js';
import { decodeAll } from './decode-pool.js';
import type { DecodeTarget } from './labelled.js';

const W = 24;
const H = 20;
let root = '';
const files: { name: string; bytes: Buffer }[] = [];

/** An RGB(A) gradient with texture, so resizing and colour conversion both matter. */
function rgb(channels: 3 | 4): Buffer {
  const raw = Buffer.alloc(W * H * channels);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const at = (y * W + x) * channels;
      raw[at] = (x * 10) & 0xff;
      raw[at + 1] = (y * 12 + x) & 0xff;
      raw[at + 2] = ((x ^ y) * 9) & 0xff;
      if (channels === 4) raw[at + 3] = (x * 11 + 40) & 0xff;
    }
  }
  return raw;
}

const gray = (): Buffer => Buffer.from(Array.from({ length: W * H }, (_, i) => (i * 7 + (i % W) * 3) & 0xff));
const input = (raw: Buffer, channels: 1 | 3 | 4) => sharp(raw, { raw: { width: W, height: H, channels } });

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'kiln-decode-pool-'));
  const made: [string, Promise<Buffer>][] = [
    ['gray.png', input(gray(), 1).png().toBuffer()],
    ['rgb.jpg', input(rgb(3), 3).jpeg({ quality: 85 }).toBuffer()],
    ['rgb.webp', input(rgb(3), 3).webp({ quality: 80 }).toBuffer()],
    ['rgb.gif', input(rgb(3), 3).gif().toBuffer()],
    ['rgb.tiff', input(rgb(3), 3).tiff().toBuffer()],
    ['rgb16.png', input(rgb(3), 3).toColourspace('rgb16').png().toBuffer()],
    ['gray16.png', input(gray(), 1).toColourspace('grey16').png().toBuffer()],
    ['palette.png', input(rgb(3), 3).png({ palette: true, colours: 16 }).toBuffer()],
    ['alpha.png', input(rgb(4), 4).png().toBuffer()],
    ['gray-as-rgb.png', input(Buffer.from([...gray()].flatMap((v) => [v, v, v])), 3).png().toBuffer()],
  ];
  for (const [name, bytes] of made) files.push({ name, bytes: await bytes });
  for (const file of files) await writeFile(join(root, file.name), file.bytes);
});
after(() => rm(root, { recursive: true, force: true }));

const TARGETS: DecodeTarget[] = [
  { height: H, width: W, channels: 1 },
  { height: H, width: W, channels: 3 },
  { height: 8, width: 12, channels: 1 },
  { height: 8, width: 12, channels: 3 },
];

for (const workers of [2, 0]) {
  for (const target of TARGETS) {
    test(`${workers ? 'worker threads' : 'this thread'}: pixels equal decodeFixed's for every format at ${target.height}x${target.width}x${target.channels}`, async () => {
      const paths = files.map((file) => join(root, file.name));
      const result = await decodeAll(paths, target, { workers });
      const size = target.height * target.width * target.channels;
      assert.equal(result.pixels.length, files.length * size);
      for (const [i, file] of files.entries()) {
        assert.equal(result.failures[i], null, `${file.name} failed: ${result.failures[i]}`);
        const expected = await decodeFixed(file.bytes, target);
        assert.deepEqual(Buffer.from(result.pixels.subarray(i * size, (i + 1) * size)), Buffer.from(expected), `${file.name} differs`);
        assert.equal(result.sha256[i], createHash('sha256').update(file.bytes).digest('hex'), `${file.name}'s sha256`);
      }
    });
  }
}

test('worker threads: a missing file, an empty file and a text file are failures with reasons, the others still decode', async () => {
  await writeFile(join(root, 'empty.png'), new Uint8Array(0));
  await writeFile(join(root, 'notes.png'), 'not an image');
  const paths = [join(root, 'gray.png'), join(root, 'missing.png'), join(root, 'empty.png'), join(root, 'notes.png'), join(root, 'rgb.jpg')];
  const target: DecodeTarget = { height: H, width: W, channels: 1 };
  const result = await decodeAll(paths, target, { workers: 2 });
  assert.equal(result.failures[0], null);
  assert.match(result.failures[1] ?? '', /could not be read \(ENOENT\)/);
  assert.match(result.failures[2] ?? '', /empty/);
  assert.match(result.failures[3] ?? '', /not a readable image/);
  assert.equal(result.failures[4], null);
  assert.deepEqual(Buffer.from(result.pixels.subarray(4 * H * W)), Buffer.from(await decodeFixed(files[1]!.bytes, target)));
});

test('progress is reported up to every item', async () => {
  const paths = Array.from({ length: 600 }, () => join(root, 'gray.png'));
  const seen: number[] = [];
  await decodeAll(paths, { height: H, width: W, channels: 1 }, { workers: 2, onProgress: (done) => seen.push(done) });
  assert.equal(seen.at(-1), 600);
  assert.deepEqual([...seen].sort((a, b) => a - b), seen);
});
