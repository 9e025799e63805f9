/**
 * common/crc32 — CRC-32 (IEEE 802.3, as zlib's crc32 and Python's binascii.crc32) of a byte range.
 * PNG chunks are checked with it (serve/png) and Hyperband assigns trials to brackets by it, as
 * Optuna does. Node's own zlib.crc32 does the work (Node ≥ 20.15, which package.json's `engines`
 * requires); this module only adds the range, so callers need not copy a subarray's bytes.
 */
import { crc32 as zlibCrc32 } from 'node:zlib';

/** CRC-32 of bytes[start, end). */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return zlibCrc32(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end));
}
