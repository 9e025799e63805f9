/**
 * data/infer — the input size and colour mode a user's dataset is decoded to, when the flags
 * (--image-size, --color) do not say: the median height and width of the images (scaled down,
 * keeping the aspect ratio, so neither side exceeds MAX_INFERRED_SIDE) and gray iff every image
 * is gray: stored as gray, or stored as colour with only gray pixels (checked by decoding a few).
 * What was inferred is described in words, for the log line.
 *
 * Only headers are read, of at most SAMPLE_LIMIT images spread evenly over the dataset: PNG and
 * JPEG headers are parsed here (a few bytes, no decoder); other formats ask sharp for metadata.
 * Files whose header cannot be read are left out here; decoding reports them by name.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { decodeFixed, probeImage } from '../imaging/decode.js';
import { PNG_SIGNATURE } from '../imaging/png.js';
import type { ColorMode, DecodeTarget } from './labelled.js';
import { MAX_INFERRED_SIDE } from './data-spec.js';

export const SAMPLE_LIMIT = 2000;
/** Enough for a PNG's IHDR and, nearly always, a JPEG's SOF after its EXIF/ICC segments. */
const HEAD_BYTES = 64 * 1024;

export interface ImageHeader {
  width: number;
  height: number;
  gray: boolean;
}

export interface Inferred {
  target: DecodeTarget;
  color: ColorMode;
  /** E.g. "inferred: size: median 375x500 of 1,200 images, scaled to 48x64 (…); rgb: cat/1.jpg has colour". */
  description: string;
}

/** Width/height/gray from a PNG or JPEG header, or null when `head` is neither (or is cut short). */
export function parseHeader(head: Uint8Array): ImageHeader | null {
  if (PNG_SIGNATURE.every((b, i) => head[i] === b) && head.length >= 26) {
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    const colorType = head[25];
    return { width: view.getUint32(16, false), height: view.getUint32(20, false), gray: colorType === 0 || colorType === 4 };
  }
  if (head[0] === 0xff && head[1] === 0xd8) return jpegHeader(head);
  return null;
}

function jpegHeader(head: Uint8Array): ImageHeader | null {
  let at = 2;
  while (at + 9 < head.length) {
    if (head[at] !== 0xff) return null;
    const marker = head[at + 1];
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    const length = (head[at + 2] << 8) | head[at + 3];
    // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC): precision, height, width, components.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: (head[at + 5] << 8) | head[at + 6], width: (head[at + 7] << 8) | head[at + 8], gray: head[at + 9] === 1 };
    }
    at += 2 + length;
  }
  return null;
}

/** The header of one image file: parsed from its first bytes, else from sharp's metadata; null if unreadable. */
export async function readHeader(path: string): Promise<ImageHeader | null> {
  try {
    const head = readHead(path, SMALL_HEAD);
    const jpegCutShort = head[0] === 0xff && head[1] === 0xd8 && head.length === SMALL_HEAD;
    const parsed = parseHeader(head) ?? (jpegCutShort ? parseHeader(readHead(path, HEAD_BYTES)) : null);
    if (parsed && parsed.width > 0 && parsed.height > 0) return parsed;
    const probed = await probeImage(new Uint8Array(await readFile(path)));
    return { width: probed.width, height: probed.height, gray: probed.gray };
  } catch {
    return null;
  }
}

/** Most headers sit in the first 4 KiB; a JPEG with a large EXIF block needs the longer read. */
const SMALL_HEAD = 4096;
const headBuffers = new Map<number, Uint8Array>();

/** The first `length` bytes of a file (a view into a reused buffer), read synchronously: see catalog-checks' sniffFiles for why. */
function readHead(path: string, length: number): Uint8Array {
  let buffer = headBuffers.get(length);
  if (!buffer) headBuffers.set(length, (buffer = new Uint8Array(length)));
  const fd = openSync(path, 'r');
  try {
    return buffer.subarray(0, readSync(fd, buffer, 0, length, 0));
  } finally {
    closeSync(fd);
  }
}

/** At most `limit` indices out of `count`, spread evenly (deterministic). */
export function sampleIndices(count: number, limit = SAMPLE_LIMIT): number[] {
  const m = Math.min(count, limit);
  return Array.from({ length: m }, (_, k) => Math.floor((k * count) / m));
}

