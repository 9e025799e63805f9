/**
 * A web page on another origin cannot write to a local `kiln server`, in a real browser (Debian's
 * Chromium), with and without basic authentication — and with credentials the browser already
 * holds for the server, the case basic auth alone cannot stop:
 * - a page on another port of 127.0.0.1 submits `<form enctype="text/plain">` posts (the trick
 *   that makes a form body valid JSON) to create an experiment and move `@champion`, and sends
 *   no-cors `fetch` posts to create an experiment and delete a run; a CORS-mode JSON `fetch`
 *   is stopped at its preflight;
 * - a DNS-rebinding page (a name the browser resolves to 127.0.0.1, so the page and the server
 *   share an origin) can neither write nor read;
 * and the server's own web UI still reads and writes, at 127.0.0.1 and at localhost.
 * Every attack is seen reaching the server (its 403 in the server's access log), so none passes
 * by not running. Chromium's Private/Local Network Access checks, which would stop the rebinding
 * page before the server sees it, are switched off: other browsers have none, and the server
 * must not rely on them.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import { firstJsonLine, KILN_BIN } from '../../cli/test-helpers.js';
import { launchChromium, SKIP_WITHOUT_CHROMIUM } from './browser.js';

const API = '/api/2.0/mlflow';
const REBIND_NAME = 'rebind.test';
const USER = { username: 'ana', password: 'open sesame' };
const BROWSER_ARGS = [
  `--host-resolver-rules=MAP ${REBIND_NAME} 127.0.0.1`,
  '--disable-features=BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights,LocalNetworkAccessChecks',
];

interface AccessLine {
  message?: string;
  req?: { method: string; url: string };
  res?: { statusCode: number };
}

/** The server's access-log lines so far (the file is appended to as requests complete). */
function accessLines(logDir: string): AccessLine[] {
  let text = '';
  try {
    text = readFileSync(join(logDir, 'tracking_log.log'), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as AccessLine)
    .filter((line) => line.message === 'request completed');
}

/** The few browser globals the page predicates touch (the Node build has no DOM types). */
interface BrowserGlobals {
  document: { title: string };
  results?: string[];
}

const CONFIGS = [
  { name: 'without authentication', credentials: undefined },
  { name: 'with basic authentication, the browser holding valid credentials', credentials: USER },
] as const;

/** The attacker's page: two text/plain forms into hidden frames, then three fetches. */
function attackPage(api: string, runId: string): string {
  // text/plain forms send `name=value`: with this split the body is `{...,"x":"="}`, valid JSON.
  const field = (json: string): string => `<input name='${json.slice(0, -1)},"x":"' value='"}'>`;
  return `<!doctype html><html><head><title>attack</title></head><body>
<iframe name="sink1"></iframe><iframe name="sink2"></iframe>
<form id="create" method="POST" enctype="text/plain" target="sink1" action="${api}/experiments/create">${field('{"name":"pwned-form"}')}</form>
<form id="alias" method="POST" enctype="text/plain" target="sink2" action="${api}/registered-models/alias">${field('{"name":"clf","alias":"champion","version":"2"}')}</form>
<script>
document.getElementById('create').submit();
document.getElementById('alias').submit();
const post = (path, init) => fetch('${api}' + path, { method: 'POST', credentials: 'include', ...init })
  .then((r) => r.type + ':' + r.status, (e) => 'rejected:' + e.name);
Promise.all([
  post('/experiments/create', { mode: 'no-cors', body: JSON.stringify({ name: 'pwned-no-cors' }) }),
  post('/runs/delete', { mode: 'no-cors', body: JSON.stringify({ run_id: '${runId}' }) }),
  post('/experiments/create', { mode: 'cors', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'pwned-cors' }) }),
]).then((results) => { window.results = results; document.title = 'done'; });
</script></body></html>`;
}

/** The rebinding page: same origin as the server in the browser's eyes, so it may read answers. */
const REBIND_PAGE = `<!doctype html><html><head><title>rebind</title></head><body><script>
const status = (init, path) => fetch('${API}' + path, init).then((r) => String(r.status), (e) => 'rejected:' + e.name);
Promise.all([
  status({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'pwned-rebind' }) }, '/experiments/create'),
  status({ method: 'GET' }, '/experiments/search?max_results=10'),
]).then((results) => { window.results = results; document.title = 'done'; });
</script></body></html>`;

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

for (const config of CONFIGS) {
  describe(`a page on another origin cannot write to kiln server (${config.name})`, { skip: SKIP_WITHOUT_CHROMIUM }, () => {
    let home = '';
    let logDir = '';
    let child: ChildProcess | null = null;
    let url = '';
    let attacker: Server;
    let attackerUrl = '';
    let browser: Browser;
    let context: BrowserContext;
    let runId = '';

    const headers = (json: boolean): Record<string, string> => ({
      ...(json ? { 'content-type': 'application/json' } : {}),
      ...(config.credentials ? { authorization: `Basic ${Buffer.from(`${USER.username}:${USER.password}`).toString('base64')}` } : {}),
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test assertions walk arbitrary JSON
    const api = async (method: string, path: string, body?: object): Promise<any> => {
      const response = await fetch(`${url}${API}/${path}`, { method, headers: headers(body !== undefined), body: body ? JSON.stringify(body) : undefined });
      const text = await response.text();
      assert.equal(response.status, 200, `${method} ${path}: ${text}`);
      return JSON.parse(text);
    };
    const experimentNames = async (): Promise<string[]> =>
      ((await api('POST', 'experiments/search', { max_results: 1000, view_type: 'ALL' })).experiments as { name: string }[]).map((e) => e.name);

    before(async () => {
      home = await mkdtemp(join(tmpdir(), 'kiln-cross-origin-'));
      logDir = join(home, 'logs');
      child = spawn(process.execPath, [KILN_BIN, 'server', '--home', home, '--port', '0', '--json', '--log-dir', logDir], {
        stdio: ['ignore', 'pipe', 'ignore'],
        env: { ...process.env, KILN_SERVER_USERNAME: config.credentials?.username ?? '', KILN_SERVER_PASSWORD: config.credentials?.password ?? '' },
      });
      url = (await firstJsonLine(child)).url as string;

      const experimentId = (await api('POST', 'experiments/create', { name: 'victim' })).experiment_id as string;
      runId = (await api('POST', 'runs/create', { experiment_id: experimentId })).run.info.run_id as string;
      await api('POST', 'registered-models/create', { name: 'clf' });
      for (const n of [1, 2]) await api('POST', 'model-versions/create', { name: 'clf', source: `mlflow-artifacts:/models/clf/${n}` });
      await api('POST', 'registered-models/alias', { name: 'clf', alias: 'champion', version: '1' });

      attacker = createServer((request, response) => {
        const page = request.url?.startsWith('/attack.html') ? attackPage(`${url}${API}`, runId) : undefined;
        response.writeHead(page ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' }).end(page ?? 'not found');
      });
      await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
      attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;

      browser = await launchChromium(BROWSER_ARGS);
      context = await browser.newContext(config.credentials ? { httpCredentials: { ...config.credentials } } : {});
    });
    after(async () => {
      await context?.close();
      await browser?.close();
      await new Promise((resolve) => attacker?.close(resolve));
      child?.kill('SIGTERM');
      await rm(home, { recursive: true, force: true });
    });

    test('text/plain forms and no-cors fetches from 127.0.0.1:<other port> reach the server and are refused; nothing changes', async () => {
      const before = accessLines(logDir).length;
      const page = await context.newPage();
      await page.goto(`${attackerUrl}/attack.html`);
      await page.waitForFunction(() => (globalThis as unknown as BrowserGlobals).document.title === 'done', undefined, { timeout: 60_000 });
      // Two form posts and two no-cors fetches reach the server; the CORS fetch ends at its preflight.
      const forged = await until('the server\'s answers to the forged requests', () => {
        const lines = accessLines(logDir).slice(before).filter((line) => line.req?.url.startsWith(API));
        const posts = lines.filter((line) => line.req?.method === 'POST');
        return posts.length >= 4 && lines.some((line) => line.req?.method === 'OPTIONS') ? lines : undefined;
      });
      assert.deepEqual(
        forged.map((line) => `${line.req?.method} ${line.req?.url} ${line.res?.statusCode}`).sort(),
        [
          `OPTIONS ${API}/experiments/create 403`,
          `POST ${API}/experiments/create 403`,
          `POST ${API}/experiments/create 403`,
          `POST ${API}/registered-models/alias 403`,
          `POST ${API}/runs/delete 403`,
        ],
      );
      const results = await page.evaluate(() => (globalThis as unknown as BrowserGlobals).results);
      assert.equal(results?.[2], 'rejected:TypeError', 'the CORS fetch is stopped by its preflight');
      await page.close();

      assert.deepEqual((await experimentNames()).filter((name) => name.startsWith('pwned')), []);
      assert.equal((await api('GET', `registered-models/alias?name=clf&alias=champion`)).model_version.version, '1');
      assert.equal((await api('GET', `runs/get?run_id=${runId}`)).run.info.lifecycle_stage, 'active');
    });

    test('a DNS-rebinding page (another name for 127.0.0.1, same origin to the browser) can neither write nor read', async () => {
      const port = new URL(url).port;
      const origin = `http://${REBIND_NAME}:${port}`;
      const page = await context.newPage();
      // The attacker's server answers the first lookup; then the name points at the tracking server.
      await page.route(`${origin}/rebind.html`, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: REBIND_PAGE }));
      const before = accessLines(logDir).length;
      await page.goto(`${origin}/rebind.html`);
      await page.waitForFunction(() => (globalThis as unknown as BrowserGlobals).document.title === 'done', undefined, { timeout: 60_000 });
      assert.deepEqual(await page.evaluate(() => (globalThis as unknown as BrowserGlobals).results), ['403', '403']);
      const seen = await until('the server\'s answers to the rebound requests', () => {
        const lines = accessLines(logDir).slice(before);
        return lines.length >= 2 ? lines : undefined;
      });
      assert.deepEqual(seen.map((line) => `${line.req?.method} ${line.res?.statusCode}`).sort(), ['GET 403', 'POST 403']);
      await page.close();
      assert.ok(!(await experimentNames()).includes('pwned-rebind'));
    });

    test('the server\'s own web UI still reads and writes, at 127.0.0.1 and at localhost', async () => {
      const port = new URL(url).port;
      for (const [base, name] of [
        [url, 'made-in-ui'],
        [`http://localhost:${port}`, 'made-via-localhost'],
      ] as const) {
        const page = await context.newPage();
        const failures: string[] = [];
        page.on('response', (response) => {
          if (response.status() >= 400) failures.push(`HTTP ${response.status()} ${response.url()}`);
        });
        await page.goto(`${base}/#/experiments`);
        await page.waitForSelector('table[aria-label="experiments"] tbody tr');
        await page.fill('input[aria-label="new experiment name"]', name);
        await page.keyboard.press('Enter');
        await page.waitForSelector(`text=${name}`);
        assert.deepEqual(failures, [], base);
        await page.close();
        assert.ok((await experimentNames()).includes(name), name);
      }
    });
  });
}
