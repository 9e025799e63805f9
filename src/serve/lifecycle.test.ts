import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { type Logger, pino } from 'pino';
import sharp from 'sharp';
import { initEngine } from '../engine/index.js';
import { TEST_CNN_BN, writeTestModelFolder } from '../models/onnx/test-helpers.js';
import { buildServeApp, loadServedModel, type ServeApp } from './index.js';
import { httpRequest, multipartBody, sendAndHangUp } from './test-http.js';

const LONG = 600_000;

/** A real pino logger whose JSON lines are kept in memory. */
function memoryLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      done();
    },
  });
  const logger = pino({ level: 'debug', messageKey: 'message', formatters: { level: (label) => ({ level: label }) } }, stream);
  return { logger, lines: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

async function inFlight(serve: ServeApp): Promise<number> {
  return (await serve.metrics.inFlight.get()).values[0]?.value ?? 0;
}

async function waitFor(condition: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('requests whose client hangs up are counted out, release the model and are logged as the client\'s doing', () => {
  let dir: string;
  let jpeg: Buffer;
  let png: Buffer;

  before(async () => {
    await initEngine({ quiet: true });
    dir = await mkdtemp(join(tmpdir(), 'kiln-lifecycle-'));
    (await writeTestModelFolder(join(dir, 'v1'), TEST_CNN_BN, 7)).dispose();
    (await writeTestModelFolder(join(dir, 'v2'), TEST_CNN_BN, 8)).dispose();
    jpeg = await sharp({ create: { width: 1600, height: 1200, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).jpeg({ quality: 90 }).toBuffer();
    png = await sharp(Buffer.alloc(784, 90), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer();
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /**
   * A server on a real port whose handlers, for requests marked `x-hold`, start only once the
   * client has hung up: the whole body was received, the answer not yet sent.
   */
  async function heldServer(options: Parameters<typeof buildServeApp>[0] = {}) {
    const serve = buildServeApp({ defaultMetrics: false, swapTimeoutMs: LONG, ...options });
    let arrived: () => void = () => {};
    const arrival = new Promise<void>((resolve) => (arrived = resolve));
    serve.app.addHook('preHandler', async (request) => {
      if (request.headers['x-hold'] === undefined) return;
      const socket = request.raw.socket;
      const closed = new Promise((resolve) => (socket.destroyed ? resolve(null) : socket.once('close', resolve)));
      arrived();
      await closed;
    });
    await serve.setModel(await loadServedModel(join(dir, 'v1'), { version: '1', maxWaitMs: 0 }));
    await serve.app.listen({ port: 0, host: '127.0.0.1' });
    const address = serve.app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    return { serve, port, arrival };
  }

  test('whole body sent, then the socket closed before the answer: the gauge returns to 0, a hot swap and close() do not wait for it', { timeout: 120_000 }, async () => {
    const { serve, port, arrival } = await heldServer();
    await sendAndHangUp(port, httpRequest('POST', '/predict', { 'content-type': 'image/jpeg', 'x-hold': 1, connection: 'keep-alive' }, jpeg), { until: arrival });
    // A leaked count would keep this loop (and the test, until its timeout) going.
    await waitFor(async () => (await inFlight(serve)) === 0);
    // The swap frees version 1 once no handler holds it: with a leaked lease it would wait swapTimeoutMs (10 min).
    await serve.setModel(await loadServedModel(join(dir, 'v2'), { version: '2', maxWaitMs: 0 }));
    const form = new FormData();
    form.append('file', new Blob([png], { type: 'image/png' }), 'a.png');
    const answer = (await (await fetch(`http://127.0.0.1:${port}/predict`, { method: 'POST', body: form })).json()) as { model: { version: string } };
    assert.equal(answer.model.version, '2');
    // quietMs, not drainMs (10 min), once nothing is in flight.
    await serve.close({ drainMs: LONG, quietMs: 50 });
    assert.equal(await inFlight(serve), 0);
  });

  test('a slow upload does not hold up a hot swap: the swap completes mid-upload and the new version answers it', { timeout: 120_000 }, async () => {
    const { serve, port } = await heldServer();
    const body = multipartBody('slowB0undary', png);
    const request = httpRequest('POST', '/predict', { 'content-type': 'multipart/form-data; boundary=slowB0undary' }, body);
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await new Promise((resolve) => socket.once('connect', resolve));
    const half = request.length - Math.floor(body.length / 2);
    socket.write(request.subarray(0, half));
    await waitFor(async () => (await inFlight(serve)) === 1);
    // With the model leased from the start of the request, this would wait swapTimeoutMs (10 min).
    await serve.setModel(await loadServedModel(join(dir, 'v2'), { version: '2', maxWaitMs: 0 }));
    socket.write(request.subarray(half));
    await closed;
    const text = Buffer.concat(received).toString('utf8');
    assert.match(text, /^HTTP\/1\.1 200/);
    assert.equal((JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { model: { version: string } }).model.version, '2');
    await serve.close({ drainMs: LONG, quietMs: 50 });
  });

  test('a multipart upload cut off midway and one dropped after its body: info lines with the request id, no error line', { timeout: 120_000 }, async () => {
    const logs = memoryLogger();
    const { serve, port, arrival } = await heldServer({ logger: logs.logger });
    const body = multipartBody('b0undary', jpeg, { type: 'image/jpeg' });
    await sendAndHangUp(port, httpRequest('POST', '/predict', { 'content-type': 'multipart/form-data; boundary=b0undary' }, body), { bytes: Math.floor(body.length / 2) });
    await sendAndHangUp(port, httpRequest('POST', '/predict', { 'content-type': 'image/jpeg', 'x-hold': 1 }, jpeg), { until: arrival });
    await waitFor(async () => (await inFlight(serve)) === 0 && logs.lines().filter((line) => line.message === 'client closed the connection before the answer').length === 2);
    await serve.close({ drainMs: LONG, quietMs: 50 });
    const aborts = logs.lines().filter((line) => line.message === 'client closed the connection before the answer');
    for (const line of aborts) {
      assert.equal(line.level, 'info');
      assert.match(String(line.request_id), /\S/);
      assert.equal(line.url, '/predict');
    }
    assert.notEqual(aborts[0]!.request_id, aborts[1]!.request_id);
    assert.deepEqual(logs.lines().filter((line) => line.level === 'error' || line.level === 'fatal' || line.level === 'warn'), []);
  });

  test('requests refused before the handler (401 without the API key) leave the gauge at 0, not below', { timeout: 120_000 }, async () => {
    const { serve, port } = await heldServer({ access: { apiKeys: ['s3cret-key'] } });
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`http://127.0.0.1:${port}/predict`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: png })).status, 401);
    const ok = await fetch(`http://127.0.0.1:${port}/predict`, { method: 'POST', headers: { 'content-type': 'image/png', 'x-api-key': 's3cret-key' }, body: png });
    assert.equal(ok.status, 200);
    // Counted out by now or shortly: a request counted out without being counted in would leave it below 0.
    await waitFor(async () => (await inFlight(serve)) <= 0);
    assert.equal(await inFlight(serve), 0);
    await serve.close({ drainMs: LONG, quietMs: 50 });
  });
});
