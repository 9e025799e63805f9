/**
 * data/batches — the epoch iterator.
 *
 * `batches(set, options)` visits every image exactly once per epoch (seeded shuffle when
 * `shuffle`), yielding { x, y, size } with x = size*height*width*channels floats (HWC) and y = size labels; the
 * last partial batch is included unless `dropLast`.
 *
 * Buffers: by default ONE x/y buffer pair is allocated per call and REUSED for every batch — a
 * yielded batch is valid only until the next one is requested (the trainer copies it into a
 * tensor straight away). For the last partial batch x and y are views of the leading part of
 * those buffers. Pass `fresh: true` to get newly allocated arrays per batch instead. Either way
 * x is a copy, never a view of `set.images`, so it may be augmented in place (see `augment`).
 */
import { Random } from '../common/random.js';
import { augmentBatch, type AugmentOptions } from './augment.js';
import type { ImageSet } from './dataset.js';

export interface Batch {
  x: Float32Array;
  y: Uint8Array;
  size: number;
}

export interface BatchOptions {
  batchSize: number;
  shuffle: boolean;
  /** Seed for the shuffle (required when shuffle is true, unless `rng` is given). */
  seed?: number;
  /** Generator for the shuffle (and augmentation), e.g. one fork per epoch; takes precedence over `seed`. */
  rng?: Random;
  /** Drop a last batch smaller than batchSize. Default false. */
  dropLast?: boolean;
  /** Allocate new arrays per batch instead of reusing one buffer pair. Default false. */
  fresh?: boolean;
  /**
   * Augment each batch in place after gathering it (uses the same generator, after the shuffle).
   * Height, width and channels come from the set; `fill` should be the set's normalized black.
   */
  augment?: AugmentOptions;
}

/** Index order for one epoch: 0..count-1, shuffled when asked. */
export function epochOrder(count: number, shuffle: boolean, rng?: Random): Uint32Array {
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  if (shuffle) {
    if (!rng) throw new TypeError('batches: shuffle needs a seed (or an rng); Kiln never shuffles unseeded');
    rng.shuffle(order);
  }
  return order;
}

export function* batches(set: ImageSet, options: BatchOptions): Generator<Batch> {
  const { batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new RangeError(`batches: batchSize must be a positive integer, got ${batchSize}`);
  const rng = options.rng ?? (options.seed !== undefined ? new Random(options.seed) : undefined);
  if (options.augment && !rng) throw new TypeError('batches: augmentation needs a seed (or an rng)');
  const order = epochOrder(set.count, options.shuffle, rng);
  const size = set.height * set.width * set.channels;
  const images = set.images;
  const labels = set.labels;
  const capacity = Math.min(batchSize, set.count);
  const xShared = options.fresh ? new Float32Array(0) : new Float32Array(capacity * size);
  const yShared = options.fresh ? new Uint8Array(0) : new Uint8Array(capacity);
  for (let start = 0; start < set.count; start += batchSize) {
    const n = Math.min(batchSize, set.count - start);
    if (n < batchSize && options.dropLast) return;
    let x: Float32Array;
    let y: Uint8Array;
    if (options.fresh) {
      x = new Float32Array(n * size);
      y = new Uint8Array(n);
    } else {
      x = n === capacity ? xShared : xShared.subarray(0, n * size);
      y = n === capacity ? yShared : yShared.subarray(0, n);
    }
    for (let k = 0; k < n; k++) {
      const i = order[start + k];
      x.set(images.subarray(i * size, i * size + size), k * size);
      y[k] = labels[i];
    }
    if (options.augment && rng) augmentBatch(x, n, { ...options.augment, height: set.height, width: set.width, channels: set.channels }, rng);
    yield { x, y, size: n };
  }
}
