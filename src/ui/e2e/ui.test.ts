/**
 * The web UI end to end: a real `kiln tune` (short training and study) seeds a temp home, a real
 * `kiln server` serves it, and Debian's Chromium walks every page — experiments, runs (filter,
 * sort, select), compare, run detail with charts and artifacts, studies, the registry (moving an
 * alias through the confirmation dialog) — saving screenshots under .cache/ui-screenshots/.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { KILN_BIN, REAL_DATA, runKiln, SKIP_WITHOUT_DATA } from '../../cli/test-helpers.js';
import { launchChromium, openWatchedPage, SKIP_WITHOUT_CHROMIUM } from './browser.js';

const SHOTS = fileURLToPath(new URL('../../../../.cache/ui-screenshots/', import.meta.url));
const STUDY = 'ui-e2e';
const MODEL = 'fashion-mnist';

/** The few browser globals the page predicates touch (the Node build has no DOM types). */
interface BrowserGlobals {
  document: { querySelector(s: string): { getAttribute(n: string): string | null } | null; querySelectorAll(s: string): { length: number } };
  location: { hash: string };
  performance: { getEntriesByName(name: string): unknown[] };
}

interface TuneResult {
  trials: { total: number };
  best_trial: number;
  version: string;
  parent_run_id: string;
}

async function startServer(home: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [KILN_BIN, 'server', '--home', home, '--port', '0', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('close', (code) => reject(new Error(`kiln server exited (${String(code)}): ${err}`)));
  });
  return { url, child };
}

async function api<T>(base: string, path: string, init?: { method: string; body: object }): Promise<T> {
  const response = await fetch(`${base}/api/2.0/${path}`, init ? { method: init.method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(init.body) } : undefined);
  const body = (await response.json()) as T;
  assert.equal(response.status, 200, JSON.stringify(body));
  return body;
}

