import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { crc32 } from './crc32.js';

test('crc32 is the IEEE CRC-32 (the standard check value), over a whole buffer or a range of it', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
  assert.equal(crc32(Buffer.from('xx123456789yy'), 2, 11), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(Buffer.from('xx123456789yy')).subarray(1), 1, 10), 0xcbf43926);
});

test("package.json's engines admit no Node without zlib.crc32 (added in 20.15)", async () => {
  const manifest = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };
  const match = /^>=(\d+)\.(\d+)/.exec(manifest.engines.node);
  assert.ok(match, `engines.node is ${manifest.engines.node}`);
  assert.ok(Number(match[1]) > 20 || (Number(match[1]) === 20 && Number(match[2]) >= 15), `engines.node is ${manifest.engines.node}`);
});
