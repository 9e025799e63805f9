/**
 * The hostile-input corpus: what careless and malicious clients send, against a real server on a
 * real port. No case may get a 5xx; after every case the server must still answer a normal
 * /predict with the same answer as before, no request may stay counted in flight, and nothing a
 * client does may be logged as an error of ours.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { crc32, gzipSync } from 'node:zlib';
import { pino } from 'pino';
import sharp from 'sharp';
import { initEngine } from '../engine/index.js';
import { TEST_CNN_BN, writeTestModelFolder } from '../models/onnx/test-helpers.js';
import { buildServeApp, loadServedModel, type ServeApp } from './index.js';
import { httpRequest, multipartBody, type RawResponse, sendAndHangUp, sendRaw } from './test-http.js';

const MAX_UPLOAD = 256 * 1024;
const MAX_JSON = 1024 * 1024;
const PIXEL_LIMIT = 4_000_000;
const B = 'hostileBoundary';

/** A PNG whose IHDR claims `width` x `height` (with a valid CRC), and a tiny IDAT: a decompression bomb's header. */
function pngClaiming(png: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(png);
  out.writeUInt32BE(width, 16);
  out.writeUInt32BE(height, 20);
  out.writeUInt32BE(crc32(out.subarray(12, 29)), 29);
  return out;
}

/** A JPEG whose SOF0 frame header claims `size` x `size`. */
function jpegClaiming(jpeg: Buffer, size: number): Buffer {
  const out = Buffer.from(jpeg);
  for (let i = 2; i < out.length - 9; i++) {
    if (out[i] === 0xff && (out[i + 1] === 0xc0 || out[i + 1] === 0xc2)) {
      out.writeUInt16BE(size, i + 5);
      out.writeUInt16BE(size, i + 7);
      return out;
    }
  }
  throw new Error('no SOF marker');
}

/** A 2x2 24-bit BMP (a raster format the API does not accept). */
function bmp(): Buffer {
  const header = Buffer.alloc(54);
  header.write('BM', 0, 'latin1');
  header.writeUInt32LE(54 + 16, 2);
  header.writeUInt32LE(54, 10);
  header.writeUInt32LE(40, 14);
  header.writeInt32LE(2, 18);
  header.writeInt32LE(2, 22);
  header.writeUInt16LE(1, 26);
  header.writeUInt16LE(24, 28);
  return Buffer.concat([header, Buffer.alloc(16, 0x7f)]);
}

interface Case {
  name: string;
  /** Statuses this case may get; null: no answer (the client hung up). */
  expect: (number | null)[];
  send: () => Promise<RawResponse | null>;
}

