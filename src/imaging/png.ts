/**
 * imaging/png — the fast path for the images this API sees most: an 8-bit grayscale PNG already at
 * the model's input size (a Fashion-MNIST image, or any client that preprocesses). Decoding one
 * in JavaScript takes microseconds; a round trip through sharp's thread pool costs milliseconds
 * per request and dominated the API's latency.
 *
 * The fast path is deliberately narrow, so that it answers exactly what sharp would: bit depth 8,
 * not interlaced, the exact target size, gray content (a gray PNG, or RGB/RGBA whose every pixel
 * has R = G = B: many encoders, sharp included, write gray images as RGB), fully opaque, and no
 * chunk that could change the pixels (transparency, gamma, colour profiles…). Every chunk's CRC
 * is checked and the inflated size is capped. Anything else, including any damage, returns null
 * and the caller falls back to sharp, which accepts every format and words every error.
 */
import { inflateSync } from 'node:zlib';
import { crc32 } from '../common/crc32.js';

/** The eight bytes every PNG file starts with. */
export const PNG_SIGNATURE: readonly number[] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Ancillary chunks that never change decoded pixel values. */
const HARMLESS_CHUNKS = new Set(['tEXt', 'zTXt', 'iTXt', 'tIME', 'pHYs']);

function chunkType(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);
}

/** Colour type → bytes per pixel at bit depth 8 (palette images, type 3, go to sharp). */
const CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 4: 2, 6: 4 };

/** Reverses PNG's per-row filters (`bpp` bytes per pixel). Returns false on an unknown filter. */
function unfilter(raw: Uint8Array, rowBytes: number, height: number, bpp: number, out: Uint8Array): boolean {
  const stride = rowBytes + 1;
  for (let y = 0; y < height; y++) {
    const filter = raw[y * stride]!;
    const row = y * stride + 1;
    const at = y * rowBytes;
    const up = at - rowBytes;
    switch (filter) {
      case 0:
        for (let x = 0; x < rowBytes; x++) out[at + x] = raw[row + x]!;
        break;
      case 1:
        for (let x = 0; x < rowBytes; x++) out[at + x] = (raw[row + x]! + (x >= bpp ? out[at + x - bpp]! : 0)) & 0xff;
        break;
      case 2:
        for (let x = 0; x < rowBytes; x++) out[at + x] = (raw[row + x]! + (y > 0 ? out[up + x]! : 0)) & 0xff;
        break;
      case 3:
        for (let x = 0; x < rowBytes; x++) {
          const left = x >= bpp ? out[at + x - bpp]! : 0;
          const above = y > 0 ? out[up + x]! : 0;
          out[at + x] = (raw[row + x]! + ((left + above) >> 1)) & 0xff;
        }
        break;
      case 4:
        for (let x = 0; x < rowBytes; x++) {
          const a = x >= bpp ? out[at + x - bpp]! : 0;
          const b = y > 0 ? out[up + x]! : 0;
          const c = x >= bpp && y > 0 ? out[up + x - bpp]! : 0;
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          const predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          out[at + x] = (raw[row + x]! + predictor) & 0xff;
        }
        break;
      default:
        return false;
    }
  }
  return true;
}

/** Gray values of unfiltered pixels, or null when a pixel is coloured or not fully opaque. */
function toGray(samples: Uint8Array, channels: number, pixels: number): Uint8Array | null {
  if (channels === 1) return samples;
  const gray = new Uint8Array(pixels);
  for (let i = 0, at = 0; i < pixels; i++, at += channels) {
    const value = samples[at]!;
    if (channels >= 3 && (samples[at + 1] !== value || samples[at + 2] !== value)) return null;
    if ((channels === 2 || channels === 4) && samples[at + channels - 1] !== 255) return null;
    gray[i] = value;
  }
  return gray;
}

/**
 * Decodes `bytes` when it is an 8-bit, gray, opaque PNG of exactly `width` x `height` with
 * nothing that alters pixels; returns the row-major gray pixels, or null when sharp must.
 */
export function decodeGrayPngFast(bytes: Uint8Array, width: number, height: number): Uint8Array | null {
  if (bytes.length < 8 + 25 + 12) return null;
  for (let i = 0; i < PNG_SIGNATURE.length; i++) if (bytes[i] !== PNG_SIGNATURE[i]) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const idat: Uint8Array[] = [];
  let at = 8;
  let sawHeader = false;
  let sawEnd = false;
  let channels = 0;
  while (at + 12 <= bytes.length) {
    const length = view.getUint32(at);
    const end = at + 8 + length;
    if (end + 4 > bytes.length) return null;
    if (crc32(bytes, at + 4, end) !== view.getUint32(end)) return null;
    const type = chunkType(bytes, at + 4);
    const data = at + 8;
    if (!sawHeader) {
      if (type !== 'IHDR' || length !== 13) return null;
      const ok =
        view.getUint32(data) === width &&
        view.getUint32(data + 4) === height &&
        bytes[data + 8] === 8 && // bit depth
        CHANNELS[bytes[data + 9]!] !== undefined &&
        bytes[data + 10] === 0 && // compression
        bytes[data + 11] === 0 && // filter method
        bytes[data + 12] === 0; // no interlace
      if (!ok) return null;
      channels = CHANNELS[bytes[data + 9]!]!;
      sawHeader = true;
    } else if (type === 'IDAT') {
      idat.push(bytes.subarray(data, end));
    } else if (type === 'IEND') {
      sawEnd = true;
      break;
    } else if (!HARMLESS_CHUNKS.has(type)) {
      return null;
    }
    at = end + 4;
  }
  if (!sawEnd || idat.length === 0) return null;
  const rowBytes = width * channels;
  const expected = height * (rowBytes + 1);
  let raw: Buffer;
  try {
    // Capped: a hostile stream cannot inflate past the one image it claims to be.
    raw = inflateSync(idat.length === 1 ? idat[0]! : Buffer.concat(idat), { maxOutputLength: expected + 1 });
  } catch {
    return null;
  }
  if (raw.length !== expected) return null;
  const samples = new Uint8Array(rowBytes * height);
  return unfilter(raw, rowBytes, height, channels, samples) ? toGray(samples, channels, width * height) : null;
}
