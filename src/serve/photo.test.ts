import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { PHOTO_STYLES, renderPhoto } from '../../bench/photo/render.js';
import type { Preprocessing } from '../models/metadata.js';
import { decodeJpegScaled, jpegOrientation, type Raster, turboJpegAvailable } from '../imaging/jpeg.js';
import { backgroundColour, looksLikePhoto, photoToDataset, trimBox } from './photo.js';
import { decodeImage, decodeRaster } from './preprocess.js';

const PRE: Preprocessing = { colorMode: 'grayscale', size: [28, 28], scale: 1, mean: 0, std: 1, invert: false, mode: 'auto' };
const TEST_IMAGES = '/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz';

/** Test images 0..n-1 of the canonical set (the Debian package that scripts/setup-system.sh installs). */
function testImages(n: number): Uint8Array[] {
  const idx = gunzipSync(readFileSync(TEST_IMAGES));
  return Array.from({ length: n }, (_, i) => new Uint8Array(idx.subarray(16 + i * 784, 16 + (i + 1) * 784)));
}

/** Pearson correlation of two pixel arrays. */
function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]! / n;
    mb += b[i]! / n;
  }
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < n; i++) {
    ab += (a[i]! - ma) * (b[i]! - mb);
    aa += (a[i]! - ma) ** 2;
    bb += (b[i]! - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

/** An off-white 120x80 picture with a dark 30x50 rectangle whose top-left corner is at (10, 20). */
function rectanglePhoto(): Raster {
  const width = 120;
  const height = 80;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = x >= 10 && x < 60 && y >= 20 && y < 50;
      data.set(inside ? [40, 30, 20] : [240, 235, 220], (y * width + x) * 3);
    }
  }
  return { data, width, height, channels: 3 };
}

test('the background is the corners’ colour, and the trim finds the item’s bounding box', () => {
  const photo = rectanglePhoto();
  assert.deepEqual(backgroundColour(photo), [240, 235, 220]);
  assert.deepEqual(trimBox(photo, [240, 235, 220], 24), { x: 10, y: 20, width: 50, height: 30 });
});

test('a photo becomes a Fashion-MNIST image: longer edge filling the frame, centred, light on a black backdrop', () => {
  const out = photoToDataset(rectanglePhoto(), [28, 28]);
  // 50x30 → 28x17 (rounded), centred vertically: rows 5..21 hold the item, the rest is backdrop.
  const rowMean = (y: number): number => out.subarray(y * 28, (y + 1) * 28).reduce((a, b) => a + b, 0) / 28;
  assert.equal(rowMean(0), 0);
  assert.equal(rowMean(4), 0);
  assert.ok(rowMean(6) > 180, `row 6 is item: ${rowMean(6)}`);
  assert.ok(rowMean(20) > 180, `row 20 is item: ${rowMean(20)}`);
  assert.equal(rowMean(23), 0);
  assert.ok(out[14 * 28] > 180 && out[14 * 28 + 27] > 180, 'the item spans the full width');
});

test('auto tells dataset-form images (dark border) from photos (light border)', () => {
  const dark: Raster = { data: new Uint8Array(28 * 28), width: 28, height: 28, channels: 1 };
  for (let y = 6; y < 22; y++) for (let x = 6; x < 22; x++) dark.data[y * 28 + x] = 200;
  assert.equal(looksLikePhoto(dark), false);
  assert.equal(looksLikePhoto(rectanglePhoto()), true);
});

test('EXIF orientation is read from a JPEG’s APP1 segment', async () => {
  const base = sharp({ create: { width: 40, height: 20, channels: 3, background: '#ffffff' } });
  assert.equal(jpegOrientation(await base.clone().jpeg().toBuffer()), 1);
  assert.equal(jpegOrientation(await base.clone().withMetadata({ orientation: 6 }).jpeg().toBuffer()), 6);
});

test('TurboJPEG decodes at a DCT scale that keeps the longer side at least the asked size, like sharp does', { skip: !existsSync('/usr/lib/x86_64-linux-gnu/libturbojpeg.so.0') && 'libturbojpeg0 not installed (scripts/setup-system.sh installs it)' }, async () => {
  assert.equal(await turboJpegAvailable(), true);
  const photo = await renderPhoto(testImages(1)[0]!, 'studio', 3);
  const fast = await decodeJpegScaled(photo.bytes, 112, 40e6);
  assert.ok(fast);
  assert.ok(Math.max(fast.width, fast.height) >= 112 && Math.max(fast.width, fast.height) < 224 + 8, `${fast.width}x${fast.height} from ${photo.width}x${photo.height}`);
  const viaSharp = await sharp(photo.bytes).resize(fast.width, fast.height, { fit: 'fill' }).raw().toBuffer();
  assert.ok(correlation(fast.data, viaSharp) > 0.98);
});

test('every rendered photo style comes back as the original test image (20 images per style; rotated ones as far as a rotation allows)', async () => {
  const images = testImages(20);
  for (const style of PHOTO_STYLES) {
    let sum = 0;
    for (const [i, pixels] of images.entries()) {
      const photo = await renderPhoto(pixels, style, 100 + i);
      const input = new Float32Array(784);
      assert.equal(await decodeImage(photo.bytes, PRE, input), 'photo', `${style} ${i} takes the photo path`);
      sum += correlation(input, pixels);
    }
    const floor = style === 'studio' ? 0.85 : 0.75;
    assert.ok(sum / images.length > floor, `${style}: mean correlation with the original ${sum / images.length}`);
    console.log(`# ${style}: mean correlation ${(sum / images.length).toFixed(3)}`);
  }
});

test('dataset-form images keep the fast path and exactly the answer of preprocess=dataset', async () => {
  for (const pixels of testImages(10)) {
    const png = await sharp(Buffer.from(pixels), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer();
    const auto = new Float32Array(784);
    const dataset = new Float32Array(784);
    assert.equal(await decodeImage(png, PRE, auto, 0, undefined, 'auto'), 'dataset');
    assert.equal(await decodeImage(png, PRE, dataset, 0, undefined, 'dataset'), 'dataset');
    assert.deepEqual(auto, dataset);
    assert.deepEqual(Array.from(auto), Array.from(pixels));
  }
});

test('forced photo mode on a damaged JPEG is a 400, not a crash', async () => {
  const photo = await renderPhoto(testImages(1)[0]!, 'studio', 5);
  const truncated = photo.bytes.subarray(0, Math.floor(photo.bytes.length / 2));
  await assert.rejects(decodeRaster(truncated, 112), (error: { statusCode?: number; code?: string }) => error.statusCode === 400 && error.code === 'INVALID_IMAGE');
  await assert.rejects(decodeImage(truncated, PRE, new Float32Array(784), 0, undefined, 'photo'), (error: { statusCode?: number }) => error.statusCode === 400);
});
