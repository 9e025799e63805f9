import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { crc32 } from '../common/crc32.js';
import { Random } from '../common/random.js';
import { decodeGrayPngFast, PNG_SIGNATURE } from './png.js';
import { decodeFixed } from './decode.js';

const W = 28;
const H = 28;
const SHARP_ONLY = { height: H, width: W, channels: 1, fastPng: false } as const;
const decodeWithSharp = (png: Uint8Array, size: typeof SHARP_ONLY): Promise<Uint8Array> => decodeFixed(png, size);

function randomImage(seed: number): Uint8Array {
  const random = new Random(seed);
  const pixels = new Uint8Array(W * H);
  // Smooth ramps plus noise, so adaptive filtering picks every filter type somewhere.
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i % W < 14 ? (i * 7) & 0xff : 0) ^ (random.float() < 0.3 ? random.int(256) : 0);
  return pixels;
}

/** Gray pixels repeated into `channels` samples per pixel (alpha, when present, opaque). */
function expand(pixels: Uint8Array, channels: number): Uint8Array {
  const out = new Uint8Array(pixels.length * channels);
  for (let i = 0; i < pixels.length; i++) {
    for (let c = 0; c < channels; c++) out[i * channels + c] = channels % 2 === 0 && c === channels - 1 ? 255 : pixels[i]!;
  }
  return out;
}

const COLOUR_TYPE: Record<number, number> = { 1: 0, 2: 4, 3: 2, 4: 6 };

/** A PNG written by hand with `filter` on every row (0–4 are PNG's; others make a damaged file). */
function handPng(samples: Uint8Array, channels: number, filter: number, extraChunks: [string, Uint8Array][] = []): Buffer {
  const rowBytes = W * channels;
  const raw = new Uint8Array(H * (rowBytes + 1));
  for (let y = 0; y < H; y++) {
    raw[y * (rowBytes + 1)] = filter;
    for (let x = 0; x < rowBytes; x++) {
      const at = y * rowBytes + x;
      const a = x >= channels ? samples[at - channels]! : 0;
      const b = y > 0 ? samples[at - rowBytes]! : 0;
      const c = x >= channels && y > 0 ? samples[at - rowBytes - channels]! : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const predictor = [0, a, b, (a + b) >> 1, paeth][filter] ?? 0;
      raw[y * (rowBytes + 1) + 1 + x] = (samples[at]! - predictor) & 0xff;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(W, 0);
  ihdr.writeUInt32BE(H, 4);
  ihdr.set([8, COLOUR_TYPE[channels]!, 0, 0, 0], 8);
  return assemble([['IHDR', ihdr], ...extraChunks, ['IDAT', deflateSync(raw)], ['IEND', new Uint8Array(0)]]);
}

function assemble(chunks: [string, Uint8Array][]): Buffer {
  const parts = chunks.map(([type, data]) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'latin1');
    out.set(data, 8);
    out.writeUInt32BE(crc32(out, 4, 8 + data.length), 8 + data.length);
    return out;
  });
  return Buffer.concat([Buffer.from(PNG_SIGNATURE), ...parts]);
}


test('gray, gray+alpha, RGB and RGBA PNGs with gray opaque content decode to exactly what the sharp path decodes, under every row filter', async () => {
  const pixels = randomImage(7);
  for (const channels of [1, 2, 3, 4]) {
    for (let filter = 0; filter <= 4; filter++) {
      const png = handPng(expand(pixels, channels), channels, filter);
      const fast = decodeGrayPngFast(png, W, H);
      assert.ok(fast, `fast path refused ${channels} channel(s), filter ${filter}`);
      assert.deepEqual(fast, pixels);
      assert.deepEqual(fast, new Uint8Array(await decodeWithSharp(png, SHARP_ONLY)), `sharp disagrees: ${channels} channel(s), filter ${filter}`);
    }
  }
});

test('PNGs written by sharp itself (RGB for gray content, several compression settings) take the fast path with identical pixels', async () => {
  for (let seed = 1; seed <= 6; seed++) {
    const pixels = randomImage(seed);
    for (const options of [{}, { adaptiveFiltering: true }, { compressionLevel: 0 }, { compressionLevel: 9, adaptiveFiltering: true }]) {
      const png = await sharp(Buffer.from(pixels), { raw: { width: W, height: H, channels: 1 } }).png(options).toBuffer();
      const fast = decodeGrayPngFast(png, W, H);
      assert.ok(fast, `seed ${seed} ${JSON.stringify(options)}`);
      assert.deepEqual(fast, new Uint8Array(await decodeWithSharp(png, SHARP_ONLY)));
    }
  }
});

test('anything outside the narrow fast path is left to sharp (null), never misdecoded', async () => {
  const pixels = randomImage(3);
  const png = handPng(pixels, 1, 0);
  assert.equal(decodeGrayPngFast(png, 32, 32), null, 'another size needs resizing');
  const coloured = expand(pixels, 3);
  coloured[100] = coloured[100]! ^ 1;
  assert.equal(decodeGrayPngFast(handPng(coloured, 3, 0), W, H), null, 'one coloured pixel');
  const translucent = expand(pixels, 4);
  translucent[4 * 10 + 3] = 128;
  assert.equal(decodeGrayPngFast(handPng(translucent, 4, 0), W, H), null, 'one translucent pixel (needs flattening)');
  assert.equal(decodeGrayPngFast(handPng(pixels, 1, 0, [['tRNS', new Uint8Array([0, 0])]]), W, H), null, 'a transparency chunk');
  assert.equal(decodeGrayPngFast(handPng(pixels, 1, 0, [['gAMA', new Uint8Array([0, 0, 0xb1, 0x8f])]]), W, H), null, 'a gamma chunk');
  assert.equal(decodeGrayPngFast(await sharp(Buffer.from(pixels), { raw: { width: W, height: H, channels: 1 } }).jpeg().toBuffer(), W, H), null, 'JPEG');
  assert.equal(decodeGrayPngFast(png.subarray(0, png.length - 20), W, H), null, 'truncated');
  const corrupt = Buffer.from(png);
  corrupt[40] = corrupt[40]! ^ 0xff;
  assert.equal(decodeGrayPngFast(corrupt, W, H), null, 'a flipped byte fails the CRC');
  assert.equal(decodeGrayPngFast(new Uint8Array(0), W, H), null, 'empty');
  assert.equal(decodeGrayPngFast(Buffer.from('not an image at all, just some text that is long enough'), W, H), null, 'text');
  assert.equal(decodeGrayPngFast(handPng(pixels, 1, 5), W, H), null, 'filter type 5 does not exist');
});

test('a stream that inflates to more than the image it claims is refused (bounded work)', () => {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(W, 0);
  ihdr.writeUInt32BE(H, 4);
  ihdr.set([8, 0, 0, 0, 0], 8);
  const bomb = assemble([['IHDR', ihdr], ['IDAT', deflateSync(new Uint8Array(50 * (W + 1) * H))], ['IEND', new Uint8Array(0)]]);
  assert.equal(decodeGrayPngFast(bomb, W, H), null);
});
