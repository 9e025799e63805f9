/**
 * serve/preprocess — image bytes or pixel arrays → the model's input, as kiln-model.json says:
 * gray (luma) or RGB, resized to [H, W], optionally inverted, then x' = (x * scale - mean) / std.
 *
 * Two paths (the model's `preprocessing.mode`, or a request's `?preprocess=`): 'dataset' takes the
 * image as it is, decoded by imaging/decode's decodeFixed, the very function training decoded the
 * dataset with, so a model sees the pixels it learned on (an 8-bit gray PNG already at a gray
 * model's size is decoded in place there: microseconds, bounded work); 'photo' converts a product
 * photo the way Fashion-MNIST was made (serve/photo), a grayscale conversion that applies to gray
 * models only: an RGB model answers 'auto' with 'dataset' and refuses 'photo' (400
 * PREPROCESS_UNSUPPORTED); 'auto' picks per image. Photos are decoded small (imaging/jpeg, or
 * sharp's shrink-on-load); sharp (libvips on libuv's thread pool, so it never blocks the event
 * loop) is loaded on first use. Only raster formats are accepted (PNG, JPEG, WebP, GIF, TIFF,
 * AVIF); sharp's pixel limit refuses decompression bombs and absurd dimensions before any pixel
 * is decoded.
 */
import type { PreprocessMode, Preprocessing } from '../models/metadata.js';
import { DEFAULT_PIXEL_LIMIT, decodeFixed, ImageError, sniffFormat, withSharp } from '../imaging/decode.js';
import { decodeJpegScaled, type Raster } from '../imaging/jpeg.js';
import { decodeGrayPngFast } from '../imaging/png.js';
import { badRequest, ServeError } from './errors.js';
import { looksLikePhoto, photoToDataset } from './photo.js';

export { ACCEPTED_FORMATS, DEFAULT_PIXEL_LIMIT, sniffFormat } from '../imaging/decode.js';

/** An imaging error as the API words it: a refused format is 415, anything else unreadable 400. */
function asServeError(error: unknown): unknown {
  if (!(error instanceof ImageError)) return error;
  return error.code === 'UNSUPPORTED_IMAGE_FORMAT' ? new ServeError(415, error.code, error.message) : badRequest(error.code, error.message);
}

async function worded<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw asServeError(error);
  }
}

/** Normalizes 0–255 pixel values into `out` at `offset`. */
export function normalizePixels(pixels: ArrayLike<number>, pre: Preprocessing, out: Float32Array, offset = 0): void {
  const { scale, mean, std, invert } = pre;
  for (let i = 0; i < pixels.length; i++) {
    const p = invert ? 255 - pixels[i]! : pixels[i]!;
    out[offset + i] = (p * scale - mean) / std;
  }
}

/** Which preprocessing ran for one image. */
export type PreprocessPath = 'dataset' | 'photo';

/**
 * The preprocessing an image file gets on a model: the photo conversion makes Fashion-MNIST-style
 * gray images, so on an RGB model 'auto' is 'dataset' and 'photo' is a 400 naming the model's input.
 */
export function effectiveMode(mode: PreprocessMode, pre: Preprocessing): PreprocessMode {
  if (pre.colorMode !== 'rgb' || mode === 'dataset') return mode;
  if (mode === 'auto') return 'dataset';
  const [height, width] = pre.size;
  throw badRequest(
    'PREPROCESS_UNSUPPORTED',
    `preprocess=photo converts product photos to grayscale Fashion-MNIST-style images; this model takes ${height}x${width} RGB images, so use preprocess=dataset (or auto, which means dataset here)`,
  );
}

/**
 * Decodes an image and writes its normalized pixels into `out` at `offset`. `mode` overrides
 * the model's `preprocessing.mode` (a request's `?preprocess=`); the answer says which path ran.
 *
 * 'auto' (gray models) looks at the image first (serve/photo looksLikePhoto: a light border at
 * least as light as the centre means a photo). A dataset-form image (an 8-bit gray PNG at the
 * model's size on a dark background) is decided on the pixels the PNG fast path already decoded,
 * so it keeps that path and exactly the answer 'dataset' gives.
 */
