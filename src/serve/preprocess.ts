/**
 * serve/preprocess — image bytes or pixel arrays → the model's input, as kiln-model.json says:
 * grayscale, resized to [H, W], optionally inverted, then x' = (x * scale - mean) / std.
 *
 * Two paths (the model's `preprocessing.mode`, or a request's `?preprocess=`): 'dataset' takes the
 * image as it is; 'photo' converts a product photo the way Fashion-MNIST was made (serve/photo);
 * 'auto' picks per image. An 8-bit grayscale PNG already at the input size is decoded in place
 * (serve/png: microseconds, bounded work); photos are decoded small (serve/jpeg, or sharp's
 * shrink-on-load); everything else goes to sharp (libvips on libuv's thread pool, so it never
 * blocks the event loop), loaded on first use. Only raster formats are accepted (PNG, JPEG, WebP, GIF,
 * TIFF); sharp's pixel limit refuses decompression bombs and absurd dimensions before any pixel
 * is decoded.
 */
import type sharpType from 'sharp';
import type { Sharp } from 'sharp';
import type { PreprocessMode, Preprocessing } from '../models/metadata.js';
import { badRequest, ServeError } from './errors.js';
import { decodeJpegScaled, type Raster } from './jpeg.js';
import { looksLikePhoto, photoToDataset } from './photo.js';
import { decodeGrayPngFast, PNG_SIGNATURE } from './png.js';

export const ACCEPTED_FORMATS = ['png', 'jpeg', 'webp', 'gif', 'tiff'] as const;
/** Default pixel limit: 40 megapixels (sharp's own default is 268 MP). */
export const DEFAULT_PIXEL_LIMIT = 40_000_000;

let sharpModule: Promise<typeof sharpType> | null = null;
/** sharp (and libvips, tens of megabytes) loads only when an image needs it. */
function loadSharp(): Promise<typeof sharpType> {
  sharpModule ??= import('sharp').then(({ default: sharp }) => {
    sharp.cache(false);
    return sharp;
  });
  return sharpModule;
}

const startsWith = (bytes: Uint8Array, prefix: readonly number[], at = 0): boolean => prefix.every((b, i) => bytes[at + i] === b);

/** The accepted format that `bytes` starts like (its magic number), or null. */
export function sniffFormat(bytes: Uint8Array): (typeof ACCEPTED_FORMATS)[number] | null {
  if (startsWith(bytes, PNG_SIGNATURE)) return 'png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) && startsWith(bytes, [0x57, 0x45, 0x42, 0x50], 8)) return 'webp';
  if (startsWith(bytes, [0x47, 0x49, 0x46, 0x38])) return 'gif';
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  return null;
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
 * Decodes an image and writes its normalized pixels into `out` at `offset`. `mode` overrides
 * the model's `preprocessing.mode` (a request's `?preprocess=`); the answer says which path ran.
 *
 * 'auto' looks at the image first (serve/photo looksLikePhoto: a light border at least as light
 * as the centre means a photo). A dataset-form image (an 8-bit gray PNG at the model's size on a
 * dark background) is decided on the pixels the PNG fast path already decoded, so it keeps that
 * path and exactly the answer 'dataset' gives.
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
  const [height, width] = pre.size;
  let pixels: Uint8Array | null = null;
  let path: PreprocessPath = 'dataset';
  if (mode === 'dataset') {
    pixels = decodeGrayPngFast(bytes, width, height) ?? (await decodeWithSharp(bytes, pre, pixelLimit));
  } else {
    const small = decodeGrayPngFast(bytes, width, height);
    const raster: Raster = small ? { data: small, width, height, channels: 1 } : await decodeRaster(bytes, Math.max(width, height) * PROBE_FACTOR, pixelLimit);
    if (mode === 'photo' || looksLikePhoto(raster)) {
      pixels = photoToDataset(raster, pre.size);
      path = 'photo';
    } else {
      pixels = small ?? (await decodeWithSharp(bytes, pre, pixelLimit));
    }
  }
  normalizePixels(pixels, pre, out, offset);
  return path;
}

/** The photo path decodes to about this many times the model's size before trimming. */
const PROBE_FACTOR = 4;

/** Opens bytes with sharp, refusing formats Kiln does not accept, and words sharp's errors as 4xx. */
async function withSharp<T>(bytes: Uint8Array, pixelLimit: number, run: (image: Sharp) => Promise<T>): Promise<T> {
  const sharp = await loadSharp();
  try {
    const image = sharp(bytes, { limitInputPixels: pixelLimit, failOn: 'warning', animated: false });
    // An accepted format is known from its first bytes; only other files cost a metadata() call,
    // to tell an image of a refused format (415) from something that is no image at all (400).
    if (sniffFormat(bytes) === null) {
      const meta = await image.metadata();
      if (!meta.format || !(ACCEPTED_FORMATS as readonly string[]).includes(meta.format)) {
        throw new ServeError(415, 'UNSUPPORTED_IMAGE_FORMAT', `image format ${meta.format ?? 'unknown'} is not accepted (use ${ACCEPTED_FORMATS.join(', ')})`);
      }
    }
    return await run(image);
  } catch (error) {
    if (error instanceof ServeError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    if (/pixel limit/i.test(message)) throw badRequest('IMAGE_TOO_LARGE', `the image has more pixels than the limit (${pixelLimit}): ${message}`);
    throw badRequest('INVALID_IMAGE', `the file is not a readable image: ${message}`);
  }
}

/** The general path: any accepted format → flattened, grayscale, resized 8-bit pixels. */
export async function decodeWithSharp(bytes: Uint8Array, pre: Preprocessing, pixelLimit = DEFAULT_PIXEL_LIMIT): Promise<Uint8Array> {
  const [height, width] = pre.size;
  const pixels = await withSharp(bytes, pixelLimit, (image) =>
    image
      .flatten({ background: pre.invert ? '#ffffff' : '#000000' })
      .grayscale()
      .resize(width, height, { fit: 'fill' })
      .extractChannel(0)
      .raw()
      .toBuffer(),
  );
  if (pixels.length !== width * height) throw badRequest('INVALID_IMAGE', `decoded ${pixels.length} pixels, expected ${width * height}`);
  return pixels;
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
  const { data, info } = await withSharp(bytes, pixelLimit, (image) =>
    image
      .rotate()
      .resize(longSide, longSide, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true }),
  );
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

/** Flattens a 784-value array, a [28][28] or a [28][28][1] nested array of 0–255 pixels. */
export function flattenPixels(value: unknown, expected: number, index: number): number[] {
  const flat = Array.isArray(value) ? (value as unknown[]).flat(3) : null;
  if (!flat || flat.length !== expected) {
    throw badRequest('WRONG_SIZE', `item ${index}: expected ${expected} pixel values, got ${flat ? flat.length : typeof value}`);
  }
  for (const v of flat) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 255) {
      throw badRequest('INVALID_PIXEL', `item ${index}: pixel values must be numbers in [0, 255], got ${JSON.stringify(v)}`);
    }
  }
  return flat as number[];
}
