/**
 * bench/ui — `npm run bench:ui`: time to first render of the web UI in Debian's Chromium.
 *
 * A store is seeded directly (SQLite) with an experiment of 1,000 runs, one of 10,000 runs
 * (6 params, 5 metrics, 2 tags each) and a run with one 100,000-point metric; a real tracking
 * server serves it with the built UI. Each figure is navigation start → the runs table (all
 * rows of the page loaded: page size = the run count) or the metric chart in the DOM and
 * painted, read from the performance mark the UI sets; the median of REPS fresh pages.
 *
 * Baselines, measured in the same run and browser: the same rows fetched from the same API and
 * rendered as a plain full-DOM <table> (no virtualization), and the same 100,000 points, fetched
 * from the same binary endpoint, drawn as one SVG polyline; each timed from its own navigation
 * start to painted (the baseline pages load no app bundle, which favours them).
 * Targets (issue 7): 1,000 runs ≤ 1 s, 10,000 runs ≤ 2 s, 100,000-point chart ≤ 500 ms.
 * The last stdout line is one JSON object of all figures.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startTrackingServer } from '../src/tracking/server/index.js';
import { openStore } from '../src/tracking/store/index.js';
import type { Metric, TrackingStore } from '../src/tracking/store/types.js';
import { CHROMIUM, launchChromium } from '../src/ui/e2e/browser.js';

const TARGETS_MS = { runs_1k: 1000, runs_10k: 2000, chart_100k: 500 };
const REPS = Number(process.env.BENCH_UI_REPS ?? 5);
const POINTS = 100_000;

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const round = (value: number, digits = 1): number => Number(value.toFixed(digits));
const log = (line: string): void => void process.stderr.write(`${line}\n`);

async function seedRuns(store: TrackingStore, name: string, count: number): Promise<string> {
  const experimentId = await store.createExperiment({ name });
  for (let r = 0; r < count; r++) {
    const run = await store.createRun({ experiment_id: experimentId, run_name: `run-${r}`, start_time: 1_700_000_000_000 + r * 1000 });
    await store.logBatch(run.info.run_id, {
      params: [
        { key: 'lr', value: String(10 ** -(1 + (r % 4))) },
        { key: 'batch_size', value: String(32 << r % 3) },
        { key: 'optimizer', value: r % 2 === 0 ? 'adam' : 'sgd' },
        { key: 'n_layers', value: String(1 + (r % 3)) },
        { key: 'dropout', value: String((r % 5) / 10) },
        { key: 'epochs', value: '10' },
      ],
      metrics: ['val_acc', 'val_loss', 'train_loss', 'train_acc', 'epoch_seconds'].map((key, i) => ({ key, value: ((r * 7919 + i * 104729) % 1000) / 1000, timestamp: 1_700_000_000_000 + r, step: 9 })),
      tags: [
        { key: 'kiln.study', value: `study-${r % 10}` },
        { key: 'kiln.trial', value: String(r) },
      ],
    });
    await store.updateRun(run.info.run_id, { status: 'FINISHED', end_time: 1_700_000_000_000 + r * 1000 + 60_000 });
  }
  return experimentId;
}

async function seedLongMetric(store: TrackingStore): Promise<string> {
  const experimentId = await store.createExperiment({ name: 'bench-chart' });
  const run = await store.createRun({ experiment_id: experimentId, run_name: 'long-history' });
  for (let start = 0; start < POINTS; start += 1000) {
    const metrics: Metric[] = Array.from({ length: 1000 }, (_, i) => {
      const step = start + i;
      return { key: 'loss', value: 2 * Math.exp(-step / 20_000) + 0.05 * Math.sin(step / 50), timestamp: 1_700_000_000_000 + step * 10, step };
    });
    await store.logBatch(run.info.run_id, { metrics });
  }
  return run.info.run_id;
}

/** Opens `url` in a fresh page and returns the mark's time from navigation start. */
async function uiFirstRender(browser: Browser, url: string, mark: string): Promise<number> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  try {
    await page.goto(url);
    await page.waitForFunction((name) => performance.getEntriesByName(name).length > 0, mark, { timeout: 60_000, polling: 16 });
    return await page.evaluate((name) => performance.getEntriesByName(name)[0].startTime, mark);
  } finally {
    await page.close();
  }
}

/** Runs `script` (a baseline renderer) on a plain page of the same origin; returns ms from navigation start to painted. */
async function baseline(browser: Browser, origin: string, script: (page: Page) => Promise<number>): Promise<number> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  try {
    // /version is a tiny same-origin response without the UI's CSP, so the baseline may run inline code.
    await page.goto(`${origin}/version`);
    return await script(page);
  } finally {
    await page.close();
  }
}

/** The DOM the baseline renderers touch (the Node build has no DOM types; the code runs in the page). */
interface El {
  textContent: string | null;
  setAttribute(name: string, value: string): void;
  appendChild(child: El): void;
  replaceChildren(...children: El[]): void;
  insertRow(): { insertCell(): El };
}
interface Dom {
  document: { body: El; createElement(tag: string): El; createElementNS(ns: string, tag: string): El };
  requestAnimationFrame(callback: () => void): void;
}

