/**
 * What MLflow and optuna-dashboard users look for in the web UI, end to end in Debian's Chromium
 * against a real tracking server (SQLite store, real HTTP) seeded through its REST API and a
 * real study storage: nested runs, tables that fit, compare with one colour per run, editing,
 * the study plots, a chart view across runs, the favicon and bad-filter errors. Screenshots go
 * to .cache/ui-screenshots/features-*.png.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { call, startTestServer, type TestServer } from '../../tracking/server/test-helpers.js';
import { studyReports } from '../../tune/report.js';
import { InMemoryStorage } from '../../tune/storage/memory.js';
import type { Distribution } from '../../tune/types.js';
import { launchChromium, openWatchedPage, SKIP_WITHOUT_CHROMIUM } from './browser.js';

const SHOTS = fileURLToPath(new URL('../../../../.cache/ui-screenshots/', import.meta.url));
const API = '/api/2.0/mlflow';
const MODEL = 'feat-model';

/** The few browser globals the page predicates touch (the Node build has no DOM types). */
interface BrowserGlobals {
  document: { querySelector(s: string): { getAttribute(n: string): string | null } | null };
  location: { hash: string };
}
/** The DOM element members the page functions read. */
interface DomEl {
  getBoundingClientRect(): { left: number; right: number };
  scrollWidth: number;
  clientWidth: number;
}
interface Box {
  left: number;
  right: number;
}
interface CellFit {
  right: number;
  clipped: boolean;
}

/** val_acc per step of each trial run; trial-2 stopped after one step (a single point). */
const VAL_ACC: Record<string, number[]> = {
  'trial-0': [0.5, 0.62, 0.7, 0.74, 0.73],
  'trial-1': [0.4, 0.45, 0.52, 0.58, 0.61],
  'trial-2': [0.3],
};

const lr: Distribution = { type: 'float', low: 1e-4, high: 1e-1, log: true, step: 1 };
const units: Distribution = { type: 'int', low: 8, high: 128, log: false, step: 1 };
const optimizer: Distribution = { type: 'categorical', choices: ['adam', 'sgd'] };

async function seedStudy(): Promise<InMemoryStorage> {
  // A clock that advances one second per read: the timeline has distinct, ordered bars.
  let clock = Date.UTC(2026, 0, 1);
  const storage = new InMemoryStorage({ now: () => (clock += 1000) });
  const id = await storage.createStudy('feat-study', 'minimize');
  for (let i = 0; i < 8; i++) {
    const t = await storage.createTrial(id);
    await storage.setTrialParam(t.trialId, 'lr', 10 ** -(1 + (i % 4) * 0.7), lr);
    await storage.setTrialParam(t.trialId, 'units', 8 + i * 15, units);
    await storage.setTrialParam(t.trialId, 'optimizer', i % 2, optimizer);
    await storage.setTrialIntermediateValue(t.trialId, 1, 1 + i * 0.1);
    await storage.setTrialStateValue(t.trialId, i === 6 ? 'PRUNED' : 'COMPLETE', i === 6 ? null : 0.05 + ((i * 37) % 11) / 10);
  }
  return storage;
}

async function post<T>(server: TestServer, path: string, body: object, method = 'POST'): Promise<T> {
  const reply = await call(server.url, method, `${API}/${path}`, body);
  assert.equal(reply.status, 200, reply.text);
  return reply.json as T;
}

async function get<T>(server: TestServer, path: string): Promise<T> {
  const reply = await call(server.url, 'GET', `${API}/${path}`);
  assert.equal(reply.status, 200, reply.text);
  return reply.json as T;
}

interface Seeded {
  experimentId: string;
  parent: string;
  lonely: string;
  trials: Record<string, string>;
}

async function createRun(server: TestServer, experimentId: string, name: string, tags: Array<{ key: string; value: string }> = []): Promise<string> {
  const made = await post<{ run: { info: { run_id: string } } }>(server, 'runs/create', { experiment_id: experimentId, run_name: name, start_time: Date.now(), tags });
  return made.run.info.run_id;
}