export async function decodeImage(
  bytes: Uint8Array,
  pre: Preprocessing,
  out: Float32Array,
  offset = 0,
  pixelLimit = DEFAULT_PIXEL_LIMIT,
  mode: PreprocessMode = pre.mode ?? 'dataset',
): Promise<PreprocessPath> {
  if (bytes.length === 0) throw badRequest('EMPTY_FILE', 'the image is empty');
  const resolved = effectiveMode(mode, pre);
  const [height, width] = pre.size;
  let pixels: Uint8Array | null = null;
  let path: PreprocessPath = 'dataset';
  if (resolved === 'dataset') {
    pixels = await decodeWithSharp(bytes, pre, pixelLimit);
  } else {
    const small = decodeGrayPngFast(bytes, width, height);
    const raster: Raster = small ? { data: small, width, height, channels: 1 } : await decodeRaster(bytes, Math.max(width, height) * PROBE_FACTOR, pixelLimit);
    if (resolved === 'photo' || looksLikePhoto(raster)) {
      pixels = photoToDataset(raster, pre.size);
      path = 'photo';
    } else {
      pixels = small ?? (await decodeWithSharp(bytes, pre, pixelLimit));
    }
  }
  const expected = height * width * (pre.colorMode === 'rgb' ? 3 : 1);
  if (pixels.length !== expected) throw new Error(`decoding gave ${pixels.length} values for a ${height}x${width} ${pre.colorMode} input of ${expected}`);
  normalizePixels(pixels, pre, out, offset);
  return path;
}

/** The photo path decodes to about this many times the model's size before trimming. */
const PROBE_FACTOR = 4;

/**
 * The dataset path: any accepted format → the model's size and colour mode, exactly as training
 * decoded its images (imaging/decode decodeFixed: its gray-PNG fast path, else sharp).
 */
export function decodeWithSharp(bytes: Uint8Array, pre: Preprocessing, pixelLimit = DEFAULT_PIXEL_LIMIT): Promise<Uint8Array> {
  const [height, width] = pre.size;
  const channels = pre.colorMode === 'rgb' ? 3 : 1;
  return worded(decodeFixed(bytes, { height, width, channels, background: pre.invert ? 'white' : 'black', pixelLimit }));
}

/**
 * Any accepted image → an sRGB raster whose longer side is about `longSide` (never enlarged):
 * JPEGs through TurboJPEG's DCT scaling (serve/jpeg), everything else, and JPEGs that path
 * declines, through sharp with shrink-on-load, its EXIF orientation applied and transparency
 * flattened onto white (a cut-out product is a product on a white backdrop).
 */
export async function decodeRaster(bytes: Uint8Array, longSide: number, pixelLimit = DEFAULT_PIXEL_LIMIT): Promise<Raster> {
  if (sniffFormat(bytes) === 'jpeg') {
    const fast = await decodeJpegScaled(bytes, longSide, pixelLimit);
    if (fast) return fast;
  }
  const { data, info } = await worded(withSharp(bytes, pixelLimit, (image) =>
    image
      .rotate()
      .resize(longSide, longSide, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true }),
  ));
  if (info.channels !== 3 || data.length !== info.width * info.height * 3) throw badRequest('INVALID_IMAGE', `decoded ${info.channels} channels, expected RGB`);
  return { data, width: info.width, height: info.height, channels: 3 };
}

/** Decodes base64 (plain or a data: URL) into bytes, or throws a 400. */
export function decodeBase64(text: string, index: number): Buffer {
  const body = text.startsWith('data:') ? text.slice(text.indexOf(',') + 1) : text;
  if (!/^[A-Za-z0-9+/_\-\s]*={0,2}\s*$/.test(body)) throw badRequest('INVALID_BASE64', `item ${index}: not valid base64`);
  const bytes = Buffer.from(body, 'base64');
  if (bytes.length === 0) throw badRequest('EMPTY_FILE', `item ${index}: empty image`);
  return bytes;
}
