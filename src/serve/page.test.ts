import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { buildServeApp, type ServeApp } from './index.js';

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

describe('home page (GET /)', () => {
  let serve: ServeApp;
  let url: string;

  before(async () => {
    // No model: the page itself must not need one.
    serve = buildServeApp({ defaultMetrics: false });
    await serve.app.listen({ port: 0, host: '127.0.0.1' });
    const address = serve.app.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  after(async () => {
    await serve?.close();
  });

  test('is one small self-contained HTML document with the upload, canvas, buttons and class bars', async () => {
    const response = await fetch(`${url}/`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
    const html = await response.text();
    assert.ok(Buffer.byteLength(html) < 15 * 1024, `page is ${Buffer.byteLength(html)} bytes`);
    assert.ok(!/https?:\/\//i.test(html), 'no http:// or https:// reference');
    assert.ok(!/<script[^>]*\ssrc=|<link[^>]*\shref="(?!data:)/i.test(html), 'no external script or stylesheet (the icon is an empty data: URL)');
    assert.match(html, /<canvas id="pad" width="280" height="280"/);
    assert.match(html, /<input id="file"[^>]*type="file"/);
    assert.match(html, /<label for="file">/);
    assert.match(html, /id="clear"/);
    assert.match(html, /id="predict"/);
    assert.match(html, /<ol id="bars"/);
    // Nothing about one dataset: the page learns the model's input and classes from /ready.
    assert.match(html, /<title>Kiln classifier<\/title>/);
    assert.doesNotMatch(html, /Fashion-MNIST|784/);
    assert.match(html, /<p id="expects"/);
    assert.match(html, /<div id="draw">[\s\S]*<canvas id="pad"[\s\S]*<\/div>/);
    assert.match(html, /prefers-color-scheme:\s*dark/);
    // It talks to the API by the documented shapes.
    assert.match(html, /predict\?top_k=/);
    assert.match(html, /predict\/batch\?top_k=/);
    assert.match(html, /form\.append\('image'/);
  });

  test('its Content-Security-Policy forbids remote code and allows exactly the inline script and style', async () => {
    const response = await fetch(`${url}/`);
    const csp = response.headers.get('content-security-policy') ?? '';
    const html = await response.text();
    const directives = new Map(csp.split(';').map((d) => { const [name = '', ...values] = d.trim().split(/\s+/); return [name, values] as const; }));
    assert.deepEqual(directives.get('default-src'), ["'none'"]);
    assert.deepEqual(directives.get('connect-src'), ["'self'"]);
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!);
    assert.equal(scripts.length, 1);
    assert.equal(styles.length, 1);
    assert.deepEqual(directives.get('script-src'), [sha256(scripts[0]!)], 'script-src is the hash of the inline script, nothing else');
    assert.deepEqual(directives.get('style-src'), [sha256(styles[0]!)]);
    assert.ok(!/https?:|\*|'unsafe-inline'|'unsafe-eval'/.test(csp), csp);
    // The inline script at least parses.
    assert.doesNotThrow(() => new Function(scripts[0]!));
  });

  test('is not in the OpenAPI document, and the API routes still are', async () => {
    const doc = (await (await fetch(`${url}/docs/json`)).json()) as { paths: Record<string, unknown> };
    assert.equal(doc.paths['/'], undefined);
    assert.ok(doc.paths['/predict']);
    assert.ok(doc.paths['/predict/batch']);
  });

  test('the API the page calls answers JSON errors while no model is ready', async () => {
    const ready = await fetch(`${url}/ready`);
    assert.equal(ready.status, 503);
    const batch = await fetch(`${url}/predict/batch?top_k=1000`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ images: [new Array(784).fill(0)] }),
    });
    assert.equal(batch.status, 503);
    assert.equal(((await batch.json()) as { error: { code: string } }).error.code, 'MODEL_NOT_READY');
  });
});