async function seedRuns(server: TestServer): Promise<Seeded> {
  const { experiment_id: experimentId } = await post<{ experiment_id: string }>(server, 'experiments/create', { name: 'features' });
  const parent = await createRun(server, experimentId, 'study-parent');
  const trials: Record<string, string> = {};
  for (const [name, values] of Object.entries(VAL_ACC)) {
    const id = await createRun(server, experimentId, name, [{ key: 'mlflow.parentRunId', value: parent }]);
    trials[name] = id;
    const n = Number(name.slice(-1));
    const metrics = values.flatMap((v, step) => [
      { key: 'val_acc', value: v, timestamp: Date.now(), step },
      { key: 'val_loss', value: 1 - v, timestamp: Date.now(), step },
      { key: 'train_loss', value: 1.1 - v, timestamp: Date.now(), step },
      { key: 'train_acc', value: v + 0.05, timestamp: Date.now(), step },
    ]);
    const params = [
      { key: 'lr', value: String(0.01 * (n + 1)) },
      { key: 'optimizer', value: n % 2 === 0 ? 'adam' : 'sgd' },
      { key: 'epochs', value: String(values.length) },
      { key: 'batch_size', value: String(32 * (n + 1)) },
      { key: 'seed', value: '7' },
    ];
    await post(server, 'runs/log-batch', { run_id: id, metrics, params, tags: [{ key: 'team', value: 'vision' }, { key: 'stage', value: 'tuning' }] });
    await post(server, 'runs/update', { run_id: id, status: 'FINISHED', end_time: Date.now() });
  }
  const lonely = await createRun(server, experimentId, 'lonely');
  await post(server, 'runs/log-batch', { run_id: lonely, metrics: [{ key: 'val_acc', value: 0.55, timestamp: Date.now(), step: 0 }], params: [{ key: 'lr', value: '0.5' }] });
  await post(server, 'registered-models/create', { name: MODEL });
  await post(server, 'model-versions/create', { name: MODEL, source: `runs:/${trials['trial-0']}/model`, run_id: trials['trial-0'] });
  return { experimentId, parent, lonely, trials };
}

