/**
 * data/tensor-file — the file that holds one decoded dataset: `<digest>.bin` in the tensor cache.
 *
 * Layout: magic 'KILNTNS1', a u32 LE header length, a JSON header (format, digest, target, item
 * count, counts per split and class, byte lengths, CRC-32 of what follows), the 8-bit HWC pixels,
 * then one line per item `relPath \t label \t split \t sha256`. The pixels come before the lines
 * so that a reader that needs no names reads one contiguous range and stops there.
 *
 * Two readers: parseTensorFile checks everything, the CRC included, on a whole file
 * (data/tensor-cache, data/load-cache's per-file check); readTensorFileTrusted reads the header
 * and the pixels only, for a caller that vouched for the dataset another way (folder stamps): the
 * CRC costs as much as reading the file, so sizes and header are its only checks there.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, read, readSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import type { CatalogItem, DecodeTarget } from './labelled.js';

const MAGIC = 'KILNTNS1';
const FORMAT = 1;
const PREFIX_BYTES = 12;

interface Header {
  format: number;
  digest: string;
  target: DecodeTarget;
  count: number;
  /** Items per class for each split ('' for items without one). */
  counts: Record<string, number[]>;
  pixelBytes: number;
  itemBytes: number;
  crc32: number;
}

export const sameTarget = (a: DecodeTarget, b: DecodeTarget): boolean => a.height === b.height && a.width === b.width && a.channels === b.channels;

/** What a reader gives back: the pixels, and the item lines parsed on first call (null if damaged). */
export interface TensorFile {
  pixels: Uint8Array;
  count: number;
  lines(): string[] | null;
}

/** What is written: the kept items in order, their sha256 and their pixels. */
export interface TensorFileContent {
  digest: string;
  target: DecodeTarget;
  items: readonly CatalogItem[];
  sha256: readonly string[];
  pixels: Uint8Array;
}

/** Writes `content` to `path` atomically (temp file, then rename), the pixels without a copy. */
export async function writeTensorFile(path: string, content: TensorFileContent): Promise<void> {
  const itemText = Buffer.from(content.items.map((item, i) => `${item.relPath}\t${item.label}\t${item.split ?? ''}\t${content.sha256[i]}\n`).join(''), 'utf8');
  const counts: Record<string, number[]> = {};
  for (const item of content.items) {
    const split = (counts[item.split ?? ''] ??= []);
    split[item.label] = (split[item.label] ?? 0) + 1;
  }
  for (const list of Object.values(counts)) for (let i = 0; i < list.length; i++) list[i] ??= 0;
  const header: Header = {
    format: FORMAT,
    digest: content.digest,
    target: content.target,
    count: content.items.length,
    counts,
    pixelBytes: content.pixels.length,
    itemBytes: itemText.length,
    crc32: crc32(itemText, crc32(content.pixels)),
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(PREFIX_BYTES);
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(headerBytes.length, 8);
  await writePartsAtomic(path, [prefix, headerBytes, content.pixels, itemText]);
}

/** The header of a file of `size` bytes, if it is one of `digest` at `target` whose lengths add up; `start` is where the pixels begin. */
function checkedHeader(prefix: Buffer, size: number, digest: string, target: DecodeTarget, readHeader: (start: number, length: number) => string): { header: Header; start: number } | null {
  if (prefix.length < PREFIX_BYTES || prefix.toString('latin1', 0, 8) !== MAGIC) return null;
  const headerLength = prefix.readUInt32LE(8);
  const start = PREFIX_BYTES + headerLength;
  if (start > size) return null;
  let header: Header;
  try {
    header = JSON.parse(readHeader(PREFIX_BYTES, headerLength)) as Header;
  } catch {
    return null;
  }
  const itemSize = target.height * target.width * target.channels;
  if (header.format !== FORMAT || header.digest !== digest || !header.target || !sameTarget(header.target, target)) return null;
  if (header.pixelBytes !== header.count * itemSize || start + header.pixelBytes + header.itemBytes !== size) return null;
  return { header, start };
}

function linesOf(text: string, count: number): string[] | null {
  const lines = text.length === 0 ? [] : text.slice(0, -1).split('\n');
  return lines.length === count ? lines : null;
}

/** A whole file read into memory, checked (CRC included); null if it is not `digest`'s tensors at `target`. */
export function parseTensorFile(file: Buffer, digest: string, target: DecodeTarget): TensorFile | null {
  const found = checkedHeader(file, file.length, digest, target, (start, length) => file.toString('utf8', start, start + length));
  if (!found) return null;
  const { header, start } = found;
  if (crc32(file.subarray(start)) !== header.crc32) return null;
  const pixels = new Uint8Array(file.buffer, file.byteOffset + start, header.pixelBytes);
  let lines: string[] | null | undefined;
  const read = (): string[] | null => linesOf(file.toString('utf8', start + header.pixelBytes), header.count);
  return { pixels, count: header.count, lines: () => (lines === undefined ? (lines = read()) : lines) };
}

/**
 * The header and pixels of the file at `path` (see the header of this module); the lines are
 * read from the file when first asked for. Null when it is missing or not `digest`'s tensors.
 */
export async function readTensorFileTrusted(path: string, digest: string, target: DecodeTarget): Promise<TensorFile | null> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const size = fstatSync(fd).size;
    const prefix = Buffer.alloc(Math.min(size, 64 * 1024));
    readSync(fd, prefix, 0, prefix.length, 0);
    const found = checkedHeader(prefix, size, digest, target, (start, length) => {
      if (start + length <= prefix.length) return prefix.toString('utf8', start, start + length);
      const rest = Buffer.alloc(length);
      readSync(fd, rest, 0, length, start);
      return rest.toString('utf8');
    });
    if (!found) return null;
    const { header, start } = found;
    const pixels = await readRange(fd, start, header.pixelBytes);
    if (!pixels) return null;
    let lines: string[] | null | undefined;
    const at = start + header.pixelBytes;
    return { pixels, count: header.count, lines: () => (lines === undefined ? (lines = readLinesSync(path, at, header.itemBytes, header.count)) : lines) };
  } finally {
    closeSync(fd);
  }
}

