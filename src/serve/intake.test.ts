import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { initEngine } from '../engine/index.js';
import { TEST_CNN_BN, writeTestModelFolder } from '../models/onnx/test-helpers.js';
import { buildServeApp, loadServedModel, type ServeApp } from './index.js';
import { httpRequest, multipartBody, sendRaw } from './test-http.js';

const BOUNDARY = 'kilnBoundary42';
const MAX_UPLOAD = 64 * 1024;

describe('multipart uploads that break the grammar or the bounds get a 4xx with a stable code', () => {
  let dir: string;
  let serve: ServeApp;
  let port: number;
  let image: Buffer;

  before(async () => {
    await initEngine({ quiet: true });
    dir = await mkdtemp(join(tmpdir(), 'kiln-intake-'));
    (await writeTestModelFolder(join(dir, 'model'), TEST_CNN_BN)).dispose();
    serve = buildServeApp({ maxUploadBytes: MAX_UPLOAD, defaultMetrics: false });
    await serve.setModel(await loadServedModel(join(dir, 'model'), { maxWaitMs: 0 }));
    await serve.app.listen({ port: 0, host: '127.0.0.1' });
    const address = serve.app.server.address();
    port = typeof address === 'object' && address ? address.port : 0;
    image = await sharp(Buffer.alloc(784, 128), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer();
  });
  after(async () => {
    await serve?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const upload = (body: Buffer, contentType = `multipart/form-data; boundary=${BOUNDARY}`, headers: Record<string, string> = {}) =>
    httpRequest('POST', '/predict', { 'content-type': contentType, ...headers }, body);
  const part = (headers: string, content: string | Buffer) => Buffer.concat([Buffer.from(`--${BOUNDARY}\r\n${headers}\r\n\r\n`, 'latin1'), Buffer.from(content), Buffer.from('\r\n', 'latin1')]);
  const closing = Buffer.from(`--${BOUNDARY}--\r\n`, 'latin1');
  const fileHeaders = (name = 'file') => `Content-Disposition: form-data; name="${name}"; filename="${name}.png"\r\nContent-Type: image/png`;
  const chunked = (body: Buffer) => Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);

  const cases: [string, () => Buffer, number, string][] = [
    ['no boundary in the Content-Type', () => upload(multipartBody(BOUNDARY, image), 'multipart/form-data'), 400, 'MULTIPART_BOUNDARY_MISSING'],
    ['a boundary that does not match the body', () => upload(multipartBody('someOtherBoundary', image)), 400, 'INVALID_MULTIPART'],
    ['an unterminated body (the file part never ends)', () => upload(multipartBody(BOUNDARY, image).subarray(0, 200)), 400, 'INVALID_MULTIPART'],
    ['garbage after the part header opening (no blank line ever)', () => upload(Buffer.concat([Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"\r\n`), Buffer.from('\u0000\u0001garbage\u00ff'.repeat(50), 'latin1')])), 400, 'INVALID_MULTIPART'],
    ['binary garbage where the parts should be', () => upload(Buffer.from('\u0089PNG\u0000\u00ff'.repeat(100), 'latin1')), 400, 'INVALID_MULTIPART'],
    ['two files', () => upload(Buffer.concat([part(fileHeaders('a'), image), part(fileHeaders('b'), image), closing])), 400, 'TOO_MANY_FILES'],
    ['more fields than allowed', () => upload(Buffer.concat([...Array.from({ length: 12 }, (_, i) => part(`Content-Disposition: form-data; name="f${i}"`, 'v')), part(fileHeaders(), image), closing])), 413, 'TOO_MANY_FIELDS'],
    ['more parts than allowed (nameless ones)', () => upload(Buffer.concat([...Array.from({ length: 12 }, () => part('Content-Type: text/plain', 'v')), part(fileHeaders(), image), closing])), 413, 'TOO_MANY_PARTS'],
    ['a part header of 200 KiB', () => upload(multipartBody(BOUNDARY, image, { extraHeaders: `X-Padding: ${'a'.repeat(200 * 1024)}\r\n` })), 413, 'PAYLOAD_TOO_LARGE'],
    [
      'a part header of 200 KiB, chunked (no Content-Length to refuse it by)',
      () => upload(chunked(multipartBody(BOUNDARY, image, { extraHeaders: `X-Padding: ${'a'.repeat(200 * 1024)}\r\n` })), undefined, { 'transfer-encoding': 'chunked' }),
      413,
      'PAYLOAD_TOO_LARGE',
    ],
    ['a file over the upload limit', () => upload(multipartBody(BOUNDARY, Buffer.alloc(MAX_UPLOAD + 1024, 7))), 413, 'PAYLOAD_TOO_LARGE'],
    ['only a field, no file', () => upload(Buffer.concat([part('Content-Disposition: form-data; name="note"', 'hello'), closing])), 400, 'NO_FILE'],
    ['a field named __proto__', () => upload(Buffer.concat([part('Content-Disposition: form-data; name="__proto__"', 'x'), part(fileHeaders(), image), closing])), 400, 'INVALID_MULTIPART'],
  ];

  for (const [label, request, status, code] of cases) {
    test(label, async () => {
      const response = await sendRaw(port, request());
      assert.ok(response, 'the server answered');
      assert.equal(response.status, status, `${label}: ${response.body}`);
      assert.equal((JSON.parse(response.body) as { error: { code: string } }).error.code, code);
    });
  }

  test('a well-formed upload with a part header of a few KiB is answered, and after all of the above the server still predicts', async () => {
    const response = await sendRaw(port, upload(multipartBody(BOUNDARY, image, { extraHeaders: `X-Padding: ${'a'.repeat(4000)}\r\n` })));
    assert.equal(response?.status, 200, response?.body);
    const form = new FormData();
    form.append('file', new Blob([image], { type: 'image/png' }), 'a.png');
    assert.equal((await fetch(`http://127.0.0.1:${port}/predict`, { method: 'POST', body: form })).status, 200);
  });
});
