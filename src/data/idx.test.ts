import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { DataError } from './errors.js';
import { decompressIfGzip, encodeIdx, IDX_MAGIC_IMAGES, isGzip, parseIdx } from './idx.js';

function images(count: number, rows = 28, cols = 28): Uint8Array {
  const data = new Uint8Array(count * rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 255;
  return encodeIdx('images', count, data, rows, cols);
}

async function read(bytes: Uint8Array, kind: 'images' | 'labels', count?: number) {
  return parseIdx(await decompressIfGzip(bytes, 'fixture-file'), 'fixture-file', { kind, count });
}

function isDataError(code: string, ...fragments: string[]) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof DataError, `expected DataError, got ${String(err)}`);
    assert.equal(err.code, code);
    for (const f of fragments) assert.ok(err.message.includes(f), `message lacks ${JSON.stringify(f)}:\n${err.message}`);
    return true;
  };
}

describe('idx reader', () => {
  test('reads plain images and labels', async () => {
    const bytes = images(3);
    assert.equal(isGzip(bytes), false);
    const idx = await read(bytes, 'images');
    assert.equal(idx.count, 3);
    assert.equal(idx.rows, 28);
    assert.equal(idx.cols, 28);
    assert.equal(idx.data.length, 3 * 784);
    assert.equal(idx.data[5], 35);
    const labels = await read(encodeIdx('labels', 4, Uint8Array.from([1, 2, 3, 9])), 'labels');
    assert.equal(labels.count, 4);
    assert.deepEqual([...labels.data], [1, 2, 3, 9]);
  });

  test('reads gzip (detected by magic, not by name)', async () => {
    const plain = images(2);
    const gz = gzipSync(plain);
    assert.equal(isGzip(gz), true);
    const idx = await read(gz, 'images');
    assert.equal(idx.count, 2);
    assert.deepEqual(idx.data, plain.subarray(16));
  });

  test('bad magic is KILN_ERR_DATA_FORMAT naming expected and found', async () => {
    const bytes = images(1);
    bytes[3] = 0x01; // labels magic in an images file
    await assert.rejects(read(bytes, 'images'), isDataError('KILN_ERR_DATA_FORMAT', 'fixture-file', '0x00000803', '0x00000801'));
    const labels = encodeIdx('labels', 1, Uint8Array.from([0]));
    await assert.rejects(read(labels, 'images'), isDataError('KILN_ERR_DATA_FORMAT'));
    const view = new DataView(labels.buffer);
    view.setUint32(0, IDX_MAGIC_IMAGES);
    await assert.rejects(read(labels, 'labels'), isDataError('KILN_ERR_DATA_FORMAT', '0x00000801'));
  });

  test('wrong dimensions are KILN_ERR_DATA_FORMAT', async () => {
    await assert.rejects(read(images(2, 28, 27), 'images'), isDataError('KILN_ERR_DATA_FORMAT', '28x28', '28x27'));
    await assert.rejects(read(images(2, 32, 32), 'images'), isDataError('KILN_ERR_DATA_FORMAT', '32x32'));
  });

  test('count different from the expected count is KILN_ERR_DATA_FORMAT', async () => {
    await assert.rejects(read(images(2), 'images', 3), isDataError('KILN_ERR_DATA_FORMAT', 'expected 3', 'found 2'));
  });

  test('truncated files are KILN_ERR_DATA_TRUNCATED (plain, header, gzip)', async () => {
    const full = images(3);
    await assert.rejects(read(full.subarray(0, full.length - 1), 'images'), isDataError('KILN_ERR_DATA_TRUNCATED', 'fixture-file', String(full.length)));
    await assert.rejects(read(full.subarray(0, 10), 'images'), isDataError('KILN_ERR_DATA_TRUNCATED', 'header'));
    const labels = encodeIdx('labels', 5, new Uint8Array(5));
    await assert.rejects(read(labels.subarray(0, 9), 'labels'), isDataError('KILN_ERR_DATA_TRUNCATED'));
    const gz = gzipSync(full);
    await assert.rejects(read(gz.subarray(0, Math.floor(gz.length / 2)), 'images'), isDataError('KILN_ERR_DATA_TRUNCATED', 'rm fixture-file'));
  });

  test('trailing bytes are KILN_ERR_DATA_FORMAT', async () => {
    const full = images(1);
    const longer = new Uint8Array(full.length + 4);
    longer.set(full);
    await assert.rejects(read(longer, 'images'), isDataError('KILN_ERR_DATA_FORMAT', 'too long'));
  });
});
