/**
 * A run's dataset section, end to end in Debian's Chromium: a run logged through Kiln's REST
 * client (startTrainingRun with a dataset identity, logDatasetSamples) to a real tracking server
 * (SQLite store, real HTTP, artifacts on disk) shows the dataset's name, digest, source, schema,
 * the items per class and split, and its sample images, which must really load. A run without
 * a dataset input shows no dataset section; a study's trial shows the samples of its study run. Screenshot: .cache/ui-screenshots/dataset-run.png.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import type { DatasetIdentity } from '../../data/labelled.js';
import { normalizePixels } from '../../data/normalize.js';
import { openTracking, type TrackingSession } from '../../tracking/client/session.js';
import { finishTrainingRun, logDatasetSamples, startTrainingRun } from '../../tracking/client/training-run.js';
import { startTestServer, type TestServer } from '../../tracking/server/test-helpers.js';
import { launchChromium, openWatchedPage, SKIP_WITHOUT_CHROMIUM } from './browser.js';

const SHOTS = fileURLToPath(new URL('../../../../.cache/ui-screenshots/', import.meta.url));

/** What the page predicates read of the DOM (the Node build has no DOM types). */
interface ImageEl {
  complete: boolean;
  naturalWidth: number;
  naturalHeight: number;
}
interface BrowserGlobals {
  document: { querySelectorAll(s: string): ArrayLike<ImageEl> };
}

const CLASSES = ['red disc', 'green/bar', 'blue'];
/** Train labels: 5, 2 and 1 images; the sample grid shows at most 4 of each. */
const TRAIN_LABELS = [0, 1, 0, 0, 2, 1, 0, 0];
const IDENTITY: DatasetIdentity = {
  name: 'swatches',
  digest: 'c0ffee00112233445566778899aabbccddeeff00112233445566778899aabbcc',
  source: '/data/swatches',
  sourceType: 'folder',
  schema: { height: 12, width: 10, channels: 3, color: 'rgb', classNames: CLASSES },
  counts: { train: [5, 2, 1], validation: [1, 1, 1], test: [2, 3, 4] },
};

/** 12 x 10 RGB images, each a flat colour by class, normalized as training would. */
function trainSet(): { images: Float32Array; labels: Uint8Array; count: number; height: number; width: number; channels: number } {
  const size = 12 * 10 * 3;
  const bytes = new Uint8Array(TRAIN_LABELS.length * size);
  TRAIN_LABELS.forEach((label, i) => {
    for (let p = 0; p < 120; p++) bytes[i * size + p * 3 + label] = 120 + i * 16;
  });
  return { images: normalizePixels(bytes, new Float32Array(bytes.length), 0.2, 0.4), labels: Uint8Array.from(TRAIN_LABELS), count: TRAIN_LABELS.length, height: 12, width: 10, channels: 3 };
}

