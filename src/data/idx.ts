/**
 * data/idx — reader for the IDX format used by MNIST and Fashion-MNIST.
 *
 * Layout (big-endian): magic 0x00000801 (ubyte labels, 1 dimension) or 0x00000803
 * (ubyte images, 3 dimensions), then one uint32 per dimension, then the raw bytes.
 * Files may be gzip-compressed (detected by the gzip magic 1f 8b, not by the name).
 * The reader checks the magic, the dimensions (28x28 images unless told otherwise) and that
 * the file length matches the header exactly: short files are KILN_ERR_DATA_TRUNCATED,
 * anything else wrong is KILN_ERR_DATA_FORMAT.
 */
import { gunzip as gunzipCallback } from 'node:zlib';
import { promisify } from 'node:util';
import { DataError, fixes } from './errors.js';

const gunzipAsync = promisify(gunzipCallback);

export const IDX_MAGIC_LABELS = 0x00000801;
export const IDX_MAGIC_IMAGES = 0x00000803;

export type IdxKind = 'images' | 'labels';

export interface IdxData {
  kind: IdxKind;
  count: number;
  /** 1 for labels. */
  rows: number;
  /** 1 for labels. */
  cols: number;
  /** count*rows*cols bytes (a view into the decompressed buffer). */
  data: Uint8Array;
}

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Returns the IDX bytes: gunzipped when `bytes` starts with the gzip magic, else `bytes` itself. */
export async function decompressIfGzip(bytes: Uint8Array, file: string): Promise<Uint8Array> {
  if (!isGzip(bytes)) return bytes;
  try {
    const out = await gunzipAsync(bytes);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const truncated = /unexpected end|incomplete|truncat/i.test(reason);
    throw new DataError(
      truncated ? 'KILN_ERR_DATA_TRUNCATED' : 'KILN_ERR_DATA_FORMAT',
      file,
      `${file}: ${truncated ? 'truncated' : 'corrupt'} gzip stream (${reason}); expected a complete gzip-compressed IDX file.` +
        fixes([`rm ${file}    # delete the damaged file, then run again to fetch a good copy`]),
      { cause: err },
    );
  }
}

/**
 * Parses (already decompressed) IDX bytes. `expect.kind` picks the magic to require;
 * images must be `expect.rows` x `expect.cols` (default 28x28); `expect.count`, when given,
 * is checked too.
 */
export function parseIdx(
  bytes: Uint8Array,
  file: string,
  expect: { kind: IdxKind; rows?: number; cols?: number; count?: number },
): IdxData {
  const fix = fixes([`rm ${file}    # delete the bad file, then run again to fetch a good copy`]);
  const headerLength = expect.kind === 'images' ? 16 : 8;
  if (bytes.length < 4) {
    throw new DataError(
      'KILN_ERR_DATA_TRUNCATED',
      file,
      `${file}: truncated IDX ${expect.kind} file: expected a header of ${headerLength} bytes, found only ${bytes.length} bytes.${fix}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const wantMagic = expect.kind === 'images' ? IDX_MAGIC_IMAGES : IDX_MAGIC_LABELS;
  if (magic !== wantMagic) {
    throw new DataError(
      'KILN_ERR_DATA_FORMAT',
      file,
      `${file}: not an IDX ${expect.kind} file: expected magic number 0x${hex8(wantMagic)}, found 0x${hex8(magic)}.${fix}`,
    );
  }
  if (bytes.length < headerLength) {
    throw new DataError(
      'KILN_ERR_DATA_TRUNCATED',
      file,
      `${file}: truncated IDX ${expect.kind} file: expected a header of ${headerLength} bytes, found only ${bytes.length} bytes.${fix}`,
    );
  }
  const count = view.getUint32(4, false);
  let rows = 1;
  let cols = 1;
  if (expect.kind === 'images') {
    rows = view.getUint32(8, false);
    cols = view.getUint32(12, false);
    const wantRows = expect.rows ?? 28;
    const wantCols = expect.cols ?? 28;
    if (rows !== wantRows || cols !== wantCols) {
      throw new DataError(
        'KILN_ERR_DATA_FORMAT',
        file,
        `${file}: wrong image dimensions: expected ${wantRows}x${wantCols}, found ${rows}x${cols}.${fix}`,
      );
    }
  }
  if (expect.count !== undefined && count !== expect.count) {
    throw new DataError(
      'KILN_ERR_DATA_FORMAT',
      file,
      `${file}: wrong item count: expected ${expect.count} ${expect.kind}, found ${count} in the header.${fix}`,
    );
  }
  const want = headerLength + count * rows * cols;
  if (bytes.length < want) {
    throw new DataError(
      'KILN_ERR_DATA_TRUNCATED',
      file,
      `${file}: truncated IDX ${expect.kind} file: the header announces ${count} items (${want} bytes), found ${bytes.length} bytes.${fix}`,
    );
  }
  if (bytes.length > want) {
    throw new DataError(
      'KILN_ERR_DATA_FORMAT',
      file,
      `${file}: IDX ${expect.kind} file too long: the header announces ${count} items (${want} bytes), found ${bytes.length} bytes.${fix}`,
    );
  }
  return { kind: expect.kind, count, rows, cols, data: bytes.subarray(headerLength, want) };
}

/** Builds IDX bytes (uncompressed). Used by tests to make fixtures; handy for exporting subsets. */
export function encodeIdx(kind: IdxKind, count: number, data: Uint8Array, rows = 28, cols = 28): Uint8Array {
  const headerLength = kind === 'images' ? 16 : 8;
  const out = new Uint8Array(headerLength + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, kind === 'images' ? IDX_MAGIC_IMAGES : IDX_MAGIC_LABELS, false);
  view.setUint32(4, count, false);
  if (kind === 'images') {
    view.setUint32(8, rows, false);
    view.setUint32(12, cols, false);
  }
  out.set(data, headerLength);
  return out;
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}
