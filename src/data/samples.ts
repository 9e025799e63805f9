/**
 * data/samples — a few images of each class, as PNG files a person can look at: what the web UI
 * shows beside a run's dataset input, so a reviewer sees the data a model learnt from, not only
 * its digest.
 *
 * The images come back out of the normalized tensors training uses (not from the source files),
 * so a sample shows exactly what the model was fed after decoding and resizing. The choice is
 * deterministic: the first `perClass` images of each class in the split's order, so the same
 * dataset always gives the same samples.
 */
import type { ImageSet } from './dataset.js';
import type { Normalization } from './labelled.js';
import { denormalizePixels } from './normalize.js';
import { loadSharp } from '../imaging/decode.js';

export const DEFAULT_SAMPLES_PER_CLASS = 8;

/** One sample image, encoded, with the artifact path it is logged under (below `dataset/`). */
export interface SampleImage {
  label: number;
  className: string;
  /** 0-based position among its class's samples. */
  ordinal: number;
  /** Index of the image in the ImageSet it was taken from. */
  index: number;
  /** `samples/<label>_<safe class name>/<ordinal>.png` */
  path: string;
  png: Buffer;
}

/** The part of a LabelledDataset that samples are drawn from. */
export interface SampleSource {
  train: ImageSet;
  classNames: readonly string[];
  normalization: Normalization;
}

/** A class name as one portable path segment: anything but letters, digits, '.', '-' and '_' becomes '_'. */
export function safeClassName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 64);
  return safe === '' ? '_' : safe;
}

/** The folder of a class's samples, below `dataset/`: e.g. `samples/0_T-shirt_top`. */
export function sampleFolder(label: number, className: string): string {
  return `samples/${label}_${safeClassName(className)}`;
}

/** Per class (label order), the indices of its first `perClass` images in `labels`. */
export function sampleIndices(labels: Uint8Array, classes: number, perClass: number): number[][] {
  const chosen: number[][] = Array.from({ length: classes }, () => []);
  let full = 0;
  for (let i = 0; i < labels.length && full < classes; i++) {
    const list = chosen[labels[i]];
    // Labels beyond the class list are the source's bug, not a reason to fail a run's logging.
    if (list === undefined || list.length >= perClass) continue;
    list.push(i);
    if (list.length === perClass) full++;
  }
  return chosen;
}

/** Image `index` of `set` back as 8-bit HWC pixels (the inverse of the normalization, rounded). */
export function imageBytes(set: ImageSet, index: number, normalization: Normalization): Uint8Array {
  const size = set.height * set.width * set.channels;
  if (!Number.isInteger(index) || index < 0 || index >= set.count) throw new RangeError(`imageBytes: index ${index} is not in 0..${set.count - 1}`);
  return denormalizePixels(set.images.subarray(index * size, (index + 1) * size), normalization.mean, normalization.std);
}

/** 8-bit HWC pixels (1 channel gray, 3 RGB) as a PNG file. */
export async function encodePng(pixels: Uint8Array, shape: { height: number; width: number; channels: number }): Promise<Buffer> {
  const { height, width, channels } = shape;
  if (channels !== 1 && channels !== 3) throw new RangeError(`encodePng: ${channels} channels; samples are gray (1) or RGB (3)`);
  if (pixels.length !== height * width * channels) throw new RangeError(`encodePng: ${pixels.length} bytes for ${height}x${width}x${channels}`);
  const sharp = await loadSharp();
  const image = sharp(pixels, { raw: { width, height, channels } });
  // Without it libvips writes one channel as an RGB PNG: three times the bytes, and no longer gray.
  return (channels === 1 ? image.toColourspace('b-w') : image).png().toBuffer();
}

/** Up to `perClass` sample images of every class from the train split, encoded as PNG. */
export async function datasetSamples(source: SampleSource, perClass = DEFAULT_SAMPLES_PER_CLASS): Promise<SampleImage[]> {
  const set = source.train;
  const out: SampleImage[] = [];
  const indices = sampleIndices(set.labels, source.classNames.length, perClass);
  for (let label = 0; label < indices.length; label++) {
    const className = source.classNames[label];
    for (let ordinal = 0; ordinal < indices[label].length; ordinal++) {
      const index = indices[label][ordinal];
      const png = await encodePng(imageBytes(set, index, source.normalization), set);
      out.push({ label, className, ordinal, index, path: `${sampleFolder(label, className)}/${ordinal}.png`, png });
    }
  }
  return out;
}