const naiveTable = (experimentId: string, count: number) => (page: Page) =>
  page.evaluate(
    async ({ experimentId, count }) => {
      const response = await fetch('/api/2.0/mlflow/runs/search', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ experiment_ids: [experimentId], max_results: count, order_by: ['attributes.start_time DESC'] }),
      });
      const { runs } = (await response.json()) as { runs: Array<{ info: { run_name: string; status: string; start_time: number }; data: { params?: Array<{ key: string; value: string }>; metrics?: Array<{ key: string; value: number }> } }> };
      const { document, requestAnimationFrame } = globalThis as unknown as Dom;
      const table = document.createElement('table');
      for (const run of runs) {
        const tr = table.insertRow();
        const cells = [run.info.run_name, run.info.status, new Date(run.info.start_time).toISOString(), ...(run.data.metrics ?? []).slice(0, 4).map((m) => String(m.value)), ...(run.data.params ?? []).slice(0, 4).map((p) => p.value)];
        for (const text of cells) tr.insertCell().textContent = text;
      }
      document.body.replaceChildren(table);
      await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
      return performance.now();
    },
    { experimentId, count },
  );

const svgChart = (runId: string) => (page: Page) =>
  page.evaluate(async (runId) => {
    // The same columns the UI reads, so that the two differ only in how they draw.
    const response = await fetch(`/api/2.0/kiln/metrics/history-columns?run_id=${runId}&metric_key=loss`, { headers: { accept: 'application/octet-stream' } });
    const all = new Float64Array(await response.arrayBuffer());
    const n = all.length / 3;
    const { document, requestAnimationFrame } = globalThis as unknown as Dom;
    const [w, h] = [1200, 300];
    const lastStep = all[n - 1];
    let [lo, hi] = [Infinity, -Infinity];
    for (let i = 2 * n; i < 3 * n; i++) [lo, hi] = [Math.min(lo, all[i]), Math.max(hi, all[i])];
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('width', String(w));
    svg.setAttribute('height', String(h));
    const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
    line.setAttribute('fill', 'none');
    line.setAttribute('stroke', 'blue');
    const points = new Array<string>(n);
    for (let i = 0; i < n; i++) points[i] = `${((all[i] / lastStep) * w).toFixed(1)},${(h - ((all[2 * n + i] - lo) / (hi - lo)) * h).toFixed(1)}`;
    line.setAttribute('points', points.join(' '));
    svg.appendChild(line);
    document.body.replaceChildren(svg);
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
    return performance.now();
  }, runId);

async function measure(name: string, fn: () => Promise<number>): Promise<number> {
  await fn(); // warm-up: the server's statement cache, Chromium's code cache
  const samples: number[] = [];
  for (let i = 0; i < REPS; i++) samples.push(await fn());
  const value = median(samples);
  log(`${name}: median ${round(value)} ms of ${REPS} (${samples.map((s) => round(s)).join(', ')})`);
  return value;
}

async function main(): Promise<void> {
  const home = await mkdtemp(join(tmpdir(), 'kiln-bench-ui-'));
  const uri = `sqlite:///${join(home, 'tracking.db')}`;
  const seedStart = performance.now();
  const store = await openStore(uri, { artifactRoot: 'mlflow-artifacts:' });
  const exp1k = await seedRuns(store, 'bench-1k', 1_000);
  const exp10k = await seedRuns(store, 'bench-10k', 10_000);
  const chartRun = await seedLongMetric(store);
  await store.close();
  log(`seeded 11,000 runs and a ${POINTS}-point metric in ${round((performance.now() - seedStart) / 1000)} s`);

  const server = await startTrackingServer({ backendStoreUri: uri, artifactsDestination: join(home, 'artifacts'), port: 0 });
  const address = server.server.address();
  const origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const browser = await launchChromium();
  try {
    const runs1k = await measure('runs table, 1,000 runs', () => uiFirstRender(browser, `${origin}/#/experiments/${exp1k}?size=1000`, 'kiln:runs-table'));
    const runs10k = await measure('runs table, 10,000 runs', () => uiFirstRender(browser, `${origin}/#/experiments/${exp10k}?size=10000`, 'kiln:runs-table'));
    const chart = await measure('metric chart, 100,000 points', () => uiFirstRender(browser, `${origin}/#/runs/${chartRun}?metrics=loss`, 'kiln:metric-chart'));
    const naive1k = await measure('baseline: full-DOM table, 1,000 runs', () => baseline(browser, origin, naiveTable(exp1k, 1_000)));
    const naive10k = await measure('baseline: full-DOM table, 10,000 runs', () => baseline(browser, origin, naiveTable(exp10k, 10_000)));
    const svg = await measure('baseline: SVG polyline, 100,000 points', () => baseline(browser, origin, svgChart(chartRun)));
    const figures = { runs_1k: round(runs1k), runs_10k: round(runs10k), chart_100k: round(chart) };
    const baselines = { runs_1k: round(naive1k), runs_10k: round(naive10k), chart_100k: round(svg) };
    console.log(
      JSON.stringify({
        bench: 'ui',
        browser: `${CHROMIUM} ${browser.version()}`,
        reps: REPS,
        time_to_first_render_ms: figures,
        targets_ms: TARGETS_MS,
        ratio_to_target: { runs_1k: round(runs1k / TARGETS_MS.runs_1k, 3), runs_10k: round(runs10k / TARGETS_MS.runs_10k, 3), chart_100k: round(chart / TARGETS_MS.chart_100k, 3) },
        baseline_ms: { ...baselines, what: 'same rows (runs/search) as a plain full-DOM <table>; same points (history-columns, binary) as one SVG polyline; same server, browser and run' },
        speedup_vs_baseline: { runs_1k: round(naive1k / runs1k, 2), runs_10k: round(naive10k / runs10k, 2), chart_100k: round(svg / chart, 2) },
        meets_targets: runs1k <= TARGETS_MS.runs_1k && runs10k <= TARGETS_MS.runs_10k && chart <= TARGETS_MS.chart_100k,
      }),
    );
  } finally {
    await browser.close();
    await server.close();
    await rm(home, { recursive: true, force: true });
  }
}

await main();
