/**
 * imaging/decode — image bytes → 8-bit pixels of a fixed size and colour mode. This is the one
 * conversion that both training (data: decoding a user's image folder) and serving (serve:
 * decoding an upload) run, so that a model sees at serving time exactly the pixels it learned on.
 *
 * An 8-bit gray PNG already at the target size is decoded in JavaScript (imaging/png:
 * microseconds); everything else goes to sharp (libvips, on libuv's thread pool), loaded on first
 * use. Images are flattened onto `background`, converted to gray (luma) or sRGB, and resized to
 * exactly H x W, ignoring the aspect ratio, like Keras' `image_dataset_from_directory` and
 * torchvision's `Resize((h, w))`. Only raster formats are accepted (PNG, JPEG, WebP, GIF, TIFF,
 * AVIF); sharp's pixel limit refuses decompression bombs before any pixel is decoded.
 *
 * Errors are ImageError with a stable code; serve words them as HTTP 400/415, data names the file.
 */
import type sharpType from 'sharp';
import type { Sharp } from 'sharp';
import { decodeGrayPngFast, PNG_SIGNATURE } from './png.js';

export const ACCEPTED_FORMATS = ['png', 'jpeg', 'webp', 'gif', 'tiff', 'avif'] as const;
export type ImageFormat = (typeof ACCEPTED_FORMATS)[number];
/** Default pixel limit: 40 megapixels (sharp's own default is 268 MP). */
export const DEFAULT_PIXEL_LIMIT = 40_000_000;

export type ImageErrorCode = 'EMPTY_FILE' | 'UNSUPPORTED_IMAGE_FORMAT' | 'IMAGE_TOO_LARGE' | 'INVALID_IMAGE';

export class ImageError extends Error {
  constructor(
    readonly code: ImageErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ImageError';
  }
}

let sharpModule: Promise<typeof sharpType> | null = null;
/** sharp (and libvips, tens of megabytes) loads only when an image needs it. */
export function loadSharp(): Promise<typeof sharpType> {
  sharpModule ??= import('sharp').then(({ default: sharp }) => {
    sharp.cache(false);
    return sharp;
  });
  return sharpModule;
}

const startsWith = (bytes: Uint8Array, prefix: readonly number[], at = 0): boolean => prefix.every((b, i) => bytes[at + i] === b);

/** The accepted format that `bytes` starts like (its magic number), or null. */
export function sniffFormat(bytes: Uint8Array): ImageFormat | null {
  if (startsWith(bytes, PNG_SIGNATURE)) return 'png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) && startsWith(bytes, [0x57, 0x45, 0x42, 0x50], 8)) return 'webp';
  if (startsWith(bytes, [0x47, 0x49, 0x46, 0x38])) return 'gif';
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  // ISO-BMFF 'ftyp' box with an AVIF brand.
  if (startsWith(bytes, [0x66, 0x74, 0x79, 0x70], 4) && /^avi[fs]$/.test(String.fromCharCode(...bytes.subarray(8, 12)))) return 'avif';
  return null;
}

/** Opens bytes with sharp, refusing formats Kiln does not accept, and turning sharp's errors into ImageError. */
export async function withSharp<T>(bytes: Uint8Array, pixelLimit: number, run: (image: Sharp) => Promise<T>): Promise<T> {
  if (bytes.length === 0) throw new ImageError('EMPTY_FILE', 'the image is empty');
  const sharp = await loadSharp();
  try {
    const image = sharp(bytes, { limitInputPixels: pixelLimit, failOn: 'warning', animated: false });
    // An accepted format is known from its first bytes; only other files cost a metadata() call,
    // to tell an image of a refused format (415) from something that is no image at all (400).
    if (sniffFormat(bytes) === null) {
      const meta = await image.metadata();
      const format = meta.format === 'heif' && meta.compression === 'av1' ? 'avif' : meta.format;
      if (!format || !(ACCEPTED_FORMATS as readonly string[]).includes(format)) {
        throw new ImageError('UNSUPPORTED_IMAGE_FORMAT', `image format ${meta.format ?? 'unknown'} is not accepted (use ${ACCEPTED_FORMATS.join(', ')})`);
      }
    }
    return await run(image);
  } catch (error) {
    if (error instanceof ImageError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    if (/pixel limit/i.test(message)) throw new ImageError('IMAGE_TOO_LARGE', `the image has more pixels than the limit (${pixelLimit}): ${message}`);
    throw new ImageError('INVALID_IMAGE', `the file is not a readable image: ${message}`);
  }
}

export interface FixedSize {
  height: number;
  width: number;
  /** 1: gray (luma), 3: sRGB. */
  channels: 1 | 3;
  /** What transparency is flattened onto (default black, the Fashion-MNIST background). */
  background?: 'black' | 'white';
  pixelLimit?: number;
  /** false skips the JavaScript PNG path (tests compare it with sharp). */
  fastPng?: boolean;
}

/**
 * Decodes any accepted image to `height * width * channels` bytes (HWC, row-major).
 *
 * @example
 * const pixels = await decodeFixed(await readFile('cat.jpg'), { height: 32, width: 32, channels: 3 });
 * pixels.length; // 3072
 */
export async function decodeFixed(bytes: Uint8Array, size: FixedSize): Promise<Uint8Array> {
  const { height, width, channels } = size;
  if (channels === 1 && size.fastPng !== false) {
    const fast = decodeGrayPngFast(bytes, width, height);
    if (fast) return fast;
  }
  const background = size.background === 'white' ? '#ffffff' : '#000000';
  const pixels = await withSharp(bytes, size.pixelLimit ?? DEFAULT_PIXEL_LIMIT, (image) => {
    const flat = image.flatten({ background });
    const coloured = channels === 1 ? flat.grayscale() : flat.toColourspace('srgb');
    const sized = coloured.resize(width, height, { fit: 'fill' });
    return (channels === 1 ? sized.extractChannel(0) : sized.removeAlpha()).raw().toBuffer();
  });
  if (pixels.length !== width * height * channels) {
    throw new ImageError('INVALID_IMAGE', `decoded ${pixels.length} values, expected ${width}x${height}x${channels}`);
  }
  return pixels;
}

/** Width, height, channel count and format of an image, without decoding its pixels. */
export async function probeImage(bytes: Uint8Array, pixelLimit = DEFAULT_PIXEL_LIMIT): Promise<{ width: number; height: number; gray: boolean; format: string }> {
  return withSharp(bytes, pixelLimit, async (image) => {
    const meta = await image.metadata();
    if (!meta.width || !meta.height) throw new ImageError('INVALID_IMAGE', 'the image has no dimensions');
    const gray = meta.space === 'b-w' || meta.channels === 1 || (meta.channels === 2 && meta.hasAlpha === true);
    return { width: meta.width, height: meta.height, gray, format: meta.format ?? 'unknown' };
  });
}
