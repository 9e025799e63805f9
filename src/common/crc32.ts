/**
 * common/crc32 — CRC-32 (IEEE 802.3, as zlib's crc32 and Python's binascii.crc32). PNG chunks are
 * checked with it (serve/png) and Hyperband assigns trials to brackets by it, as Optuna does.
 * Node's zlib.crc32 appeared only in 20.15, and Kiln supports every Node 20.
 */
const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 of bytes[start, end). */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
