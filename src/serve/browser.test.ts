import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { Browser, Page } from 'playwright-core';
import { initEngine } from '../engine/index.js';
import { TEST_CNN_BN, writeTestModelFolder } from '../models/onnx/test-helpers.js';
import { launchChromium, SKIP_WITHOUT_CHROMIUM } from '../ui/e2e/browser.js';
import { buildServeApp, loadServedModel, type ServeApp } from './index.js';
import { buildAndSave, type Built, GRAY_CLASSES, GRAY_MLP, GRAY_PRE, pixelsOf, RGB_CLASSES, RGB_CNN, RGB_PRE } from './test-models.js';

/** A page that records console errors (CSP violations among them) and requests to other origins. */
async function watchedPage(browser: Browser, origin: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()} for ${response.url()}`);
  });
  page.on('request', (request) => {
    if (!request.url().startsWith(origin) && !request.url().startsWith('data:') && !request.url().startsWith('blob:')) problems.push(`request to ${request.url()}`);
  });
  return { page, problems };
}

/** Holds the requests matching `pattern` until `release()`; `arrived` settles when the first one is held. */
function heldRequests(page: Page, pattern: string): { install(): Promise<void>; arrived: Promise<void>; release(): void } {
  let arrive = (): void => {};
  let release = (): void => {};
  const arrived = new Promise<void>((resolve) => (arrive = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  return {
    arrived,
    release,
    install: async () => {
      await page.route(pattern, async (route) => {
        arrive();
        await released;
        await route.continue();
      });
    },
  };
}

describe('the API pages in a real browser (Chromium)', { skip: SKIP_WITHOUT_CHROMIUM }, () => {
  let dir: string;
  let serve: ServeApp;
  let url: string;
  let browser: Browser;

  before(async () => {
    await initEngine({ quiet: true });
    dir = await mkdtemp(join(tmpdir(), 'kiln-pages-'));
    (await writeTestModelFolder(join(dir, 'model'), TEST_CNN_BN)).dispose();
    serve = buildServeApp({ defaultMetrics: false });
    await serve.setModel(await loadServedModel(join(dir, 'model'), { maxWaitMs: 0 }));
    await serve.app.listen({ port: 0, host: '127.0.0.1' });
    const address = serve.app.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await serve?.close();
    await rm(dir, { recursive: true, force: true });
  });

  // Waits go through locators, not string predicates: the pages' CSP forbids the eval those need.
  test('/docs renders Swagger UI from this server only, with every operation listed, and no console error', async () => {
    const { page, problems } = await watchedPage(browser, url);
    await page.goto(`${url}/docs`);
    await page.waitForSelector('.swagger-ui .info .title', { timeout: 15_000 });
    assert.match(await page.textContent('.swagger-ui .info .title') ?? '', /Kiln inference API/);
    const paths = await page.$$eval('.opblock-summary-path', (nodes) => nodes.map((node) => node.textContent?.replace(/\u200b/g, '') ?? ''));
    for (const path of ['/predict', '/predict/batch', '/invocations', '/health', '/ready']) assert.ok(paths.includes(path), `${path} in ${paths.join(', ')}`);
    assert.deepEqual(problems, []);
    await page.close();
  });

  // The page's Content-Security-Policy forbids eval, so the waits below are locators, never
  // string predicates (Playwright evaluates a string with eval on every poll after the first).
  // /ready and /predict are held until the wait has started, so the first poll always fails
  // and the waits are exercised the way a loaded machine exercises them.
  test('the home page: upload an image, see the prediction and a bar for every class', async () => {
    const { page, problems } = await watchedPage(browser, url);
    const ready = heldRequests(page, '**/ready');
    const predict = heldRequests(page, '**/predict?**');
    await ready.install();
    await predict.install();
    await page.goto(`${url}/`);
    const modelChecked = page.locator('#model').filter({ hasNotText: /Checking/ }).waitFor();
    await ready.arrived;
    assert.match((await page.textContent('#model')) ?? '', /Checking/, 'the page is still waiting for /ready');
    ready.release();
    await modelChecked;
    const pixels = Buffer.from(Array.from({ length: 784 }, (_, i) => ((i % 28) * 9) % 256));
    const file = join(dir, 'item.png');
    await writeFile(file, await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer());
    await page.setInputFiles('#file', file);
    await page.click('#predict');
    const barsDrawn = page.locator('#bars li').nth(9).waitFor({ timeout: 15_000 });
    await predict.arrived;
    assert.equal(await page.locator('#bars li').count(), 0, 'no bars before the answer');
    predict.release();
    await barsDrawn;
    assert.equal(await page.locator('#bars li').count(), 10);
    const result = (await page.textContent('#result')) ?? '';
    assert.doesNotMatch(result, /Upload or draw/);
    assert.equal(((await page.textContent('#error')) ?? '').trim(), '');
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('the home page says which preprocessing ran for an upload, and sends the mode chosen', async () => {
    const { page, problems } = await watchedPage(browser, url);
    await page.goto(`${url}/`);
    await page.locator('#model').filter({ hasNotText: /Checking/ }).waitFor();
    const file = join(dir, 'photo.jpg');
    await writeFile(file, await sharp({ create: { width: 120, height: 90, channels: 3, background: '#eeeae0' } }).jpeg().toBuffer());
    await page.setInputFiles('#file', file);
    for (const mode of ['', 'photo', 'dataset']) {
      await page.selectOption('#mode', mode);
      const answer = page.waitForResponse((response) => response.url().includes('/predict?'));
      await page.click('#predict');
      const response = await answer;
      const body = (await response.json()) as { preprocessing: string };
      assert.equal(new URL(response.url()).searchParams.get('preprocess'), mode === '' ? null : mode);
      await page.locator('#path', { hasText: `Preprocessing: ${body.preprocessing}` }).waitFor({ timeout: 15_000 });
    }
    assert.deepEqual(problems, []);
    await page.close();
  });
});

describe('the home page follows the served model (Chromium)', { skip: SKIP_WITHOUT_CHROMIUM }, () => {
  let dir: string;
  let serve: ServeApp;
  let url: string;
  let browser: Browser;
  let rgb: Built;
  let gray: Built;

  before(async () => {
    await initEngine({ quiet: true });
    dir = await mkdtemp(join(tmpdir(), 'kiln-pages-shapes-'));
    rgb = await buildAndSave(join(dir, 'rgb'), 'pets', RGB_CNN, { height: 32, width: 32, channels: 3, classes: 3 }, RGB_CLASSES, RGB_PRE);
    gray = await buildAndSave(join(dir, 'gray'), 'shapes', GRAY_MLP, { height: 20, width: 24, channels: 1, classes: 4 }, GRAY_CLASSES, GRAY_PRE);
    serve = buildServeApp({ defaultMetrics: false });
    await serve.app.listen({ port: 0, host: '127.0.0.1' });
    const address = serve.app.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await serve?.close();
    rgb?.model.dispose();
    gray?.model.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  test('an RGB model: the page says "32x32 RGB" and its classes, offers no canvas nor photo mode, and an upload gets a bar per class', async () => {
    await serve.setModel(await loadServedModel(rgb.folder, { maxWaitMs: 0 }));
    const { page, problems } = await watchedPage(browser, url);
    await page.goto(`${url}/`);
    await page.locator('#expects', { hasText: '32x32 RGB' }).waitFor({ timeout: 15_000 });
    assert.match((await page.textContent('#expects')) ?? '', /classes: cat, dog, fox/);
    assert.equal(await page.locator('#pad').isVisible(), false, 'no drawing canvas for an RGB model');
    assert.equal(await page.locator('#mode').isVisible(), false, 'no photo mode for an RGB model');
    const file = join(dir, 'pet.jpg');
    await writeFile(file, await sharp(pixelsOf(48, 40, 3, 5), { raw: { width: 48, height: 40, channels: 3 } }).jpeg().toBuffer());
    await page.setInputFiles('#file', file);
    await page.click('#predict');
    await page.locator('#bars li').nth(2).waitFor({ timeout: 15_000 });
    const labels = await page.locator('#bars li .label').allTextContents();
    assert.deepEqual([...labels].sort(), [...RGB_CLASSES].sort());
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('a 20x24 gray model: the canvas is offered, and a drawing is sent as 20x24 = 480 pixel values', async () => {
    await serve.setModel(await loadServedModel(gray.folder, { maxWaitMs: 0 }));
    const { page, problems } = await watchedPage(browser, url);
    await page.goto(`${url}/`);
    await page.locator('#expects', { hasText: '20x24 grayscale' }).waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('#pad').isVisible(), true);
    await page.focus('#pad');
    for (const key of ['Space', 'ArrowRight', 'ArrowRight', 'ArrowDown', 'ArrowDown']) await page.keyboard.press(key);
    const sent = page.waitForRequest((request) => request.url().includes('/predict/batch'));
    await page.click('#predict');
    const images = ((await sent).postDataJSON() as { images: number[][] }).images;
    assert.equal(images[0]!.length, 480);
    assert.ok(images[0]!.some((v) => v > 0), 'the stroke is in the pixels');
    await page.locator('#bars li').nth(3).waitFor({ timeout: 15_000 });
    assert.deepEqual([...(await page.locator('#bars li .label').allTextContents())].sort(), [...GRAY_CLASSES].sort());
    assert.deepEqual(problems, []);
    await page.close();
  });
});
