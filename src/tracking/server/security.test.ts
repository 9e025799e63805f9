/**
 * The tracking server refuses what a web page on another site could forge (HTTP level; the same
 * attacks from a real browser are in src/ui/e2e/cross-origin.test.ts):
 * Host validation against DNS rebinding, cross-origin writes and preflights refused before
 * authentication, CORS headers only for allowed origins, security headers on every answer, and
 * API writes only as application/json (415) while artifact uploads keep their own types.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { API, ARTIFACTS, call, rawRequest, startTestServer, type TestServer } from './test-helpers.js';

const BASIC = `Basic ${Buffer.from('ana:open sesame').toString('base64')}`;
const JSON_TYPE = { 'content-type': 'application/json' };

async function experimentNames(server: TestServer): Promise<string[]> {
  const reply = await call(server.url, 'POST', `${API}/experiments/search`, { max_results: 1000, view_type: 'ALL' }, { authorization: BASIC });
  return (reply.json.experiments as { name: string }[]).map((e) => e.name);
}

describe('tracking server security: Host validation (DNS rebinding)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.close();
  });

  test('loopback names on any port are answered by default', async () => {
    const port = new URL(server.url).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, '[::1]:8080', 'localhost']) {
      const reply = await rawRequest(server.url, 'GET', `${API}/experiments/search`, undefined, { host });
      assert.equal(reply.status, 200, `${host}: ${reply.text}`);
    }
  });

  test('a rebound name, an odd Host or none is 403 PERMISSION_DENIED, for reads and writes alike', async () => {
    const port = new URL(server.url).port;
    for (const host of [`attacker.example:${port}`, `localhost.attacker.example:${port}`, `127.0.0.1.nip.io:${port}`, 'localhost:5000@evil']) {
      for (const method of ['GET', 'POST'] as const) {
        const body = method === 'POST' ? JSON.stringify({ name: 'rebound' }) : undefined;
        const reply = await rawRequest(server.url, method, `${API}/experiments/${method === 'GET' ? 'search' : 'create'}`, body, { host, ...JSON_TYPE });
        assert.equal(reply.status, 403, `${method} with Host ${host}`);
        assert.equal(JSON.parse(reply.text).error_code, 'PERMISSION_DENIED');
        assert.match(JSON.parse(reply.text).message, /^Invalid Host header - possible DNS rebinding attack detected/);
      }
    }
    const { hostname, port: p } = new URL(server.url);
    const noHost = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(p), hostname, () => socket.end(`GET ${API}/experiments/search HTTP/1.0\r\n\r\n`));
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
      socket.on('end', () => resolve(answer));
      socket.on('error', reject);
    });
    assert.match(noHost, /^HTTP\/1\.[01] 403/);
    const page = await rawRequest(server.url, 'GET', '/', undefined, { host: 'attacker.example' });
    assert.equal(page.status, 403);
    assert.ok(!(await experimentNames(server)).includes('rebound'));
  });

  test('/health and /version answer whatever the Host, as in MLflow', async () => {
    for (const path of ['/health', '/version']) {
      assert.equal((await rawRequest(server.url, 'GET', path, undefined, { host: 'prober.internal:5000' })).status, 200, path);
    }
    assert.equal((await rawRequest(server.url, 'GET', '/metrics', undefined, { host: 'prober.internal:5000' })).status, 403);
  });

  test('--allowed-hosts patterns replace the defaults; "*" accepts any Host', async () => {
    const custom = await startTestServer({ security: { allowedHosts: ['tracking', '*.corp.example', '10.0.0.5:5000'] } });
    try {
      const status = async (host: string) => (await rawRequest(custom.url, 'GET', `${API}/experiments/search`, undefined, { host })).status;
      assert.equal(await status('tracking:5000'), 200);
      assert.equal(await status('ml.corp.example:443'), 200);
      assert.equal(await status('10.0.0.5:5000'), 200);
      assert.equal(await status('10.0.0.5:5001'), 403);
      assert.equal(await status('corp.example.attacker.example'), 403);
      assert.equal(await status(`127.0.0.1:${new URL(custom.url).port}`), 403);
    } finally {
      await custom.close();
    }
    const open = await startTestServer({ security: { allowedHosts: ['*'] } });
    try {
      assert.equal((await rawRequest(open.url, 'GET', `${API}/experiments/search`, undefined, { host: 'anything.example' })).status, 200);
    } finally {
      await open.close();
    }
  });
});

describe('tracking server security: cross-origin requests and CORS', () => {
  let server: TestServer;
  let url: string;
  before(async () => {
    server = await startTestServer({ auth: { basic: { username: 'ana', password: 'open sesame' } } });
    url = server.url;
  });
  after(async () => {
    await server.close();
  });

  test('a write from another origin is 403 even with valid credentials, and changes nothing', async () => {
    for (const origin of ['https://attacker.example', 'http://127.0.0.1:1', 'http://localhost:3000', 'null']) {
      const reply = await call(url, 'POST', `${API}/experiments/create`, { name: `from-${origin}` }, { origin, authorization: BASIC });
      assert.equal(reply.status, 403, origin);
      assert.equal(reply.json.error_code, 'PERMISSION_DENIED');
      assert.match(reply.json.message, /^Cross-origin request blocked/);
      assert.equal(reply.headers.get('access-control-allow-origin'), null);
      assert.equal(reply.headers.get('www-authenticate'), null, 'refused before authentication: no credential prompt');
    }
    for (const method of ['PUT', 'DELETE']) {
      const reply = await call(url, method, `${ARTIFACTS}/x.txt`, undefined, { origin: 'https://attacker.example', authorization: BASIC });
      assert.equal(reply.status, 403, method);
    }
    assert.deepEqual((await experimentNames(server)).filter((n) => n.startsWith('from-')), []);
  });

  test('the server\'s own pages (Origin = the Host they were served from) write normally', async () => {
    const reply = await call(url, 'POST', `${API}/experiments/create`, { name: 'same-origin' }, { origin: url, authorization: BASIC });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.headers.get('access-control-allow-origin'), url);
  });

  test('a cross-origin read gets its answer but no CORS headers, so the browser withholds it', async () => {
    const reply = await call(url, 'GET', `${API}/experiments/search`, undefined, { origin: 'https://attacker.example', authorization: BASIC });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers.get('access-control-allow-origin'), null);
    assert.equal(reply.headers.get('access-control-allow-credentials'), null);
  });

  test('preflights: denied for other origins (403, before the 401 a preflight without credentials would get), 204 for allowed ones', async () => {
    const preflight = (origin: string, base = url) =>
      call(base, 'OPTIONS', `${API}/experiments/create`, undefined, { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' });
    const denied = await preflight('https://attacker.example');
    assert.equal(denied.status, 403);
    assert.equal(denied.headers.get('access-control-allow-origin'), null);
    assert.equal(denied.headers.get('access-control-allow-methods'), null);

    const allowedServer = await startTestServer({
      auth: { basic: { username: 'ana', password: 'open sesame' } },
      security: { corsAllowedOrigins: ['https://app.corp.example', 'http://localhost:*'] },
    });
    try {
      for (const origin of ['https://app.corp.example', 'http://localhost:3000']) {
        const allowed = await preflight(origin, allowedServer.url);
        assert.equal(allowed.status, 204, origin);
        assert.equal(allowed.headers.get('access-control-allow-origin'), origin);
        assert.equal(allowed.headers.get('access-control-allow-credentials'), 'true');
        assert.match(allowed.headers.get('access-control-allow-methods') ?? '', /POST/);
        assert.match(allowed.headers.get('access-control-allow-headers') ?? '', /Content-Type/i);
        assert.match(allowed.headers.get('vary') ?? '', /Origin/);
        const write = await call(allowedServer.url, 'POST', `${API}/experiments/create`, { name: `cors-${origin.length}` }, { origin, authorization: BASIC });
        assert.equal(write.status, 200, write.text);
        assert.equal(write.headers.get('access-control-allow-origin'), origin);
      }
      assert.equal((await preflight('https://attacker.example', allowedServer.url)).status, 403);
      assert.equal((await preflight('https://app.corp.example.attacker.example', allowedServer.url)).status, 403);
    } finally {
      await allowedServer.close();
    }
  });
});

describe('tracking server security: headers', () => {
  test('every answer carries nosniff, X-Frame-Options SAMEORIGIN, CORP and Referrer-Policy; the UI CSP agrees', async () => {
    const server = await startTestServer();
    try {
      for (const path of ['/health', `${API}/experiments/search`, `${API}/nope`, '/']) {
        const reply = await call(server.url, 'GET', path);
        assert.equal(reply.headers.get('x-content-type-options'), 'nosniff', path);
        assert.equal(reply.headers.get('x-frame-options'), 'SAMEORIGIN', path);
        assert.equal(reply.headers.get('cross-origin-resource-policy'), 'same-origin', path);
        assert.equal(reply.headers.get('referrer-policy'), 'no-referrer', path);
      }
      const page = await call(server.url, 'GET', '/');
      if (page.status === 200) assert.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'self'/);
    } finally {
      await server.close();
    }
  });

  test('--x-frame-options DENY and NONE; --disable-security-middleware turns the checks and headers off', async () => {
    const deny = await startTestServer({ security: { xFrameOptions: 'DENY' } });
    try {
      assert.equal((await call(deny.url, 'GET', '/health')).headers.get('x-frame-options'), 'DENY');
    } finally {
      await deny.close();
    }
    const none = await startTestServer({ security: { xFrameOptions: 'NONE' } });
    try {
      const reply = await call(none.url, 'GET', '/health');
      assert.equal(reply.headers.get('x-frame-options'), null);
      assert.equal(reply.headers.get('x-content-type-options'), 'nosniff');
    } finally {
      await none.close();
    }
    const off = await startTestServer({ security: { disabled: true } });
    try {
      const rebound = await rawRequest(off.url, 'GET', `${API}/experiments/search`, undefined, { host: 'attacker.example' });
      assert.equal(rebound.status, 200);
      assert.equal(rebound.headers['x-frame-options'], undefined);
      const crossOrigin = await call(off.url, 'POST', `${API}/experiments/create`, { name: 'off' }, { origin: 'https://attacker.example' });
      assert.equal(crossOrigin.status, 200);
      // The JSON-only rule is API validation, not middleware: it holds even here.
      const form = await call(off.url, 'POST', `${API}/experiments/create`, 'name=x', { 'content-type': 'application/x-www-form-urlencoded' });
      assert.equal(form.status, 415);
    } finally {
      await off.close();
    }
  });
});

describe('tracking server: API writes only as application/json', () => {
  let server: TestServer;
  let url: string;
  before(async () => {
    server = await startTestServer();
    url = server.url;
  });
  after(async () => {
    await server.close();
  });

  test('every type a page can send without a preflight is 415, in MLflow\'s shape and words', async () => {
    const forged = '{"name": "forged", "x": "="}';
    for (const type of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp', 'text/json']) {
      for (const path of ['experiments/create', 'runs/delete', 'registered-models/alias']) {
        const reply = await call(url, 'POST', `${API}/${path}`, forged, { 'content-type': type });
        assert.equal(reply.status, 415, `${type} → ${path}`);
        assert.equal(reply.json.error_code, 'INVALID_PARAMETER_VALUE');
        assert.match(reply.json.message, /^Bad Request\. Content-Type must be one of \['application\/json'\]/);
        assert.deepEqual(Object.keys(reply.json).sort(), ['error_code', 'message']);
      }
    }
    const untyped = await rawRequest(url, 'POST', `${API}/experiments/create`, forged);
    assert.equal(untyped.status, 415);
    assert.match(untyped.text, /no Content-Type header/);
    for (const method of ['PATCH', 'DELETE']) {
      const reply = await call(url, method, `${API}/registered-models/${method === 'PATCH' ? 'update' : 'delete'}`, '{"name":"m"}', { 'content-type': 'text/plain' });
      assert.equal(reply.status, 415, method);
    }
    const names = (await call(url, 'POST', `${API}/experiments/search`, { max_results: 1000 })).json.experiments as { name: string }[];
    assert.ok(!names.some((e) => e.name === 'forged'));
  });

  test('application/json (any parameters, any case) works; a DELETE may carry no body at all', async () => {
    const created = await call(url, 'POST', `${API}/registered-models/create`, JSON.stringify({ name: 'typed' }), { 'content-type': 'Application/JSON; charset=utf-8' });
    assert.equal(created.status, 200, created.text);
    const deleted = await call(url, 'DELETE', `${API}/registered-models/delete?name=typed`);
    assert.equal(deleted.status, 200, deleted.text);
    assert.equal((await call(url, 'GET', `${API}/experiments/search`)).status, 200);
  });

  test('artifact uploads keep their own content types', async () => {
    for (const [path, type] of [
      ['notes.txt', 'text/plain'],
      ['form.bin', 'application/x-www-form-urlencoded'],
      ['model.onnx', 'application/octet-stream'],
    ]) {
      const put = await fetch(`${url}${ARTIFACTS}/types/${path}`, { method: 'PUT', body: 'bytes', headers: { 'content-type': type } });
      assert.equal(put.status, 200, `${type}: ${await put.text()}`);
    }
    const untyped = await rawRequest(url, 'PUT', `${ARTIFACTS}/types/untyped.bin`, 'bytes');
    assert.equal(untyped.status, 200, untyped.text);
  });
});
