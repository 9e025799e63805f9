import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { capSize, inferTarget, parseHeader, readHeader, sampleIndices } from './infer.js';
import { tempDir } from './test-fixtures.js';
import { encodeImage, writeImage } from './test-images.js';

describe('image headers', () => {
  test('PNG and JPEG sizes and gray-ness come from the first bytes', async () => {
    assert.deepEqual(parseHeader(await encodeImage({ width: 7, height: 5, channels: 1, seed: 1 })), { width: 7, height: 5, gray: true });
    assert.deepEqual(parseHeader(await encodeImage({ width: 7, height: 5, channels: 3, seed: 1 })), { width: 7, height: 5, gray: false });
    assert.deepEqual(parseHeader(await encodeImage({ width: 9, height: 11, channels: 1, format: 'jpeg', seed: 1 })), { width: 9, height: 11, gray: true });
    assert.deepEqual(parseHeader(await encodeImage({ width: 9, height: 11, channels: 3, format: 'jpeg', seed: 1 })), { width: 9, height: 11, gray: false });
    assert.equal(parseHeader(new TextEncoder().encode('hello world, not an image at all')), null);
  });

  test('other formats (WebP) are read through sharp; unreadable files give null', async () => {
    const dir = await tempDir('kiln-infer-');
    try {
      await writeImage(join(dir.path, 'x.webp'), { width: 6, height: 4, channels: 3, format: 'webp', seed: 2 });
      assert.deepEqual(await readHeader(join(dir.path, 'x.webp')), { width: 6, height: 4, gray: false });
      assert.equal(await readHeader(join(dir.path, 'missing.png')), null);
      // A JPEG whose frame header comes after a 10 KB application segment (as with large EXIF blocks).
      const jpeg = await encodeImage({ width: 5, height: 3, channels: 1, format: 'jpeg', seed: 4 });
      const padding = new Uint8Array(10_000);
      padding.set([0xff, 0xef, (10_000 - 2) >> 8, (10_000 - 2) & 0xff]);
      await writeFile(join(dir.path, 'exif.jpg'), Buffer.concat([jpeg.subarray(0, 2), padding, jpeg.subarray(2)]));
      assert.deepEqual(await readHeader(join(dir.path, 'exif.jpg')), { width: 5, height: 3, gray: true });
    } finally {
      await dir.cleanup();
    }
  });
});

describe('inferTarget', () => {
  test('the median size (aspect kept, at most 64 per side) and gray iff every image is gray', async () => {
    const dir = await tempDir('kiln-infer-');
    try {
      const sizes = [[20, 30], [24, 32], [100, 200], [22, 31], [300, 400]];
      const paths = await Promise.all(sizes.map(async ([h, w], k) => {
        const path = join(dir.path, `${k}.png`);
        await writeImage(path, { width: w, height: h, channels: 1, seed: k });
        return path;
      }));
      const gray = await inferTarget(paths, {});
      assert.deepEqual(gray.target, { height: 24, width: 32, channels: 1 });
      assert.equal(gray.color, 'gray');
      assert.match(gray.description, /median 24x32 of 5 images/);
      assert.match(gray.description, /gray: every one/);

      const big = join(dir.path, 'big.jpg');
      await writeImage(big, { width: 500, height: 375, channels: 3, format: 'jpeg', seed: 9 });
      const colour = await inferTarget([big, big, paths[4]], {});
      assert.deepEqual(colour.target, { height: 48, width: 64, channels: 3 });
      assert.match(colour.description, /median 375x500 of 3 images, scaled to 48x64/);
      assert.match(colour.description, /rgb: .*big\.jpg has colour/);

      const given = await inferTarget(paths, { imageSize: [16, 16], color: 'rgb' });
      assert.deepEqual(given.target, { height: 16, width: 16, channels: 3 });
      assert.match(given.description, /as given/);
    } finally {
      await dir.cleanup();
    }
  });

  test('images stored as colour but holding only gray pixels count as gray', async () => {
    const dir = await tempDir('kiln-infer-');
    try {
      const grayPixels = (seed: number): Uint8Array => {
        const out = new Uint8Array(10 * 10 * 3);
        for (let p = 0; p < 100; p++) out.fill((p * 37 + seed) % 256, p * 3, p * 3 + 3);
        return out;
      };
      const paths: string[] = [];
      for (const [k, format] of (['png', 'jpeg', 'webp'] as const).entries()) {
        paths.push(join(dir.path, `${k}.${format}`));
        await writeImage(paths[k], { width: 10, height: 10, channels: 3, format, seed: k }, grayPixels(k));
      }
      const inferred = await inferTarget(paths, {});
      assert.equal(inferred.color, 'gray');
      assert.match(inferred.description, /gray: 3 of 3 images are stored as colour but hold only gray pixels/);
      const coloured = grayPixels(9);
      coloured[50 * 3] = 255;
      coloured[50 * 3 + 1] = 0;
      paths.push(join(dir.path, 'red.png'));
      await writeImage(paths[3], { width: 10, height: 10, channels: 3, seed: 9 }, coloured);
      const withColour = await inferTarget(paths, {});
      assert.equal(withColour.color, 'rgb');
      assert.match(withColour.description, /red\.png has colour/);
    } finally {
      await dir.cleanup();
    }
  });

  test('samples at most 2,000 images, spread evenly', () => {
    assert.deepEqual(sampleIndices(5, 10), [0, 1, 2, 3, 4]);
    assert.deepEqual(sampleIndices(10, 5), [0, 2, 4, 6, 8]);
    assert.equal(sampleIndices(60_000).length, 2000);
    assert.deepEqual(capSize(28, 28), [28, 28]);
    assert.deepEqual(capSize(375, 500), [48, 64]);
    assert.deepEqual(capSize(1000, 100), [64, 6]);
  });
});