describe('hostile clients: no 5xx, nothing leaks, the server keeps answering', () => {
  let dir: string;
  let serve: ServeApp;
  let port: number;
  const logLines: string[] = [];
  const images: Record<string, Buffer> = {};
  let baseline: { class_id: number; confidence: number };

  const raw = (path: string, type: string, body: Buffer | string, headers: Record<string, string | number> = {}) =>
    sendRaw(port, httpRequest('POST', path, { 'content-type': type, ...headers }, body));
  const json = (path: string, body: unknown) => raw(path, 'application/json', JSON.stringify(body));
  const upload = (body: Buffer, boundary = B) => raw('/predict', `multipart/form-data; boundary=${boundary}`, body);
  const image = (name: string, type = 'image/png') => () => raw('/predict', type, images[name]!);

  async function normalPredict(): Promise<{ class_id: number; confidence: number }> {
    const form = new FormData();
    form.append('file', new Blob([images.png!], { type: 'image/png' }), 'item.png');
    const response = await fetch(`http://127.0.0.1:${port}/predict`, { method: 'POST', body: form });
    assert.equal(response.status, 200);
    return (await response.json()) as { class_id: number; confidence: number };
  }

  async function inFlight(): Promise<number> {
    return (await serve.metrics.inFlight.get()).values[0]?.value ?? 0;
  }

  const warnings: string[] = [];
  const onWarning = (warning: Error): void => void warnings.push(`${warning.name}: ${warning.message}`);

  before(async () => {
    process.on('warning', onWarning);
    await initEngine({ quiet: true });
    dir = await mkdtemp(join(tmpdir(), 'kiln-hostile-'));
    (await writeTestModelFolder(join(dir, 'model'), TEST_CNN_BN)).dispose();
    const logStream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
        done();
      },
    });
    const logger = pino({ messageKey: 'message', formatters: { level: (label) => ({ level: label }) } }, logStream);
    serve = buildServeApp({ maxUploadBytes: MAX_UPLOAD, maxJsonBytes: MAX_JSON, maxBatchItems: 16, pixelLimit: PIXEL_LIMIT, defaultMetrics: false, logger });
    await serve.setModel(await loadServedModel(join(dir, 'model'), { maxWaitMs: 0 }));
    await serve.app.listen({ port: 0, host: '127.0.0.1' });
    const address = serve.app.server.address();
    port = typeof address === 'object' && address ? address.port : 0;

    const item = Buffer.from(Array.from({ length: 784 }, (_, i) => (i % 28 > 6 && i % 28 < 21 && i > 140 && i < 640 ? 200 : 0)));
    const gray = sharp(item, { raw: { width: 28, height: 28, channels: 1 } });
    images.png = await gray.clone().png().toBuffer();
    images.jpeg = await gray.clone().jpeg().toBuffer();
    const photo = sharp({ create: { width: 300, height: 200, channels: 3, background: '#e8e0d0' } }).composite([{ input: await sharp({ create: { width: 120, height: 120, channels: 3, background: '#203040' } }).png().toBuffer(), top: 40, left: 90 }]);
    images.photoJpeg = await photo.clone().jpeg({ quality: 80 }).toBuffer();
    images.webp = await photo.clone().webp({ quality: 50 }).toBuffer();
    images.tiff = await photo.clone().tiff().toBuffer();
    images.gif = await sharp(Buffer.alloc(28 * 28 * 3 * 3, 90), { raw: { width: 28, height: 28 * 3, channels: 3 } }).gif().toBuffer();
    images.png16 = await gray.clone().toColourspace('grey16').png().toBuffer();
    images.rgba = await sharp({ create: { width: 64, height: 64, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer();
    images.tiny = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#ffffff' } }).toColourspace('b-w').png().toBuffer();
    images.strip = await sharp({ create: { width: 4000, height: 1, channels: 3, background: '#808080' } }).toColourspace('b-w').png().toBuffer();
    images.cmyk = await photo.clone().toColourspace('cmyk').jpeg().toBuffer();
    images.rotated = await photo.clone().withMetadata({ orientation: 6 }).jpeg().toBuffer();
    images.bomb = await sharp({ create: { width: 5000, height: 5000, channels: 3, background: '#000000' } }).toColourspace('b-w').png({ compressionLevel: 9 }).toBuffer();
    images.pngClaimingHuge = pngClaiming(images.png, 100_000, 100_000);
    images.jpegClaimingHuge = jpegClaiming(images.jpeg, 60_000);
    images.truncatedPng = images.png.subarray(0, Math.floor(images.png.length / 2));
    images.truncatedJpeg = images.photoJpeg.subarray(0, Math.floor(images.photoJpeg.length / 2));
    const badCrc = Buffer.from(images.png);
    badCrc[badCrc.length - 20] ^= 0xff;
    images.corruptPng = badCrc;
    images.trailingGarbage = Buffer.concat([images.png, Buffer.from('garbage after IEND'.repeat(20))]);
    baseline = await normalPredict();
  });

  after(async () => {
    process.off('warning', onWarning);
    await serve?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const cases: Case[] = [
    // Image formats and contents, as raw image/* bodies.
    { name: 'a valid 28x28 PNG (control)', expect: [200], send: image('png') },
    { name: 'a photo-like JPEG', expect: [200], send: image('photoJpeg', 'image/jpeg') },
    { name: 'lossy WebP', expect: [200], send: image('webp', 'image/webp') },
    { name: 'TIFF', expect: [200], send: image('tiff', 'image/tiff') },
    { name: 'a GIF', expect: [200], send: image('gif', 'image/gif') },
    { name: '16-bit grayscale PNG', expect: [200], send: image('png16') },
    { name: 'fully transparent RGBA PNG', expect: [200], send: image('rgba') },
    { name: 'a 1x1 image', expect: [200], send: image('tiny') },
    { name: 'a 4000x1 strip', expect: [200], send: image('strip') },
    { name: 'CMYK JPEG', expect: [200], send: image('cmyk', 'image/jpeg') },
    { name: 'JPEG with an EXIF orientation', expect: [200], send: image('rotated', 'image/jpeg') },
    { name: 'a PNG sent as image/jpeg', expect: [200], send: image('png', 'image/jpeg') },
    { name: 'a PNG with garbage after IEND', expect: [200, 400], send: image('trailingGarbage') },
    { name: 'text sent as image/png', expect: [400], send: () => raw('/predict', 'image/png', 'hello, I am not an image') },
    { name: 'random bytes', expect: [400], send: () => raw('/predict', 'image/png', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256))) },
    { name: 'an empty image/png body', expect: [400, 415], send: () => raw('/predict', 'image/png', '') },
    { name: 'a truncated PNG', expect: [400], send: image('truncatedPng') },
    { name: 'a truncated JPEG', expect: [400], send: image('truncatedJpeg', 'image/jpeg') },
    { name: 'a PNG with a corrupted chunk', expect: [200, 400], send: image('corruptPng') },
    { name: 'decompression bomb: 25-megapixel PNG of a few KiB', expect: [400], send: image('bomb') },
    { name: 'PNG header claiming 100000x100000', expect: [400], send: image('pngClaimingHuge') },
    { name: 'JPEG header claiming 60000x60000', expect: [400], send: image('jpegClaimingHuge', 'image/jpeg') },
    { name: 'SVG', expect: [415], send: () => raw('/predict', 'image/svg+xml', '<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28"><rect width="28" height="28"/></svg>') },
    { name: 'BMP', expect: [400, 415], send: () => raw('/predict', 'image/bmp', bmp()) },
    { name: 'a PDF', expect: [400, 415], send: () => raw('/predict', 'image/png', '%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF') },
    { name: 'an image body over the upload limit', expect: [413], send: () => raw('/predict', 'image/png', Buffer.alloc(MAX_UPLOAD + 1, 1)) },
    { name: 'a gzip-encoded image body', expect: [400, 415], send: () => raw('/predict', 'image/png', gzipSync(images.png), { 'content-encoding': 'gzip' }) },
    // Multipart shapes.
    { name: 'multipart: a valid upload (control)', expect: [200], send: () => upload(multipartBody(B, images.png!)) },
    { name: 'multipart: no boundary', expect: [400], send: () => raw('/predict', 'multipart/form-data', multipartBody(B, images.png!)) },
    { name: 'multipart: a boundary that does not match', expect: [400], send: () => upload(multipartBody('other', images.png!)) },
    { name: 'multipart: unterminated', expect: [400], send: () => upload(multipartBody(B, images.png!).subarray(0, 150)) },
    { name: 'multipart: garbage after the part header', expect: [400], send: () => upload(Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="file"\r\n${'\u0000\u00ff#'.repeat(300)}`, 'latin1')) },
    { name: 'multipart: an empty body', expect: [400], send: () => upload(Buffer.alloc(0)) },
    { name: 'multipart: two files', expect: [400], send: () => upload(Buffer.concat([multipartBody(B, images.png!).subarray(0, -4), Buffer.from('\r\n'), multipartBody(B, images.png!)])) },
    { name: 'multipart: 50 fields', expect: [413], send: () => upload(Buffer.from(`${Array.from({ length: 50 }, (_, i) => `--${B}\r\nContent-Disposition: form-data; name="f${i}"\r\n\r\nv\r\n`).join('')}--${B}--\r\n`)) },
    { name: 'multipart: a 1 MiB part header', expect: [413], send: () => upload(multipartBody(B, images.png!, { extraHeaders: `X-Big: ${'x'.repeat(1024 * 1024)}\r\n` })) },
    { name: 'multipart: a file over the upload limit', expect: [413], send: () => upload(multipartBody(B, Buffer.alloc(MAX_UPLOAD + 10, 3))) },
    { name: 'multipart/mixed instead of form-data', expect: [415], send: () => raw('/predict', `multipart/mixed; boundary=${B}`, multipartBody(B, images.png!)) },
    { name: 'multipart: a file part that is a decompression bomb', expect: [400], send: () => upload(multipartBody(B, images.bomb!)) },
    // JSON and content types.
    { name: 'JSON sent to /predict', expect: [415], send: () => json('/predict', { images: [] }) },
    { name: 'text/plain sent to /predict/batch', expect: [415], send: () => raw('/predict/batch', 'text/plain', '{"images": [[0]]}') },
    { name: 'malformed JSON', expect: [400], send: () => raw('/predict/batch', 'application/json', '{"images": [1, 2,') },
    { name: 'JSON nested 100000 deep', expect: [400], send: () => raw('/predict/batch', 'application/json', `{"images": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`) },
    { name: 'JSON with a __proto__ key', expect: [400], send: () => raw('/predict/batch', 'application/json', '{"images": [[1]], "__proto__": {"polluted": true}}') },
    { name: 'batch items of the wrong types', expect: [400], send: () => json('/predict/batch', { images: [null, 3, { a: 1 }] }) },
    { name: 'batch: too many items', expect: [413], send: () => json('/predict/batch', { images: Array.from({ length: 17 }, () => images.png!.toString('base64')) }) },
    { name: 'batch: a base64 decompression bomb', expect: [400], send: () => json('/predict/batch', { images: [images.bomb!.toString('base64')] }) },
    { name: 'batch: NaN-like and out-of-range pixels', expect: [400], send: () => raw('/predict/batch', 'application/json', `{"images": [[${Array(784).fill('1e999').join(',')}]]}`) },
    { name: 'a JSON body over the limit', expect: [413], send: () => json('/predict/batch', { images: ['A'.repeat(MAX_JSON)] }) },
    { name: '/invocations with nonsense', expect: [400], send: () => json('/invocations', { inputs: { a: 1, b: 2 } }) },
    { name: 'KServe: strings as tensor data', expect: [400], send: () => json('/v2/models/fashion-mnist/infer', { inputs: [{ name: 'input', shape: [1, 784], datatype: 'FP32', data: Array(784).fill('x') }] }) },
    { name: 'KServe: a billion-item shape', expect: [400, 413], send: () => json('/v2/models/fashion-mnist/infer', { inputs: [{ name: 'input', shape: [1_000_000_000, 784], datatype: 'FP32', data: [1] }] }) },
    { name: 'a bad ?preprocess= and ?top_k=', expect: [400], send: () => raw('/predict?preprocess=x-ray&top_k=-1', 'image/png', images.png!) },
    // HTTP itself.
    { name: 'a 64 KiB request header', expect: [431], send: () => raw('/predict', 'image/png', images.png!, { 'x-padding': 'p'.repeat(64 * 1024) }) },
    { name: 'a Content-Length that is not a number', expect: [400], send: () => sendRaw(port, Buffer.from('POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: abc\r\n\r\n')) },
    { name: 'both Content-Length and Transfer-Encoding (smuggling)', expect: [400], send: () => sendRaw(port, Buffer.from('POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')) },
    { name: 'GET on /predict', expect: [404], send: () => sendRaw(port, httpRequest('GET', '/predict', {})) },
    { name: 'HTTP/1.0 without a Host header', expect: [200, 400], send: () => sendRaw(port, Buffer.concat([Buffer.from(`POST /predict HTTP/1.0\r\nContent-Type: image/png\r\nContent-Length: ${images.png!.length}\r\n\r\n`), images.png!])) },
    // Slow and vanishing clients.
    { name: 'a slow client: the upload dribbled in 200-byte pieces', expect: [200], send: () => sendRaw(port, httpRequest('POST', '/predict', { 'content-type': `multipart/form-data; boundary=${B}` }, multipartBody(B, images.png!)), { chunkBytes: 200, pauseMs: 20 }) },
    { name: 'a slow client: the headers dribbled byte by byte', expect: [200], send: () => sendRaw(port, httpRequest('POST', '/predict', { 'content-type': 'image/png' }, images.png!), { chunkBytes: 8, pauseMs: 2 }) },
    { name: 'a client that hangs up mid-multipart', expect: [null], send: async () => { const body = multipartBody(B, images.photoJpeg!, { type: 'image/jpeg' }); await sendAndHangUp(port, httpRequest('POST', '/predict', { 'content-type': `multipart/form-data; boundary=${B}` }, body), { bytes: 300 }); return null; } },
    { name: 'a client that hangs up mid-body (raw image)', expect: [null], send: async () => { await sendAndHangUp(port, httpRequest('POST', '/predict', { 'content-type': 'image/jpeg' }, images.photoJpeg!), { bytes: 500 }); return null; } },
    { name: 'a client that hangs up right after sending a whole photo', expect: [null], send: async () => { await sendAndHangUp(port, httpRequest('POST', '/predict', { 'content-type': 'image/jpeg' }, images.photoJpeg!)); return null; } },
    { name: 'a client that hangs up after the request line', expect: [null], send: async () => { await sendAndHangUp(port, Buffer.from('POST /predict HTTP/1.1\r\n')); return null; } },
    { name: 'a client that hangs up on a big batch', expect: [null], send: async () => { await sendAndHangUp(port, httpRequest('POST', '/predict/batch', { 'content-type': 'application/json' }, JSON.stringify({ images: Array.from({ length: 16 }, () => images.photoJpeg!.toString('base64')) }))); return null; } },
    { name: 'two pipelined requests, then a hang-up', expect: [null], send: async () => { const one = httpRequest('POST', '/predict', { 'content-type': 'image/png', connection: 'keep-alive' }, images.png!); await sendAndHangUp(port, Buffer.concat([one, one])); return null; } },
    { name: '30 pipelined requests, then a hang-up', expect: [null], send: async () => { const one = httpRequest('POST', '/predict', { 'content-type': 'image/png', connection: 'keep-alive' }, images.png!); await sendAndHangUp(port, Buffer.concat(Array(30).fill(one) as Buffer[])); return null; } },
  ];

  test(`the corpus has at least 40 cases (${cases.length})`, () => assert.ok(cases.length >= 40));

  for (const hostile of cases) {
    test(hostile.name, { timeout: 120_000 }, async () => {
      const response = await hostile.send();
      const status = response?.status ?? null;
      assert.ok(status === null || status < 500, `${hostile.name}: ${status} ${response?.body ?? ''}`);
      assert.ok(hostile.expect.includes(status), `${hostile.name}: got ${status} (${response?.body.slice(0, 300) ?? 'no answer'}), expected one of ${hostile.expect.join(', ')}`);
      if (status !== null && status >= 400) {
        const body = JSON.parse(response!.body || '{}') as { error?: { code?: string } };
        assert.match(body.error?.code ?? '', /^[A-Z_]+$/, `every error is {"error": {"code", "message"}}: ${response!.body}`);
      }
      // Nothing stays in flight (a hung-up request is counted out) and the server answers as before.
      while ((await inFlight()) !== 0) await new Promise((resolve) => setTimeout(resolve, 20));
      const answer = await normalPredict();
      assert.equal(answer.class_id, baseline.class_id);
      assert.ok(Math.abs(answer.confidence - baseline.confidence) < 1e-5);
    });
  }

  test('at the end: nothing in flight, a normal answer, not one error-level log line, no process warning', async () => {
    assert.deepEqual(warnings.filter((warning) => /MaxListeners|Unhandled|Deprecation/.test(warning)), []);
    assert.equal(await inFlight(), 0);
    assert.equal((await normalPredict()).class_id, baseline.class_id);
    const errors = logLines.filter((line) => /"level":"(error|fatal)"/.test(line));
    assert.deepEqual(errors, []);
    assert.ok(logLines.some((line) => line.includes('client closed the connection before the answer') && line.includes('"level":"info"') && line.includes('"request_id"')));
  });
});