describe('web UI, end to end in Chromium against a server seeded by a real study', { skip: SKIP_WITHOUT_DATA || SKIP_WITHOUT_CHROMIUM }, () => {
  let home = '';
  let server: { url: string; child: ChildProcess };
  let browser: Browser;
  let page: Page;
  let tune: TuneResult;
  let experimentId = '';
  const consoleErrors: string[] = [];

  const shot = async (name: string): Promise<void> => {
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  };
  // Functions, not strings: the UI's CSP forbids eval, which Playwright uses for string predicates.
  const hashHas = (text: string): Promise<unknown> => page.waitForFunction((t) => (globalThis as unknown as BrowserGlobals).location.hash.includes(t), text);
  const rowsShown = (n: number): Promise<unknown> =>
    page.waitForFunction((count) => (globalThis as unknown as BrowserGlobals).document.querySelector('[aria-label="runs"]')?.getAttribute('data-rows') === String(count), n).then(() => page.waitForSelector('[aria-label="runs"][aria-busy="false"]'));
  const go = async (hash: string): Promise<void> => {
    await page.goto(`${server.url}/${hash}`);
  };

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'kiln-ui-'));
    await mkdir(SHOTS, { recursive: true });
    // Successive halving prunes at the first epoch, so the study shows pruned trials too.
    const run = await runKiln(['tune', '--profile', 'seed', '--study-name', STUDY, '--n-trials', '4', '--epochs', '2', '--pruner', 'successive-halving', '--home', home, '--data-dir', REAL_DATA ?? '', '--json']);
    assert.equal(run.code, 0, run.stderr);
    tune = run.json as unknown as TuneResult;
    server = await startServer(home);
    browser = await launchChromium();
    page = await openWatchedPage(browser, consoleErrors);
  });

  after(async () => {
    await browser?.close();
    server?.child.kill('SIGTERM');
    await rm(home, { recursive: true, force: true });
  });

  test('the UI is served at / from local files only, under a CSP that forbids other origins', async () => {
    const response = await fetch(`${server.url}/`);
    assert.equal(response.status, 200);
    const html = await response.text();
    assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.doesNotMatch(html, /https?:\/\//, 'no external URL in the page');
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await go('#/experiments');
    await page.waitForSelector('table[aria-label="experiments"] tbody tr');
    assert.ok(requests.length > 0 && requests.every((u) => u.startsWith(server.url) || u.startsWith('data:')), requests.join('\n'));
  });

  test('experiments: list, search, create, rename, delete and restore', async () => {
    await go('#/experiments');
    const names = await page.locator('tbody tr td:first-child a').allTextContents();
    assert.ok(names.length >= 1, 'the study created an experiment');
    await shot('01-experiments');

    await page.fill('input[aria-label="new experiment name"]', 'ui-scratch');
    await page.click('button:text("Create")');
    await page.waitForSelector('tr[data-experiment="ui-scratch"]');
    await page.fill('input[aria-label="search experiments"]', 'scratch');
    await page.press('input[aria-label="search experiments"]', 'Enter');
    await page.waitForFunction(() => (globalThis as unknown as BrowserGlobals).document.querySelectorAll('table[aria-label="experiments"] tbody tr').length === 1);
    assert.match(page.url(), /q=scratch/, 'the search is in the URL');

    await page.click('tr[data-experiment="ui-scratch"] button:text("Rename")');
    await page.fill('input[aria-label="new name"]', 'ui-renamed');
    await page.click('button:text("Save")');
    await go('#/experiments');
    await page.waitForSelector('tr[data-experiment="ui-renamed"]');
    page.once('dialog', (d) => void d.accept());
    await page.click('tr[data-experiment="ui-renamed"] button:text("Delete")');
    await page.waitForSelector('tr[data-experiment="ui-renamed"]', { state: 'detached' });
    await go('#/experiments?view=DELETED_ONLY');
    await page.click('tr[data-experiment="ui-renamed"] button:text("Restore")');
    await page.waitForSelector('tr[data-experiment="ui-renamed"]', { state: 'detached' });
    const restored = await api<{ experiment: { lifecycle_stage: string } }>(server.url, 'mlflow/experiments/get-by-name?experiment_name=ui-renamed');
    assert.equal(restored.experiment.lifecycle_stage, 'active');
  });

  test('runs: the study\'s runs in a table; filter with the search grammar, sort, pick columns, select and compare', async () => {
    const parent = await api<{ run: { info: { experiment_id: string } } }>(server.url, `mlflow/runs/get?run_id=${tune.parent_run_id}`);
    experimentId = parent.run.info.experiment_id;
    await go(`#/experiments/${experimentId}`);
    await page.waitForSelector('[role="grid"][aria-label="runs"][aria-busy="false"] .vrow');
    // The trials are nested under the study's parent run (MLflow's parentRunId), collapsed.
    assert.equal(Number(await page.getAttribute('[role="grid"][aria-label="runs"]', 'data-rows')), 1, 'the parent run, its trials under it');
    await page.click(`.vrow[data-key="${tune.parent_run_id}"] button[aria-expanded="false"]`);
    await rowsShown(tune.trials.total + 1);
    assert.equal(await page.evaluate(() => (globalThis as unknown as BrowserGlobals).performance.getEntriesByName('kiln:runs-table').length), 1, 'first render is marked');
    await shot('02-runs');

    await page.fill('input[aria-label="filter runs"]', `tags.mlflow.parentRunId = '${tune.parent_run_id}'`);
    await page.press('input[aria-label="filter runs"]', 'Enter');
    await rowsShown(tune.trials.total);
    assert.match(decodeURIComponent(page.url()), /filter=tags\.mlflow\.parentRunId/);

    // A bad filter is the server's error, shown.
    await page.fill('input[aria-label="filter runs"]', 'metrics.val_acc >>> 1');
    await page.press('input[aria-label="filter runs"]', 'Enter');
    await page.waitForSelector('.error');
    await page.fill('input[aria-label="filter runs"]', `tags.mlflow.parentRunId = '${tune.parent_run_id}'`);
    await page.press('input[aria-label="filter runs"]', 'Enter');
    await rowsShown(tune.trials.total);

    // Sort by val_acc, descending then ascending: the rows come back in the server's order.
    await page.click('summary:text("Columns")');
    const valAcc = page.locator('.picker-body label', { hasText: /^\s*val_acc\s*$/ }).first();
    if (!(await valAcc.locator('input').isChecked())) await valAcc.click();
    await page.click('summary:text("Columns")');
    await page.click('button.sort[title="sort by val_acc"]');
    await hashHas('sort=metrics.val_acc+DESC');
    await page.waitForSelector('[aria-sort="descending"]');
    await page.waitForSelector('[aria-label="runs"][aria-busy="false"]');
    const column = await page.locator('.vhead .vcell').allTextContents();
    const at = column.findIndex((c) => c.startsWith('val_acc'));
    const desc = (await page.locator(`.vrow > .vcell:nth-child(${at + 1})`).allTextContents()).map(Number);
    assert.deepEqual(desc, [...desc].sort((a, b) => b - a), `descending: ${desc.join(', ')}`);

    // Keyboard: focus the table, select the first two rows with Space.
    await page.focus('.vbody');
    await page.keyboard.press('Home');
    await page.keyboard.press('Space');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Space');
    await page.waitForFunction(() => /sel=[^&]+(%2C|,)/.test((globalThis as unknown as BrowserGlobals).location.hash));
    await shot('03-runs-filtered-selected');
    await page.click('a:text("Compare (2)")');
    await page.waitForSelector('[data-testid="compare-chart"] canvas');
  });

  test('compare: the metric overlaid across runs, parallel coordinates of params against it, a param diff', async () => {
    assert.match(page.url(), /#\/compare\?runs=/);
    await page.waitForSelector('svg.parallel polyline');
    assert.equal(await page.locator('svg.parallel polyline').count(), 2, 'one line per run');
    const legend = await page.locator('[data-testid="compare-chart"] .u-legend .u-series').count();
    assert.equal(legend, 3, 'x plus one series per run');
    const diffRows = await page.locator('table.diff tbody tr').count();
    assert.ok(diffRows >= 2, 'differing params and the metric row');
    await page.selectOption('select[aria-label="metric"]', 'train_loss');
    await hashHas('metric=train_loss');
    await page.waitForSelector('[data-testid="compare-chart"] canvas');
    await shot('04-compare');
  });

  test('run detail: params, tags, dataset, charts by step and time, artifacts with preview, the versions made from it', async () => {
    const best = await api<{ model_version: { run_id: string; version: string } }>(server.url, `mlflow/registered-models/alias?name=${MODEL}&alias=champion`);
    await go(`#/runs/${best.model_version.run_id}`);
    await page.waitForSelector('#params table tr');
    assert.ok(await page.locator('#params th:text("lr")').count(), 'the lr param');
    await page.waitForSelector('#datasets td:text("fashion-mnist")');
    await page.waitForSelector('figure.metric-chart canvas');
    const points = Number(await page.getAttribute('figure.metric-chart', 'data-points'));
    assert.ok(points >= 1);
    await page.click('button:text("By time")');
    await hashHas('x=time');
    await page.waitForSelector('figure.metric-chart canvas');
    await page.waitForSelector('#versions a');
    assert.match((await page.textContent('#versions')) ?? '', new RegExp(`${MODEL} v${best.model_version.version}`));
    // Artifacts: open the model folder, preview a JSON file.
    await page.waitForSelector('.tree [data-artifact]');
    const dir = page.locator('.tree [data-artifact]').first();
    await dir.click();
    const json = page.locator('.tree [data-artifact$=".json"]').first();
    await json.waitFor();
    await json.click();
    await page.waitForSelector('[data-testid="artifact-text"]');
    assert.match((await page.textContent('[data-testid="artifact-text"]')) ?? '', /[{[]/);
    await shot('05-run');
  });

  test('studies: list, trials with states, optimization history, intermediate values, importances, best trial', async () => {
    await go('#/studies');
    await page.waitForSelector(`tr[data-study="${STUDY}"]`);
    await shot('06-studies');
    await page.click(`tr[data-study="${STUDY}"] a`);
    await page.waitForSelector('table[aria-label="trials"] tbody tr');
    assert.equal(await page.locator('table[aria-label="trials"] tbody tr').count(), tune.trials.total);
    assert.match((await page.textContent('[data-testid="best-trial"]')) ?? '', new RegExp(`#${tune.best_trial}`));
    await page.waitForSelector('[data-testid="history-chart"] canvas');
    await page.waitForSelector('[data-testid="intermediate-chart"] canvas');
    const study = await api<{ study: { trials: Array<{ state: string }> } }>(server.url, `kiln/studies/${STUDY}`);
    const pruned = study.study.trials.filter((t) => t.state === 'PRUNED').length;
    assert.ok(pruned >= 1, 'the seeded study has a pruned trial to show');
    assert.equal(await page.locator('[data-testid="intermediate-chart"] .u-series:has-text("pruned")').count(), pruned, 'pruned trials are marked in the legend');
    await page.waitForSelector('.bars .bar-row, #importances p.muted');
    await shot('07-study');
  });

  test('registry: models, versions, aliases; moving an alias asks for confirmation and lands in the history', async () => {
    // A second version, from another trial's run, to move an alias onto.
    const runs = await api<{ runs: Array<{ info: { run_id: string } }> }>(server.url, 'mlflow/runs/search', {
      method: 'POST',
      body: { experiment_ids: [experimentId], filter: `tags.mlflow.parentRunId = '${tune.parent_run_id}'` },
    });
    const champion = await api<{ model_version: { run_id: string; version: string } }>(server.url, `mlflow/registered-models/alias?name=${MODEL}&alias=champion`);
    const other = runs.runs.find((r) => r.info.run_id !== champion.model_version.run_id);
    assert.ok(other);
    const created = await api<{ model_version: { version: string } }>(server.url, 'mlflow/model-versions/create', {
      method: 'POST',
      body: { name: MODEL, source: `runs:/${other.info.run_id}/model`, run_id: other.info.run_id },
    });

    await go('#/models');
    await page.waitForSelector(`tr[data-model="${MODEL}"]`);
    await shot('08-models');
    await page.click(`tr[data-model="${MODEL}"] a`);
    await page.waitForSelector(`tr[data-version="${created.model_version.version}"]`);
    await page.fill('input[aria-label="alias"]', 'champion');
    await page.selectOption('select[aria-label="version"]', created.model_version.version);
    await page.fill('input[aria-label="reason"]', 'e2e move');
    await page.click('button:text("Move alias…")');
    await page.waitForSelector('dialog[open]');
    assert.match((await page.textContent('dialog[open]')) ?? '', new RegExp(`points to v${champion.model_version.version} now.*v${created.model_version.version}`, 's'));
    await shot('09-alias-confirm');
    // Cancelling changes nothing.
    await page.click('dialog[open] button:text("Cancel")');
    await page.waitForSelector('dialog[open]', { state: 'detached' });
    const still = await api<{ model_version: { version: string } }>(server.url, `mlflow/registered-models/alias?name=${MODEL}&alias=champion`);
    assert.equal(still.model_version.version, champion.model_version.version);

    await page.click('button:text("Move alias…")');
    await page.click('dialog[open] button:text("Move alias")');
    await page.waitForSelector('[role="status"]:has-text("now points to")');
    const moved = await api<{ model_version: { version: string } }>(server.url, `mlflow/registered-models/alias?name=${MODEL}&alias=champion`);
    assert.equal(moved.model_version.version, created.model_version.version);
    await page.waitForSelector(`[aria-label="alias history"] td:text("v${champion.model_version.version} → v${created.model_version.version}")`);
    assert.ok(await page.locator('[aria-label="alias history"] td:text("e2e move")').count());
    await shot('10-model');
  });

  test('dark theme and shareable URLs: a copied URL restores the view state', async () => {
    await page.selectOption('select[aria-label="theme"]', 'dark');
    await page.waitForSelector('html[data-theme="dark"]');
    const url = `${server.url}/#/experiments/${experimentId}?filter=${encodeURIComponent(`tags.mlflow.parentRunId = '${tune.parent_run_id}'`)}&sort=metrics.val_acc+ASC&cols=metrics.val_acc`;
    const fresh = await browser.newPage({ viewport: { width: 1400, height: 900 }, colorScheme: 'dark' });
    try {
      await fresh.goto(url);
      await fresh.waitForSelector('[aria-sort="ascending"]');
      assert.equal(await fresh.inputValue('input[aria-label="filter runs"]'), `tags.mlflow.parentRunId = '${tune.parent_run_id}'`);
      // The sorted header shows before the rows arrive: wait for the filtered count itself.
      await fresh.waitForFunction((count) => (globalThis as unknown as BrowserGlobals).document.querySelector('[aria-label="runs"]')?.getAttribute('data-rows') === String(count), tune.trials.total);
      assert.equal(await fresh.getAttribute('html', 'data-theme'), 'dark', 'system theme follows the browser');
      await fresh.screenshot({ path: join(SHOTS, '11-runs-dark.png'), fullPage: true });
    } finally {
      await fresh.close();
    }
    await page.selectOption('select[aria-label="theme"]', 'system');
    assert.deepEqual(consoleErrors.filter((e) => !/status of 400/.test(e)), [], 'no errors in the console (the bad filter\'s 400 aside)');
  });
});
