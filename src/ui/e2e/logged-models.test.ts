/**
 * The web UI's "Logged models" page in Chromium: a model created through the REST API (as an
 * MLflow 3 client's log_model does: create with a source run, metrics logged with model_id,
 * finalize) appears with its status, run, metrics, params and tags; the filter box narrows it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { API, call, startTestServer, type TestServer } from '../../tracking/server/test-helpers.js';
import { launchChromium, SKIP_WITHOUT_CHROMIUM } from './browser.js';

describe('web UI: logged models', { skip: SKIP_WITHOUT_CHROMIUM }, () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];

  before(async () => {
    server = await startTestServer();
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const rest = async (method: string, path: string, body?: object) => {
    const reply = await call(server.url, method, `${API}/${path}`, body);
    assert.equal(reply.status, 200, reply.text);
    return reply.json;
  };

  test('a model created through the REST API is listed with its status, run, metrics, params and tags', async () => {
    const { experiment_id: experimentId } = await rest('POST', 'experiments/create', { name: 'ui-logged-models' });
    const runId = (await rest('POST', 'runs/create', { experiment_id: experimentId })).run.info.run_id as string;
    const { model } = await rest('POST', 'logged-models', {
      experiment_id: experimentId,
      name: 'shoe-classifier',
      source_run_id: runId,
      params: [{ key: 'lr', value: '0.01' }],
      tags: [{ key: 'stage', value: 'prod' }],
    });
    const id = model.info.model_id as string;
    await rest('POST', 'runs/log-batch', { run_id: runId, metrics: [{ key: 'acc', value: 0.93, timestamp: 1, step: 3, model_id: id }] });
    await rest('PATCH', `logged-models/${id}`, { status: 'LOGGED_MODEL_READY' });

    await page.goto(`${server.url}/#/experiments`);
    await page.click('nav >> text=Logged models');
    const row = await page.waitForSelector(`tr[data-logged-model="${id}"]`);
    const text = (await row.textContent()) ?? '';
    for (const part of ['shoe-classifier', id, 'READY', 'ui-logged-models', runId.slice(0, 8), 'acc=0.93', 'lr=0.01', 'stage=prod']) {
      assert.ok(text.includes(part), `row shows ${part}: ${text}`);
    }
    assert.equal(await row.$eval('a[href^="#/runs/"]', (a) => a.getAttribute('href')), `#/runs/${runId}`);

    await page.fill('input[aria-label="filter logged models"]', 'metrics.acc > 0.99');
    await page.keyboard.press('Enter');
    await page.waitForSelector('text=No logged models matching metrics.acc > 0.99');
    await page.fill('input[aria-label="filter logged models"]', "tags.stage = 'prod'");
    await page.keyboard.press('Enter');
    await page.waitForSelector(`tr[data-logged-model="${id}"]`);
    assert.deepEqual(consoleErrors, []);
  });
});
