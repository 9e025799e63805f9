/**
 * data/decode-job — the part of decoding one dataset file that runs in JavaScript, on a worker
 * thread (data/decode-worker) or inline: read the file once, hash those bytes, and decode them
 * when imaging/png's fast gray path applies. Everything else (JPEG, WebP, colour, resizing,
 * every error) is handed back with the bytes to imaging/decode's decodeFixed, which runs sharp.
 *
 * The fast path is the very function decodeFixed tries first, so the pixels are the same as
 * decodeFixed's by construction (data/decode-pool.test proves it for every accepted format).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { decodeGrayPngFast } from '../imaging/png.js';
import type { DecodeTarget } from './labelled.js';

export type JobResult =
  /** Decoded in JavaScript: the pixels were written into `out`. */
  | { kind: 'decoded'; sha256: string }
  /** The file was read and hashed; sharp must decode `bytes`. */
  | { kind: 'sharp'; sha256: string; bytes: Uint8Array }
  /** The file could not be read. */
  | { kind: 'failed'; reason: string };

/** Reads `path`, hashes it and, when it can, decodes it into out[offset, offset + H*W*C). */
export function runJob(path: string, target: DecodeTarget, out: Uint8Array, offset: number): JobResult {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { kind: 'failed', reason: `the file could not be read (${code ?? (error instanceof Error ? error.message : String(error))})` };
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (target.channels === 1) {
    const pixels = decodeGrayPngFast(bytes, target.width, target.height);
    if (pixels) {
      out.set(pixels, offset);
      return { kind: 'decoded', sha256 };
    }
  }
  return { kind: 'sharp', sha256, bytes };
}
