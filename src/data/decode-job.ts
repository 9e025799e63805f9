/**
 * data/decode-job — the part of decoding one dataset file that runs in JavaScript, on a worker
 * thread (data/decode-worker) or inline: read the file once, hash those bytes, and decode them
 * when imaging/png's fast gray path applies. Everything else (JPEG, WebP, colour, resizing,
 * every error) is handed back with the bytes to imaging/decode's decodeFixed, which runs sharp.
 *
 * The fast path is the very function decodeFixed tries first, so the pixels are the same as
 * decodeFixed's by construction (data/decode-pool.test proves it for every accepted format).
 */
import { hash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { decodeGrayPngFast } from '../imaging/png.js';
import type { DecodeTarget } from './labelled.js';

export type JobResult =
  /** Decoded in JavaScript: the pixels were written into `out`. */
  | { kind: 'decoded'; sha256: string }
  /** The file was read and hashed; sharp must decode `bytes` (the caller's own copy). */
  | { kind: 'sharp'; sha256: string; bytes: Uint8Array }
  /** The file could not be read. */
  | { kind: 'failed'; reason: string };

/** Reused for every file of this thread: small images cost no allocation (readFileSync's fstat and buffer cost more than the read). */
let scratch = Buffer.allocUnsafe(64 * 1024);

/** What a file's listing fingerprint needs (data/tensor-cache), taken from the open file just before reading it. */
export interface FileFacts {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

/** The whole file, in `scratch` when it fits (valid until the next call), else in a buffer of its own. */
function readWhole(path: string, facts: FileFacts): Buffer {
  const fd = openSync(path, 'r');
  try {
    const stat = fstatSync(fd);
    facts.size = stat.size;
    facts.mtimeMs = stat.mtimeMs;
    facts.ctimeMs = stat.ctimeMs;
    let length = readSync(fd, scratch, 0, scratch.length, 0);
    if (length < scratch.length) return scratch.subarray(0, length);
    let bytes = Buffer.allocUnsafe(Math.max(stat.size, length) + 1);
    scratch.copy(bytes);
    for (;;) {
      if (length === bytes.length) bytes = Buffer.concat([bytes, Buffer.allocUnsafe(bytes.length)]); // it grew meanwhile
      const read = readSync(fd, bytes, length, bytes.length - length, length);
      if (read === 0) break;
      length += read;
    }
    if (bytes.length <= 64 * 1024 * 1024) scratch = bytes; // the next big file reuses it
    return bytes.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

function readError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return `the file could not be read (${code ?? (error instanceof Error ? error.message : String(error))})`;
}

/**
 * Reads `path` once, hashes it and, when it can, decodes it into out[offset, offset + H*W*C).
 * `facts` receives the file's size and times (left as they are when it cannot be opened).
 */
export function runJob(path: string, target: DecodeTarget, out: Uint8Array, offset: number, facts: FileFacts): JobResult {
  let bytes: Buffer;
  try {
    bytes = readWhole(path, facts);
  } catch (error) {
    return { kind: 'failed', reason: readError(error) };
  }
  const sha256 = hash('sha256', bytes, 'hex');
  if (target.channels === 1) {
    const pixels = decodeGrayPngFast(bytes, target.width, target.height);
    if (pixels) {
      out.set(pixels, offset);
      return { kind: 'decoded', sha256 };
    }
  }
  return { kind: 'sharp', sha256, bytes: new Uint8Array(bytes) };
}