describe('web UI features MLflow and optuna-dashboard users look for, in Chromium', { skip: SKIP_WITHOUT_CHROMIUM }, () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let seeded: Seeded;
  const consoleErrors: string[] = [];

  const shot = (name: string): Promise<Buffer> => page.screenshot({ path: join(SHOTS, `features-${name}.png`), fullPage: true });
  const go = (hash: string): Promise<unknown> => page.goto(`${server.url}/${hash}`);
  const rowsShown = (n: number): Promise<unknown> =>
    page
      .waitForFunction((count) => (globalThis as unknown as BrowserGlobals).document.querySelector('[aria-label="runs"]')?.getAttribute('data-rows') === String(count), n)
      .then(() => page.waitForSelector('[aria-label="runs"][aria-busy="false"]'));
  const tableReady = (): Promise<unknown> => page.waitForSelector('[aria-label="runs"][aria-busy="false"] .vrow');
  const hashHas = (text: string): Promise<unknown> => page.waitForFunction((t) => (globalThis as unknown as BrowserGlobals).location.hash.includes(t), text);

  before(async () => {
    await mkdir(SHOTS, { recursive: true });
    server = await startTestServer({ studies: studyReports(await seedStudy()) });
    seeded = await seedRuns(server);
    browser = await launchChromium();
    page = await openWatchedPage(browser, consoleErrors, { acceptDownloads: true });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('/favicon.ico answers with an icon, and the page links it', async () => {
    const response = await fetch(`${server.url}/favicon.ico`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^image\/(x-icon|vnd\.microsoft\.icon)/);
    const bytes = Buffer.from(await response.arrayBuffer());
    assert.deepEqual([...bytes.subarray(0, 4)], [0, 0, 1, 0], 'an ICO header');
    await go('#/experiments');
    assert.equal(await page.getAttribute('link[rel="icon"]', 'href'), '/favicon.ico');
  });

  test('runs: trials are nested under their study\'s parent run, collapsed until expanded', async () => {
    await go(`#/experiments/${seeded.experimentId}`);
    await rowsShown(2);
    const toggle = page.locator(`.vrow[data-key="${seeded.parent}"] button[aria-expanded]`);
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    assert.match((await toggle.getAttribute('aria-label')) ?? '', /3 child runs/);
    await toggle.click();
    await rowsShown(5);
    await hashHas(`expand=${seeded.parent}`);
    for (const id of Object.values(seeded.trials)) {
      assert.equal(await page.getAttribute(`.vrow[data-key="${id}"]`, 'data-parent'), seeded.parent, 'a child row names its parent');
    }
    const rowOrder = await page.locator('.vrow').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key')));
    const at = rowOrder.indexOf(seeded.parent);
    assert.deepEqual(new Set(rowOrder.slice(at + 1, at + 4)), new Set(Object.values(seeded.trials)), 'children follow their parent');
    await shot('runs-nested');
    await toggle.click();
    await rowsShown(2);
    await page.click('button:text("Expand all")');
    await rowsShown(5);
    await page.click('button:text("Collapse all")');
    await rowsShown(2);
  });

  test('runs: at 1,400 px the default columns fit uncut; more columns scroll sideways with their header', async () => {
    await go(`#/experiments/${seeded.experimentId}`);
    await tableReady();
    const fit = async (): Promise<{ table: Box; cells: CellFit[] }> =>
      page.evaluate(() => {
        const doc = (globalThis as unknown as { document: { querySelector(s: string): DomEl; querySelectorAll(s: string): ArrayLike<DomEl> } }).document;
        const table = doc.querySelector('[aria-label="runs"]').getBoundingClientRect();
        // Headers and every cell of the rows shown: none ends past the table or is cut short.
        const cells = Array.from(doc.querySelectorAll('.vhead [role="columnheader"], .vrow [role="gridcell"]')).map((c) => ({ right: c.getBoundingClientRect().right, clipped: c.scrollWidth > c.clientWidth }));
        return { table: { left: table.left, right: table.right }, cells };
      });
    // As it opens, and sorted on a metric (whose header then shows an arrow too).
    for (const sort of ['', '?sort=metrics.train_loss+DESC']) {
      if (sort) {
        await go(`#/experiments/${seeded.experimentId}${sort}`);
        await page.waitForSelector('[aria-sort="descending"] button[title="sort by train_loss"]');
        await tableReady();
      }
      const shown = await fit();
      assert.equal(await page.locator('.vhead [role="columnheader"]').count(), 13, 'four metrics and four params besides the run columns');
      for (const [i, cell] of shown.cells.entries()) {
        assert.ok(cell.right <= shown.table.right + 0.5, `${sort} cell ${i} ends at ${cell.right}, past the table's edge ${shown.table.right}`);
        assert.equal(cell.clipped, false, `${sort} cell ${i} (column ${i % 13}) is cut short`);
      }
    }

    const cols = ['metrics.val_acc', 'metrics.val_loss', 'metrics.train_loss', 'metrics.train_acc', 'params.lr', 'params.optimizer', 'params.epochs', 'params.batch_size', 'params.seed', 'tags.team', 'tags.stage'];
    await go(`#/experiments/${seeded.experimentId}?cols=${cols.join(',')}`);
    await tableReady();
    await page.locator('.vhead [role="columnheader"]').last().scrollIntoViewIfNeeded();
    const scrolled = await fit();
    const last = scrolled.cells[cols.length + 4];
    assert.ok(last.right <= scrolled.table.right + 0.5, 'the last column scrolls into view');
    assert.equal((await page.locator('.vhead [role="columnheader"]').last().textContent())?.trim(), 'stage');
  });

  test('runs: a bad filter shows one clear error, not also "No runs match" and an empty column picker', async () => {
    await go(`#/experiments/${seeded.experimentId}`);
    await tableReady();
    await page.fill('input[aria-label="filter runs"]', 'metrics.val_acc >>> 1');
    await page.press('input[aria-label="filter runs"]', 'Enter');
    await page.waitForSelector('[role="alert"]');
    await page.waitForSelector('[aria-label="runs"][aria-busy="false"]');
    assert.equal(await page.locator('[role="alert"]').count(), 1);
    assert.match((await page.textContent('[role="alert"]')) ?? '', /filter/i);
    assert.equal(await page.locator('text=/No runs/').count(), 0, 'no "No runs match" beside the error');
    await page.click('summary:text("Columns")');
    assert.ok((await page.locator('.picker-body input[type="checkbox"]').count()) >= 10, 'the column picker keeps the columns it knew');
    await shot('bad-filter');
  });

  test('runs: CSV export of the runs table (every run on the page, the chosen columns)', async () => {
    await go(`#/experiments/${seeded.experimentId}`);
    await tableReady();
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('button:text("Export CSV")')]);
    assert.match(download.suggestedFilename(), /\.csv$/);
    const text = await readFile(await download.path(), 'utf8');
    const [header, ...lines] = text.trim().split('\r\n');
    const names = header.split(',');
    for (const column of ['run_id', 'run_name', 'parent_run_id', 'status', 'metrics.val_acc', 'params.lr']) assert.ok(names.includes(column), `${column} in ${header}`);
    assert.equal(lines.length, 5, 'the parent, its three trials (collapsed or not) and the lone run');
    const trial0 = lines.find((l) => l.startsWith(seeded.trials['trial-0']))?.split(',') ?? [];
    assert.equal(trial0[names.indexOf('metrics.val_acc')], '0.73', 'the latest val_acc');
    assert.equal(trial0[names.indexOf('parent_run_id')], seeded.parent);
  });

  test('compare: one colour per run everywhere; a single-point series is drawn; min/max/last per metric and run', async () => {
    const ids = ['trial-0', 'trial-1', 'trial-2'].map((n) => seeded.trials[n]);
    await go(`#/compare?runs=${ids.join(',')}&metric=val_acc`);
    await page.waitForSelector('[data-testid="compare-chart"] canvas');
    // trial-2 logged val_acc once: its marker is on the canvas in its colour.
    const chip = await page.locator(`a.chip[data-run="${ids[2]}"]`).evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { borderLeftColor: string } }).getComputedStyle(el).borderLeftColor);
    const [r, g, b] = (chip.match(/\d+/g) ?? []).map(Number);
    const pixels = await page.locator('[data-testid="compare-chart"] canvas').evaluate(
      (canvas, rgb) => {
        const c = canvas as unknown as { width: number; height: number; getContext(k: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } };
        const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < data.length; i += 4) if (Math.abs(data[i] - rgb[0]) + Math.abs(data[i + 1] - rgb[1]) + Math.abs(data[i + 2] - rgb[2]) < 40 && data[i + 3] > 200) n++;
        return n;
      },
      [r, g, b],
    );
    assert.ok(pixels >= 12, `the single point of trial-2 is drawn (${pixels} pixels of its colour)`);

    await page.waitForSelector('svg.parallel polyline');
    await page.waitForSelector('table[aria-label="metric summary"] tbody tr');
    const colours = await page.evaluate((runIds) => {
      const doc = (globalThis as unknown as { document: { querySelector(s: string): DomEl | null; querySelectorAll(s: string): ArrayLike<DomEl> } }).document;
      const style = (el: DomEl | null, prop: string): string => (el ? (globalThis as unknown as { getComputedStyle(e: DomEl): Record<string, string> }).getComputedStyle(el)[prop] : 'missing');
      const markers = Array.from(doc.querySelectorAll('[data-testid="compare-chart"] .u-series .u-marker')).slice(1);
      return runIds.map((id, i) => ({
        chip: style(doc.querySelector(`a.chip[data-run="${id}"]`), 'borderLeftColor'),
        legend: style(markers[i] ?? null, 'borderColor'),
        parallel: style(doc.querySelector(`svg.parallel polyline[data-key="${id}"]`), 'stroke'),
        table: style(doc.querySelector(`table[aria-label="metric summary"] [data-run="${id}"] .swatch`), 'backgroundColor'),
        diff: style(doc.querySelector(`table.diff th[data-run="${id}"] .swatch`), 'backgroundColor'),
      }));
    }, ids);
    for (const c of colours) assert.deepEqual(new Set(Object.values(c)).size, 1, `one colour per run: ${JSON.stringify(c)}`);
    assert.equal(new Set(colours.map((c) => c.chip)).size, 3, 'runs differ in colour');

    const cells = async (id: string, metricKey: string): Promise<string[]> =>
      page.locator(`table[aria-label="metric summary"] tr[data-metric="${metricKey}"][data-run="${id}"] td`).allTextContents();
    assert.deepEqual((await cells(ids[0], 'val_acc')).slice(-4), ['0.5', '0.74', '0.73', '5']);
    assert.deepEqual((await cells(ids[2], 'val_acc')).slice(-4), ['0.3', '0.3', '0.3', '1']);
    assert.equal(await page.locator('table[aria-label="metric summary"] tbody tr').count(), 12, 'four metrics × three runs');
    await shot('compare');
  });

  test('runs: a chart view across the experiment\'s runs (latest value per run, and over steps)', async () => {
    await go(`#/experiments/${seeded.experimentId}`);
    await tableReady();
    await page.click('button:text("Charts")');
    await hashHas('view=charts');
    await page.waitForSelector('[data-testid="runs-latest-chart"] canvas');
    await page.waitForSelector('[data-testid="runs-steps-chart"] canvas');
    // Every run with val_acc: three trials and the lone run (the parent logged none).
    assert.equal(await page.locator('[data-testid="runs-steps-chart"] .u-legend .u-series').count(), 1 + 4);
    await page.selectOption('select[aria-label="chart metric"]', 'train_loss');
    await hashHas('metric=train_loss');
    await page.waitForFunction(() => (globalThis as unknown as BrowserGlobals).document.querySelector('[data-testid="runs-steps-chart"]')?.getAttribute('data-series') === '3');
    await shot('runs-charts');
  });

  test('editing: a run\'s description (mlflow.note.content) and tags, through the REST API', async () => {
    const id = seeded.trials['trial-0'];
    const tags = async (): Promise<Record<string, string>> => {
      const run = await get<{ run: { data: { tags?: Array<{ key: string; value: string }> } } }>(server, `runs/get?run_id=${id}`);
      return Object.fromEntries((run.run.data.tags ?? []).map((t) => [t.key, t.value]));
    };
    await go(`#/runs/${id}`);
    await page.click('button:text("Edit description")');
    await page.fill('textarea[aria-label="description"]', 'Best of the sweep; **lr** 0.01.');
    await page.click('#description button:text("Save")');
    await page.waitForSelector('#description [data-testid="description"]:has-text("Best of the sweep")');
    assert.equal((await tags())['mlflow.note.content'], 'Best of the sweep; **lr** 0.01.');

    await page.fill('input[aria-label="new tag key"]', 'owner');
    await page.fill('input[aria-label="new tag value"]', 'ada');
    await page.click('#tags button:text("Add tag")');
    await page.waitForSelector('#tags tr[data-tag="owner"]');
    assert.equal((await tags()).owner, 'ada');
    await page.click('#tags tr[data-tag="owner"] button:text("Edit")');
    await page.fill('#tags tr[data-tag="owner"] input[aria-label="tag value"]', 'bob');
    await page.click('#tags tr[data-tag="owner"] button:text("Save")');
    await page.waitForSelector('#tags tr[data-tag="owner"] td:text("bob")');
    assert.equal((await tags()).owner, 'bob');
    await shot('run-editing');
    await page.click('#tags tr[data-tag="owner"] button:text("Delete")');
    await page.waitForSelector('#tags tr[data-tag="owner"]', { state: 'detached' });
    assert.equal((await tags()).owner, undefined);
  });

  test('editing: a registered model\'s and a version\'s description, the model\'s tags', async () => {
    await go(`#/models/${MODEL}`);
    await page.click('#model-description button:text("Edit description")');
    await page.fill('#model-description textarea[aria-label="description"]', 'Fashion-MNIST classifier');
    await page.click('#model-description button:text("Save")');
    await page.waitForSelector('#model-description [data-testid="description"]:has-text("Fashion-MNIST classifier")');
    const model = await get<{ registered_model: { description?: string } }>(server, `registered-models/get?name=${MODEL}`);
    assert.equal(model.registered_model.description, 'Fashion-MNIST classifier');

    await page.click('tr[data-version="1"] button:text("Edit")');
    await page.fill('tr[data-version="1"] textarea[aria-label="version description"]', 'first cut');
    await page.click('tr[data-version="1"] button:text("Save")');
    await page.waitForSelector('tr[data-version="1"] td:text("first cut")');
    const version = await get<{ model_version: { description?: string } }>(server, `model-versions/get?name=${MODEL}&version=1`);
    assert.equal(version.model_version.description, 'first cut');
    const modelTags = async (): Promise<Record<string, string>> => {
      const m = await get<{ registered_model: { tags?: Array<{ key: string; value: string }> } }>(server, `registered-models/get?name=${MODEL}`);
      return Object.fromEntries((m.registered_model.tags ?? []).map((t) => [t.key, t.value]));
    };
    await page.fill('#model-tags input[aria-label="new tag key"]', 'task');
    await page.fill('#model-tags input[aria-label="new tag value"]', 'classification');
    await page.click('#model-tags button:text("Add tag")');
    await page.waitForSelector('#model-tags tr[data-tag="task"]');
    assert.equal((await modelTags()).task, 'classification');
    await shot('model-editing');
    await page.click('#model-tags tr[data-tag="task"] button:text("Delete")');
    await page.waitForSelector('#model-tags tr[data-tag="task"]', { state: 'detached' });
    assert.equal((await modelTags()).task, undefined, 'deleted (DELETE with a JSON body)');
  });

  test('studies: slice plots, contour of two params, EDF, timeline, parallel coordinates, log-scale history', async () => {
    await go('#/studies/feat-study');
    await page.waitForSelector('table[aria-label="trials"] tbody tr');
    const complete = 7;
    // Slice: one plot per parameter, one point per complete trial.
    for (const p of ['lr', 'optimizer', 'units']) {
      assert.equal(await page.locator(`svg[data-testid="slice-${p}"] circle`).count(), complete, `slice of ${p}`);
    }
    // Contour: two parameters chosen, the interpolated bands and the trials on them.
    await page.selectOption('select[aria-label="contour x"]', 'lr');
    await page.selectOption('select[aria-label="contour y"]', 'units');
    await page.waitForSelector('svg[data-testid="contour"][data-x="lr"][data-y="units"]');
    assert.ok((await page.locator('svg[data-testid="contour"] rect.band').count()) > 100, 'a filled grid of bands');
    assert.equal(await page.locator('svg[data-testid="contour"] circle').count(), complete);
    // Empirical distribution function: a step per complete trial, ending at 1.
    assert.equal(await page.getAttribute('svg[data-testid="edf"]', 'data-n'), String(complete));
    // Timeline: a bar per trial, coloured by state.
    assert.equal(await page.locator('svg[data-testid="timeline"] rect.trial-bar').count(), 8);
    assert.equal(await page.locator('svg[data-testid="timeline"] rect.trial-bar.state-pruned').count(), 1);
    // Parallel coordinates: a line per complete trial.
    assert.equal(await page.locator('#study-parallel svg.parallel polyline').count(), complete);
    // Log scale on the optimization history.
    await page.waitForSelector('[data-testid="history-chart"][data-scale="linear"] canvas');
    await page.click('button:text("Log scale")');
    await page.waitForSelector('[data-testid="history-chart"][data-scale="log"] canvas');
    await shot('study');
    assert.deepEqual(consoleErrors.filter((e) => !/status of 400/.test(e)), [], 'no errors in the console (the bad filter\'s 400 aside)');
  });
  test('dark theme: the study plots follow it (axes drawn in the theme\'s muted colour)', async () => {
    await go('#/studies/feat-study');
    await page.waitForSelector('[data-testid="history-chart"] canvas');
    await page.selectOption('select[aria-label="theme"]', 'dark');
    await page.waitForSelector('html[data-theme="dark"]');
    await page.waitForSelector('svg[data-testid="edf"] .tick text');
    const fill = await page.locator('svg[data-testid="edf"] .tick text').first().evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { fill: string } }).getComputedStyle(el).fill);
    assert.equal(fill, 'rgb(141, 150, 160)', 'the dark theme\'s --fg-muted');
    // The canvas charts drawn before the switch are redrawn: no light-theme grid (#e5e7eb) is left.
    await page.waitForFunction(
      () => {
        const doc = (globalThis as unknown as { document: { querySelector(s: string): unknown } }).document;
        const c = doc.querySelector('[data-testid="history-chart"] canvas') as { width: number; height: number; getContext(k: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } } | null;
        if (!c) return false;
        const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < data.length; i += 4) if (Math.abs(data[i] - 229) + Math.abs(data[i + 1] - 231) + Math.abs(data[i + 2] - 235) < 12 && data[i + 3] > 200) return false;
        return true;
      },
      undefined,
      { timeout: 15_000 },
    );
    await shot('study-dark');
    await page.selectOption('select[aria-label="theme"]', 'system');
  });
});
