/**
 * The web UI behind the tracking server's HTTP basic authentication: the browser asks once, then
 * sends the credentials with every request the UI makes (same origin).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { firstJsonLine, KILN_BIN } from '../../cli/test-helpers.js';
import { launchChromium, SKIP_WITHOUT_CHROMIUM } from './browser.js';

describe('the web UI with basic authentication on', { skip: SKIP_WITHOUT_CHROMIUM }, () => {
  let home = '';
  let child: ChildProcess | null = null;
  let url = '';
  let browser: Browser;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'kiln-ui-auth-'));
    child = spawn(process.execPath, [KILN_BIN, 'server', '--home', home, '--port', '0', '--json'], {
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, KILN_SERVER_USERNAME: 'ana', KILN_SERVER_PASSWORD: 'open sesame' },
    });
    url = (await firstJsonLine(child)).url as string;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    child?.kill('SIGTERM');
    await rm(home, { recursive: true, force: true });
  });

  test('without credentials the page is refused with a basic-auth challenge', async () => {
    const response = await fetch(`${url}/`);
    assert.equal(response.status, 401);
    assert.match(response.headers.get('www-authenticate') ?? '', /^Basic realm="kiln"/);
  });

  test('with credentials every page works, including a write (creating an experiment)', async () => {
    const context = await browser.newContext({ httpCredentials: { username: 'ana', password: 'open sesame' } });
    const page = await context.newPage();
    const failures: string[] = [];
    page.on('response', (response) => {
      if (response.status() >= 400) failures.push(`HTTP ${response.status()} ${response.url()}`);
    });
    await page.goto(`${url}/#/experiments`);
    await page.waitForSelector('table[aria-label="experiments"] tbody tr');
    await page.fill('input[aria-label="new experiment name"]', 'behind-auth');
    await page.keyboard.press('Enter');
    await page.waitForSelector('text=behind-auth');
    const listed = (await (
      await fetch(`${url}/api/2.0/mlflow/experiments/get-by-name?experiment_name=behind-auth`, { headers: { authorization: `Basic ${Buffer.from('ana:open sesame').toString('base64')}` } })
    ).json()) as { experiment?: { name: string } };
    assert.equal(listed.experiment?.name, 'behind-auth');
    for (const hash of ['#/studies', '#/models']) {
      await page.goto(`${url}/${hash}`);
      await page.waitForLoadState('networkidle');
    }
    assert.deepEqual(failures, []);
    await context.close();
  });
});