describe("a run's dataset section in Chromium, from a run logged through Kiln's REST client", { skip: SKIP_WITHOUT_CHROMIUM }, () => {
  let server: TestServer;
  let home = '';
  let session: TrackingSession;
  let browser: Browser;
  let page: Page;
  let withData = '';
  let without = '';
  let trial = '';
  const consoleErrors: string[] = [];

  before(async () => {
    await mkdir(SHOTS, { recursive: true });
    server = await startTestServer();
    home = await mkdtemp(join(tmpdir(), 'kiln-ui-dataset-'));
    session = await openTracking({ uri: server.url, home, env: {} });
    const run = await startTrainingRun(session, { experimentName: 'ui-dataset', runName: 'with-data', params: { lr: '0.01' }, dataset: IDENTITY });
    await logDatasetSamples(session, run, { identity: IDENTITY, train: trainSet(), classNames: CLASSES, normalization: { mean: 0.2, std: 0.4 } }, { perClass: 4 });
    await finishTrainingRun(session, run, { status: 'FINISHED' });
    withData = run.runId;
    const bare = await startTrainingRun(session, { experimentName: 'ui-dataset', runName: 'no-data', params: { lr: '0.02' } });
    await finishTrainingRun(session, bare, { status: 'FINISHED' });
    without = bare.runId;
    // A study's trial: the dataset input, no samples of its own (its parent, the study run, holds them).
    const child = await startTrainingRun(session, { experimentName: 'ui-dataset', runName: 'trial-0', params: {}, parentRunId: withData, dataset: IDENTITY });
    await finishTrainingRun(session, child, { status: 'FINISHED' });
    trial = child.runId;
    browser = await launchChromium();
    page = await openWatchedPage(browser, consoleErrors);
  });

  after(async () => {
    await browser?.close();
    await session?.close();
    await server?.close();
    await rm(home, { recursive: true, force: true });
  });

  test('the section shows name, digest, source and schema, and the items per class and split with totals', async () => {
    await page.goto(`${server.url}/#/runs/${withData}`);
    await page.waitForSelector('#datasets table.dataset-counts');
    assert.match((await page.textContent('#datasets td:text("swatches") + td')) ?? '', /^c0ffee0011223344$/, 'the short digest in the summary');
    const facts = (await page.textContent('#datasets .dataset dl')) ?? '';
    assert.match(facts, /c0ffee00112233445566778899aabbccddeeff00112233445566778899aabbcc/, 'the full digest');
    assert.match(facts, /\/data\/swatches \(folder\)/);
    assert.equal((await page.textContent('[data-testid="dataset-schema"]'))?.trim(), '12 x 10 x 3, rgb · 3 classes');
    const cell = (label: number | string, split: string): Promise<string | null> => page.textContent(`table.dataset-counts tr[data-class="${label}"] td[data-split="${split}"]`);
    assert.deepEqual(await Promise.all([cell(0, 'train'), cell(1, 'validation'), cell(2, 'test')]), ['5', '1', '4']);
    assert.match((await page.textContent('table.dataset-counts tr[data-class="1"] th')) ?? '', /green\/bar/);
    assert.deepEqual(await Promise.all([cell('total', 'train'), cell('total', 'validation'), cell('total', 'test')]), ['8', '3', '9']);
    assert.equal((await page.textContent('table.dataset-counts tr[data-class="total"] td:last-child'))?.trim(), '20');
  });

  test('the sample grid lists each class with its logged images, and every image loads', async () => {
    await page.goto(`${server.url}/#/runs/${withData}`);
    const grid = page.locator('.dataset-samples');
    await grid.scrollIntoViewIfNeeded();
    await page.waitForSelector('.dataset-samples[aria-busy="false"] .sample-row img');
    const perClass = await page.locator('.sample-row').evaluateAll((rows) =>
      rows.map((r) => [r.getAttribute('data-samples'), r.querySelector('.sample-class')?.textContent, r.querySelectorAll('img').length]),
    );
    assert.deepEqual(perClass, [
      ['0_red_disc', 'red disc', 4],
      ['1_green_bar', 'green/bar', 2],
      ['2_blue', 'blue', 1],
    ]);
    await page.locator('.sample-row img').last().scrollIntoViewIfNeeded();
    await page.waitForFunction(() => {
      const images = Array.from((globalThis as unknown as BrowserGlobals).document.querySelectorAll('.sample-row img'));
      return images.length === 7 && images.every((img) => img.complete && img.naturalWidth > 0);
    });
    const sizes = await page.locator('.sample-row img').evaluateAll((imgs) => imgs.map((img) => [(img as unknown as ImageEl).naturalWidth, (img as unknown as ImageEl).naturalHeight]));
    assert.deepEqual(sizes, Array.from({ length: 7 }, () => [10, 12]), 'each PNG at the dataset size, 10 wide and 12 high');
    await page.screenshot({ path: join(SHOTS, 'dataset-run.png'), fullPage: true });
    assert.deepEqual(consoleErrors, []);
  });

  test("a trial without samples of its own shows its study run's, saying where they come from", async () => {
    await page.goto(`${server.url}/#/runs/${trial}`);
    await page.locator('.dataset-samples').scrollIntoViewIfNeeded();
    await page.waitForSelector('.dataset-samples[aria-busy="false"] .sample-row img');
    assert.equal(await page.locator('.sample-row').count(), 3);
    assert.equal(await page.getAttribute('[data-testid="samples-from"] a', 'href'), `#/runs/${withData}`);
    await page.locator('.sample-row img').last().scrollIntoViewIfNeeded();
    await page.waitForFunction(() => {
      const images = Array.from((globalThis as unknown as BrowserGlobals).document.querySelectorAll('.sample-row img'));
      return images.length === 7 && images.every((img) => img.complete && img.naturalWidth > 0);
    });
  });

  test('a run without a dataset input shows no dataset section', async () => {
    await page.goto(`${server.url}/#/runs/${without}`);
    await page.waitForSelector('#params table tr');
    await page.waitForSelector('#artifacts');
    assert.equal(await page.locator('#datasets').count(), 0);
  });
});