const lowerMedian = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
const fmt = (n: number): string => n.toLocaleString('en-US');

/** Median size scaled down (aspect kept) so that neither side exceeds `cap`. */
export function capSize(height: number, width: number, cap = MAX_INFERRED_SIDE): [number, number] {
  const scale = Math.min(1, cap / Math.max(height, width));
  return [Math.max(1, Math.round(height * scale)), Math.max(1, Math.round(width * scale))];
}

/** The decode target of `paths`: from the flags where given, else inferred from sampled headers. */
export async function inferTarget(paths: readonly string[], flags: { imageSize?: [number, number]; color?: ColorMode }): Promise<Inferred> {
  const notes: string[] = [];
  let sampled: { path: string; header: ImageHeader }[] = [];
  if (!flags.imageSize || !flags.color) {
    const headers = await mapLimited(sampleIndices(paths.length), 16, async (i) => ({ path: paths[i], header: await readHeader(paths[i]) }));
    sampled = headers.filter((h): h is { path: string; header: ImageHeader } => h.header !== null);
  }
  const headers = sampled.map((s) => s.header);
  const of = headers.length === paths.length ? `${fmt(paths.length)} images` : `${fmt(headers.length)} sampled of ${fmt(paths.length)} images`;
  let size = flags.imageSize;
  if (!size) {
    if (headers.length === 0) size = [32, 32]; // nothing readable: decoding will name every file
    else {
      const median: [number, number] = [lowerMedian(headers.map((h) => h.height)), lowerMedian(headers.map((h) => h.width))];
      size = capSize(median[0], median[1]);
      const capped = size[0] !== median[0] || size[1] !== median[1];
      notes.push(`size: median ${median[0]}x${median[1]} of ${of}${capped ? `, scaled to ${size[0]}x${size[1]} (at most ${MAX_INFERRED_SIDE} per side; --image-size overrides)` : ''}`);
    }
  }
  let color = flags.color;
  if (!color) {
    const stored = sampled.filter((s) => !s.header.gray).map((s) => s.path);
    const colour = await firstColourImage(stored, size);
    color = headers.length > 0 && colour === null ? 'gray' : 'rgb';
    if (headers.length === 0) notes.push('rgb: no image header could be read');
    else if (stored.length === 0) notes.push(`gray: every one of ${of} is gray`);
    else if (colour === null) notes.push(`gray: ${fmt(stored.length)} of ${of} are stored as colour but hold only gray pixels (${fmt(Math.min(stored.length, GRAY_CHECK_LIMIT))} checked; --color rgb overrides)`);
    else notes.push(`rgb: ${colour} has colour`);
  }
  const target: DecodeTarget = { height: size[0], width: size[1], channels: color === 'gray' ? 1 : 3 };
  return { target, color, description: notes.length > 0 ? `inferred: ${notes.join('; ')}` : 'as given by --image-size and --color' };
}

/** Colour-stored images decoded to check for colour, at most this many (spread evenly). */
export const GRAY_CHECK_LIMIT = 32;
/** Channel differences up to this are gray (a JPEG of a gray picture is not always exactly R=G=B). */
const GRAY_TOLERANCE = 2;

/**
 * The first of (up to GRAY_CHECK_LIMIT of) `paths` whose pixels hold colour, or null when all are
 * gray: many gray datasets are saved as RGB files (scans, exports, sharp's own PNG of raw bytes),
 * and training them as RGB would triple the memory for nothing. Decoded at the training size.
 */
export async function firstColourImage(paths: readonly string[], size: [number, number]): Promise<string | null> {
  for (const k of sampleIndices(paths.length, GRAY_CHECK_LIMIT)) {
    let pixels: Uint8Array;
    try {
      pixels = await decodeFixed(new Uint8Array(await readFile(paths[k])), { height: size[0], width: size[1], channels: 3 });
    } catch {
      continue; // unreadable: decoding reports it
    }
    for (let p = 0; p < pixels.length; p += 3) {
      const r = pixels[p];
      const g = pixels[p + 1];
      const b = pixels[p + 2];
      if (Math.abs(r - g) > GRAY_TOLERANCE || Math.abs(g - b) > GRAY_TOLERANCE || Math.abs(r - b) > GRAY_TOLERANCE) return paths[k];
    }
  }
  return null;
}

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const k = next++;
      out[k] = await fn(items[k]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
