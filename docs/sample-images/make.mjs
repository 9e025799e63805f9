/**
 * docs/sample-images/make.mjs — writes the README's sample images from the canonical Fashion-MNIST
 * test set: ankle-boot.png (test image 0, its 28x28 pixels as they are) and sneaker-photo.jpg
 * (test image 9 rendered as a 320x320 shop photo by bench/photo/render). Run after `npm run build`:
 *   node docs/sample-images/make.mjs [data-dir]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { renderPhoto } from '../../dist/bench/photo/render.js';

const here = dirname(fileURLToPath(import.meta.url));
const dataDir = process.argv[2] ?? process.env.KILN_DATA_DIR ?? '/usr/share/datasets/fashion-mnist';
const images = gunzipSync(readFileSync(join(dataDir, 't10k-images-idx3-ubyte.gz'))).subarray(16);
const pixels = (index) => images.subarray(index * 784, (index + 1) * 784);

const png = await sharp(Buffer.from(pixels(0)), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer();
writeFileSync(join(here, 'ankle-boot.png'), png);
const photo = await renderPhoto(pixels(9), 'offwhite', 9, [320, 320]);
writeFileSync(join(here, 'sneaker-photo.jpg'), photo.bytes);
console.log(`ankle-boot.png ${png.length} bytes, sneaker-photo.jpg ${photo.bytes.length} bytes (${photo.width}x${photo.height})`);
