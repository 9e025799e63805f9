import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { initEngine } from '../engine/index.js';
import { TEST_MLP, writeTestModelFolder } from '../models/onnx/test-helpers.js';
import type { AccessOptions } from './access.js';
import { buildServeApp, loadServedModel, type ServeApp } from './index.js';

const PIXELS = { images: [Array.from({ length: 784 }, (_, i) => i % 256)] };

async function post(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/predict/batch`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(PIXELS) });
}

describe('access control: API keys, rate limiting and CORS', () => {
  let dir: string;
  let folder: string;
  const running: ServeApp[] = [];

  async function start(access: AccessOptions): Promise<string> {
    const serve = buildServeApp({ access, defaultMetrics: false });
    await serve.setModel(await loadServedModel(folder, { maxWaitMs: 0 }));
    await serve.app.listen({ port: 0, host: '127.0.0.1' });
    running.push(serve);
    const address = serve.app.server.address();
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  before(async () => {
    await initEngine({ quiet: true });
    dir = await mkdtemp(join(tmpdir(), 'kiln-access-'));
    folder = join(dir, 'model');
    (await writeTestModelFolder(folder, TEST_MLP)).dispose();
  });
  after(async () => {
    await Promise.all(running.map((serve) => serve.close()));
    await rm(dir, { recursive: true, force: true });
  });

  test('with API keys, model routes need one (Bearer or X-API-Key); health, readiness, metrics and docs stay open', async () => {
    const url = await start({ apiKeys: ['alpha-key', 'beta-key'] });
    const missing = await post(url);
    assert.equal(missing.status, 401);
    assert.equal(missing.headers.get('www-authenticate'), 'Bearer');
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'UNAUTHORIZED');
    const wrong = await post(url, { authorization: 'Bearer alpha-kex' });
    assert.equal(wrong.status, 401);
    assert.match(((await wrong.json()) as { error: { message: string } }).error.message, /not valid/);
    assert.equal((await post(url, { authorization: 'Bearer alpha-key' })).status, 200);
    assert.equal((await post(url, { 'x-api-key': 'beta-key' })).status, 200);
    for (const path of ['/health', '/ready', '/metrics', '/v2/health/live', '/v2/health/ready', '/docs/json']) {
      assert.equal((await fetch(`${url}${path}`)).status, 200, path);
    }
    const kserve = await fetch(`${url}/v2/models/fashion-mnist`);
    assert.equal(kserve.status, 401, 'model metadata is a model route');
  });

  test('a rate limit answers 429 with a retry time once a client has spent its budget; other clients and open routes are unaffected', async () => {
    const url = await start({ apiKeys: ['one', 'two'], rateLimit: { max: 3, windowMs: 60_000 } });
    for (let i = 0; i < 3; i++) assert.equal((await post(url, { 'x-api-key': 'one' })).status, 200);
    const limited = await post(url, { 'x-api-key': 'one' });
    assert.equal(limited.status, 429);
    const body = (await limited.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'RATE_LIMITED');
    assert.match(body.error.message, /at most 3 requests per 60 s; retry in \d+ s/);
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    assert.equal((await post(url, { 'x-api-key': 'two' })).status, 200, 'another key has its own budget');
    for (let i = 0; i < 5; i++) assert.equal((await fetch(`${url}/health`)).status, 200);
  });

  test('CORS: any origin by default, a list when configured, none when switched off; preflight answered', async () => {
    const open = await start({});
    const anyOrigin = await post(open, { origin: 'https://somewhere.example' });
    assert.equal(anyOrigin.headers.get('access-control-allow-origin'), '*');

    const listed = await start({ corsOrigins: ['https://app.example'] });
    const preflight = await fetch(`${listed}/predict`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-api-key' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://app.example');
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /X-API-Key/i);
    const other = await post(listed, { origin: 'https://evil.example' });
    assert.equal(other.headers.get('access-control-allow-origin'), null);

    const none = await start({ corsOrigins: [] });
    assert.equal((await post(none, { origin: 'https://app.example' })).headers.get('access-control-allow-origin'), null);
  });
});
