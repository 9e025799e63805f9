import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadSharp } from '../imaging/decode.js';
import type { ImageSet } from './dataset.js';
import { FASHION_MNIST_MEAN, FASHION_MNIST_STD, normalizePixels } from './normalize.js';
import { datasetSamples, encodePng, imageBytes, safeClassName, sampleIndices } from './samples.js';

/** `count` images of `height` x `width` x `channels` with varied bytes, labels as given, normalized like training. */
function imageSet(labels: number[], height: number, width: number, channels: 1 | 3, mean: number, std: number): { set: ImageSet; bytes: Uint8Array } {
  const size = height * width * channels;
  const bytes = new Uint8Array(labels.length * size);
  // Every byte value appears, including 0 and 255, so rounding at both ends is exercised.
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 37 + (i >> 3)) % 256;
  const images = normalizePixels(bytes, new Float32Array(bytes.length), mean, std);
  return { set: { images, labels: Uint8Array.from(labels), count: labels.length, height, width, channels }, bytes };
}

/** PNG's IHDR colour type: 0 gray, 2 RGB. */
const pngColorType = (png: Buffer): number => png[25];

async function decodePng(png: Buffer): Promise<{ data: Uint8Array; width: number; height: number; channels: number }> {
  const sharp = await loadSharp();
  const image = sharp(png);
  // libvips hands a gray PNG back as RGB unless asked for its one channel.
  const { data, info } = await (pngColorType(png) === 0 ? image.toColourspace('b-w') : image).raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: info.channels };
}

test('sampleIndices takes the first images of each class in order, fewer when a class has fewer, none for an empty class', () => {
  const labels = Uint8Array.from([2, 0, 0, 2, 0, 2, 0, 2]);
  assert.deepEqual(sampleIndices(labels, 3, 3), [[1, 2, 4], [], [0, 3, 5]]);
  assert.deepEqual(sampleIndices(labels, 3, 8), [[1, 2, 4, 6], [], [0, 3, 5, 7]]);
});

test('class names become one safe path segment', () => {
  assert.equal(safeClassName('T-shirt/top'), 'T-shirt_top');
  assert.equal(safeClassName('Ankle boot'), 'Ankle_boot');
  assert.equal(safeClassName('../etc'), '.._etc');
  assert.equal(safeClassName('日本'), '_');
});

test('gray samples: the decoded PNG pixels equal the original bytes (Fashion-MNIST normalization)', async () => {
  const labels = [0, 1, 0, 1, 1, 0, 1];
  const { set, bytes } = imageSet(labels, 28, 28, 1, FASHION_MNIST_MEAN, FASHION_MNIST_STD);
  const samples = await datasetSamples({ train: set, classNames: ['T-shirt/top', 'Trouser'], normalization: { mean: FASHION_MNIST_MEAN, std: FASHION_MNIST_STD } }, 2);
  assert.deepEqual(
    samples.map((s) => [s.label, s.ordinal, s.index, s.path]),
    [
      [0, 0, 0, 'samples/0_T-shirt_top/0.png'],
      [0, 1, 2, 'samples/0_T-shirt_top/1.png'],
      [1, 0, 1, 'samples/1_Trouser/0.png'],
      [1, 1, 3, 'samples/1_Trouser/1.png'],
    ],
  );
  for (const sample of samples) {
    assert.equal(pngColorType(sample.png), 0, 'a gray PNG');
    const decoded = await decodePng(sample.png);
    assert.deepEqual([decoded.width, decoded.height, decoded.channels], [28, 28, 1], 'at the dataset size');
    assert.deepEqual(decoded.data, bytes.subarray(sample.index * 784, (sample.index + 1) * 784), `sample ${sample.path}`);
  }
});

test('RGB samples: the decoded PNG pixels equal the original HWC bytes (a computed normalization)', async () => {
  const { set, bytes } = imageSet([1, 0, 1], 5, 7, 3, 0.41, 0.27);
  const samples = await datasetSamples({ train: set, classNames: ['cat', 'dog'], normalization: { mean: 0.41, std: 0.27 } });
  assert.equal(samples.length, 3, 'every image, fewer than 8 per class');
  for (const sample of samples) {
    assert.equal(pngColorType(sample.png), 2, 'an RGB PNG');
    const decoded = await decodePng(sample.png);
    assert.deepEqual([decoded.width, decoded.height, decoded.channels], [7, 5, 3], 'width 7, height 5, three channels');
    assert.deepEqual(decoded.data, bytes.subarray(sample.index * 105, (sample.index + 1) * 105), `sample ${sample.path}`);
  }
});

test('imageBytes refuses an index outside the set; encodePng refuses a shape the pixels do not fill', async () => {
  const { set } = imageSet([0], 2, 2, 1, 0.5, 0.5);
  assert.throws(() => imageBytes(set, 1, { mean: 0.5, std: 0.5 }), /index 1 is not in 0\.\.0/);
  await assert.rejects(encodePng(new Uint8Array(5), { height: 2, width: 2, channels: 1 }), /5 bytes for 2x2x1/);
  await assert.rejects(encodePng(new Uint8Array(8), { height: 2, width: 2, channels: 2 }), /gray \(1\) or RGB \(3\)/);
});