function readLinesSync(path: string, at: number, length: number, count: number): string[] | null {
  try {
    const fd = openSync(path, 'r');
    try {
      const text = Buffer.alloc(length);
      return readSync(fd, text, 0, length, at) === length ? linesOf(text.toString('utf8'), count) : null;
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
}

/** A whole file, read on the thread pool (started now); null if it cannot be read. */
export function readWholeFile(path: string): Promise<Buffer | null> {
  let fd: number;
  let size: number;
  try {
    fd = openSync(path, 'r');
    size = fstatSync(fd).size;
  } catch {
    return Promise.resolve(null);
  }
  if (size > 1 << 30) {
    closeSync(fd); // beyond one read()'s reach: the promise API reads it in steps
    return readFile(path).catch(() => null);
  }
  return readRange(fd, 0, size).then((bytes) => {
    closeSync(fd);
    return bytes;
  });
}

/** A large range is read in this many parts at once on the thread pool: the page faults of the fresh buffer then run in parallel (~1.5x measured on 50 MB). */
const READ_PARTS = 4;
const PART_MIN_BYTES = 8 << 20;

/** `length` bytes of `fd` from `at`, into a fresh buffer; null on a short read or an error. The caller closes `fd` after it settles. */
function readRange(fd: number, at: number, length: number): Promise<Buffer | null> {
  const bytes = Buffer.allocUnsafe(length);
  const step = Math.ceil(length / (length >= PART_MIN_BYTES ? READ_PARTS : 1)) || 1;
  const part = (offset: number): Promise<boolean> => new Promise((resolve) => {
    const n = Math.min(step, length - offset);
    read(fd, bytes, offset, n, at + offset, (error, got) => resolve(!error && got === n));
  });
  const parts: Promise<boolean>[] = [];
  for (let offset = 0; offset < length; offset += step) parts.push(part(offset));
  return Promise.all(parts).then((ok) => (ok.every(Boolean) ? bytes : null));
}

/** Like data/sources' writeFileAtomic (temp file, then rename), from parts: the pixels are not copied into one buffer first. */
async function writePartsAtomic(path: string, parts: Uint8Array[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    const handle = await open(tmp, 'wx');
    try {
      let total = parts.reduce((sum, part) => sum + part.length, 0);
      while (total > 0) {
        const { bytesWritten } = await handle.writev(parts);
        total -= bytesWritten;
        parts = skipBytes(parts, bytesWritten);
      }
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** `parts` without their first `count` bytes (after a short write). */
function skipBytes(parts: Uint8Array[], count: number): Uint8Array[] {
  const rest: Uint8Array[] = [];
  for (const part of parts) {
    if (count >= part.length) {
      count -= part.length;
      continue;
    }
    rest.push(count > 0 ? part.subarray(count) : part);
    count = 0;
  }
  return rest;
}
