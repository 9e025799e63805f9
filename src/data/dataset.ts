/**
 * data/dataset — Fashion-MNIST as in-memory image sets, and the seeded train/validation split.
 *
 * An ImageSet holds `count` images as one normalized Float32Array (count*height*width, row-major,
 * image after image) and their labels as a Uint8Array. `loadFashionMnist` resolves and verifies the
 * four files (see sources.ts), checks that images and labels agree, and normalizes the pixels.
 */
import { DataError, fixes } from './errors.js';
import { FASHION_MNIST_FILES, type FashionMnistFile } from './checksums.js';
import { CLASS_NAMES, FASHION_MNIST_NORMALIZATION, NUM_CLASSES, normalizePixels } from './normalize.js';
import { obtainFile, type SourceOptions, type VerifiedFile } from './sources.js';
import { Random } from '../common/random.js';

export interface ImageSet {
  /** Normalized pixels, count*height*width*channels float32, image-major, then row-major, channels last (HWC). */
  images: Float32Array;
  /** Class index 0..9 per image. */
  labels: Uint8Array;
  count: number;
  height: number;
  width: number;
  /** 1 (gray) or 3 (RGB). */
  channels: number;
}

export interface FashionMnist {
  /** The canonical 60,000-image training set (split it with splitTrainValidation). */
  train: ImageSet;
  /** The canonical 10,000-image test set. */
  test: ImageSet;
  /** file -> verified sha256 of its decompressed IDX bytes. */
  sha256: Record<string, string>;
  /** file -> path it was read from (a download's cache path for downloads). */
  sources: Record<string, string>;
  /** file -> which source provided it ('dataDir' | 'debian' | 'cache' | 'download'). */
  sourceKinds: Record<string, string>;
  classNames: readonly string[];
  normalization: typeof FASHION_MNIST_NORMALIZATION;
}

export type LoadOptions = SourceOptions;

/** Loads, verifies and normalizes Fashion-MNIST. Throws DataError when a file can't be found or verified. */
export async function loadFashionMnist(options: LoadOptions = {}): Promise<FashionMnist> {
  const settled = await Promise.allSettled(FASHION_MNIST_FILES.map((file) => obtainFile(file, options)));
  const files = {} as Record<FashionMnistFile, VerifiedFile>;
  for (let i = 0; i < settled.length; i++) {
    const result = settled[i];
    // Report the first failing file in canonical order, so the error is deterministic.
    if (result.status === 'rejected') throw result.reason;
    files[FASHION_MNIST_FILES[i]] = result.value;
  }
  const train = toImageSet(files['train-images-idx3-ubyte'], files['train-labels-idx1-ubyte']);
  const test = toImageSet(files['t10k-images-idx3-ubyte'], files['t10k-labels-idx1-ubyte']);
  const sha256: Record<string, string> = {};
  const sources: Record<string, string> = {};
  const sourceKinds: Record<string, string> = {};
  for (const file of FASHION_MNIST_FILES) {
    sha256[file] = files[file].sha256;
    sources[file] = files[file].path;
    sourceKinds[file] = files[file].source;
  }
  return { train, test, sha256, sources, sourceKinds, classNames: CLASS_NAMES, normalization: FASHION_MNIST_NORMALIZATION };
}

function toImageSet(images: VerifiedFile, labels: VerifiedFile): ImageSet {
  if (images.idx.count !== labels.idx.count) {
    throw new DataError(
      'KILN_ERR_DATA_FORMAT',
      labels.path,
      `${images.path} and ${labels.path} disagree: expected as many labels as images (${images.idx.count}), found ${labels.idx.count} labels.` +
        fixes(['export KILN_DATA_DIR=/path/to/folder    # a folder holding a matching set of the four files']),
    );
  }
  const labelBytes = labels.idx.data;
  for (let i = 0; i < labelBytes.length; i++) {
    if (labelBytes[i] >= NUM_CLASSES) {
      throw new DataError(
        'KILN_ERR_DATA_FORMAT',
        labels.path,
        `${labels.path}: label ${i} is ${labelBytes[i]}, expected a class index below ${NUM_CLASSES}.` +
          fixes([`rm ${labels.path}    # delete the bad file, then run again`]),
      );
    }
  }
  return {
    images: normalizePixels(images.idx.data),
    labels: new Uint8Array(labelBytes), // own copy, detached from the decompressed buffer
    count: images.idx.count,
    height: images.idx.rows,
    width: images.idx.cols,
    channels: 1,
  };
}

/** A new ImageSet holding copies of the given images, in the given order. */
export function subsetImageSet(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const size = set.height * set.width * set.channels;
  const images = new Float32Array(indices.length * size);
  const labels = new Uint8Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    if (!(i >= 0 && i < set.count)) throw new RangeError(`subsetImageSet: index ${i} out of range 0..${set.count - 1}`);
    images.set(set.images.subarray(i * size, (i + 1) * size), k * size);
    labels[k] = set.labels[i];
  }
  return { images, labels, count: indices.length, height: set.height, width: set.width, channels: set.channels };
}

export interface SplitResult {
  train: ImageSet;
  validation: ImageSet;
  /** Indices into the input set (ascending), for recording/reproducing the split. */
  trainIndices: Uint32Array;
  validationIndices: Uint32Array;
}

/**
 * Seeded split of a set into train and validation (default 5,000 validation images, so the
 * canonical 60,000 give 55,000 / 5,000). The same seed always gives the same split. Both parts
 * keep the input's relative order; shuffling is the batch iterator's job.
 */
export function splitTrainValidation(set: ImageSet, options: { validationSize?: number; seed: number }): SplitResult {
  const validationSize = options.validationSize ?? 5000;
  if (!Number.isInteger(validationSize) || validationSize < 0 || validationSize > set.count) {
    throw new RangeError(`splitTrainValidation: validationSize must be an integer in 0..${set.count}, got ${validationSize}`);
  }
  if (!Number.isFinite(options.seed)) throw new TypeError('splitTrainValidation: a numeric seed is required');
  const { trainIndices, validationIndices } = splitIndices(set.count, validationSize, options.seed);
  return {
    train: subsetImageSet(set, trainIndices),
    validation: subsetImageSet(set, validationIndices),
    trainIndices,
    validationIndices,
  };
}

/**
 * The indices of splitTrainValidation alone (ascending), without copying images: which of
 * `count` items a seed puts in validation (e.g. to render exactly the images a model never
 * trained on).
 */
export function splitIndices(count: number, validationSize: number, seed: number): { trainIndices: Uint32Array; validationIndices: Uint32Array } {
  const order = new Uint32Array(count);
  for (let i = 0; i < order.length; i++) order[i] = i;
  new Random(seed).shuffle(order);
  return { validationIndices: order.slice(0, validationSize).sort(), trainIndices: order.slice(validationSize).sort() };
}

/** Count of each label (length NUM_CLASSES). */
export function labelHistogram(labels: Uint8Array, classes = NUM_CLASSES): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (let i = 0; i < labels.length; i++) counts[labels[i]]++;
  return counts;
}
