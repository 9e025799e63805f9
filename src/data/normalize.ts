/**
 * data/normalize — the fixed pixel normalization and class names of Fashion-MNIST.
 *
 * Every pixel byte x becomes (x/255 - MEAN)/STD as a float32. The constants are exported (and
 * `FASHION_MNIST_NORMALIZATION` bundles them) so model metadata can record exactly what a model
 * was trained on and serving can apply the same transform to incoming images.
 */
export const FASHION_MNIST_MEAN = 0.286;
export const FASHION_MNIST_STD = 0.353;
export const IMAGE_HEIGHT = 28;
export const IMAGE_WIDTH = 28;
export const IMAGE_SIZE = IMAGE_HEIGHT * IMAGE_WIDTH;

/** Label index → name, as zalandoresearch/fashion-mnist defines them (7 is Sneaker, 8 is Bag). */
export const CLASS_NAMES: readonly string[] = Object.freeze([
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
]);
export const NUM_CLASSES = CLASS_NAMES.length;

/** What to store in model metadata. */
export const FASHION_MNIST_NORMALIZATION = Object.freeze({
  formula: '(x/255 - mean)/std',
  scale: 255,
  mean: FASHION_MNIST_MEAN,
  std: FASHION_MNIST_STD,
});

/** Normalizes one pixel value in [0, 255]. */
export function normalizePixel(x: number, mean = FASHION_MNIST_MEAN, std = FASHION_MNIST_STD): number {
  return (x / 255 - mean) / std;
}

/** The normalized value of a black (0) pixel: the background, used as fill by augmentation. */
export const NORMALIZED_ZERO = Math.fround(normalizePixel(0));

/** Normalizes raw pixel bytes into a new (or the given) Float32Array; a 256-entry lookup table keeps it fast. */
export function normalizePixels(
  bytes: Uint8Array,
  out: Float32Array = new Float32Array(bytes.length),
  mean = FASHION_MNIST_MEAN,
  std = FASHION_MNIST_STD,
): Float32Array {
  if (out.length < bytes.length) throw new RangeError('normalizePixels: output too small');
  const table = new Float32Array(256);
  for (let v = 0; v < 256; v++) table[v] = normalizePixel(v, mean, std);
  for (let i = 0; i < bytes.length; i++) out[i] = table[bytes[i]];
  return out;
}

/** Inverse of normalizePixels, rounded and clamped to bytes (for previews and exports). */
export function denormalizePixels(values: Float32Array, mean = FASHION_MNIST_MEAN, std = FASHION_MNIST_STD): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Math.round((values[i] * std + mean) * 255);
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}
