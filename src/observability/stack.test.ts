/**
 * The monitoring stack for real: Debian's Prometheus and node-exporter on free ports, scraping
 * Kiln's API, tracking server and trainer (in this process, on real ports) with
 * deploy/prometheus/prometheus.yml (targets and intervals replaced) and its alert rules; traffic
 * and a short training run, a model swap and a registry alias; then every panel query, annotation
 * and template variable of every Grafana dashboard is evaluated through Prometheus's HTTP API
 * (with the variables at "All" and `$__rate_interval`/`$__range` filled in as Grafana would).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { parse, stringify } from 'yaml';
import { Random } from '../common/random.js';
import { initEngine } from '../engine/index.js';
import { buildModel, FASHION_MNIST_INPUT } from '../models/index.js';
import { TEST_MLP, writeTestModelFolder } from '../models/onnx/test-helpers.js';
import { buildServeApp, loadServedModel, type ServeApp } from '../serve/index.js';
import { openStore } from '../tracking/store/index.js';
import { createTrackingServer } from '../tracking/server/index.js';
import { syntheticImageSet } from '../train/synthetic.js';
import { Trainer } from '../train/trainer.js';
import { LogSink } from './logging.js';
import { type MetricsEndpoint, serveMetrics, TrainingMetrics } from './trainer-metrics.js';
import { allPanels, type Child, DEPLOY, freePort, interpolate, isGpuQuery, labelValuesQuery, loadDashboards, startChild, waitFor, which } from './test-stack.js';

const PROMETHEUS = which('prometheus');
const NODE_EXPORTER = which('prometheus-node-exporter');
const SKIP = PROMETHEUS && NODE_EXPORTER ? false : 'Debian packages prometheus and prometheus-node-exporter not installed (bash scripts/setup-system.sh)';

interface PromResponse<T> {
  status: 'success' | 'error';
  error?: string;
  data: T;
}
type RangeResult = { resultType: string; result: { metric: Record<string, string>; values: [number, string][] }[] };

describe('dashboards against a real Prometheus', { skip: SKIP }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-stack-'));
  const children: Child[] = [];
  let promUrl = '';
  let serve: ServeApp | null = null;
  let tracking: FastifyInstance | null = null;
  let trainerEndpoint: MetricsEndpoint | null = null;
  let startedAt = 0;
  const targets: Record<string, string> = {};
  const logs = new LogSink({ dir: join(dir, 'Logs'), terminal: null });
  let requests = 0;

  const prom = async <T>(path: string, params: Record<string, string>): Promise<PromResponse<T>> => {
    const response = await fetch(`${promUrl}${path}?${new URLSearchParams(params).toString()}`);
    return (await response.json()) as PromResponse<T>;
  };

  /** Waits until the latest `up` of every Kiln target (and Prometheus, node-exporter) is 1 and the absent DCGM's 0. */
  const everyTargetScraped = async (what: string): Promise<void> => {
    const expectedUp = ['prometheus', 'kiln-api', 'kiln-tracking', 'kiln-trainer', 'node'];
    const since = Date.now() / 1000;
    await waitFor(
      what,
      async () => {
        const up = await prom<{ result: { metric: Record<string, string>; value: [number, string] }[] }>('/api/v1/query', { query: 'up' });
        const byJob = new Map(up.data.result.map((r) => [r.metric.job, r.value]));
        // An instant query answers with the evaluation time; the sample's own time is what matters.
        const scraped = await prom<{ result: { metric: Record<string, string>; value: [number, string] }[] }>('/api/v1/query', { query: 'timestamp(up)' });
        const at = new Map(scraped.data.result.map((r) => [r.metric.job, Number(r.value[1])]));
        return expectedUp.every((job) => byJob.get(job)?.[1] === '1' && (at.get(job) ?? 0) > since) && byJob.get('dcgm')?.[1] === '0';
      },
      20_000,
      250,
    );
  };

  before(async () => {
    await initEngine({ quiet: true });
    startedAt = Date.now() / 1000;

    // node-exporter
    const nodePort = await freePort();
    children.push(startChild(NODE_EXPORTER!, [`--web.listen-address=127.0.0.1:${nodePort}`]));
    targets.node = `127.0.0.1:${nodePort}`;

    // The prediction API, serving a real (small) model folder.
    const folder = join(dir, 'model');
    (await writeTestModelFolder(folder, TEST_MLP)).dispose();
    serve = buildServeApp({ defaultMetrics: true, docs: false, logger: logs.logger('api') });
    await serve.app.listen({ host: '127.0.0.1', port: 0 });
    await serve.setModel(await loadServedModel(folder, { version: '3', maxWaitMs: 0 }));
    targets['kiln-api'] = `127.0.0.1:${(serve.app.server.address() as { port: number }).port}`;

    // The tracking server over an in-memory store.
    const store = await openStore('sqlite::memory:', { artifactRoot: 'mlflow-artifacts:' });
    tracking = await createTrackingServer({ store, artifactsDestination: join(dir, 'artifacts'), logger: logs.logger('tracking') });
    tracking.addHook('onClose', async () => store.close());
    await tracking.listen({ host: '127.0.0.1', port: 0 });
    targets['kiln-tracking'] = `127.0.0.1:${(tracking.server.address() as { port: number }).port}`;
    // A registered model with @champion: the alias-move annotations read it.
    const registry = `http://${targets['kiln-tracking']}/api/2.0/mlflow`;
    const post = async (path: string, body: unknown): Promise<void> => {
      const response = await fetch(`${registry}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(response.status, 200, `${path}: ${await response.text()}`);
    };
    await post('/registered-models/create', { name: 'fashion-mnist' });
    await post('/model-versions/create', { name: 'fashion-mnist', source: folder });
    await post('/registered-models/alias', { name: 'fashion-mnist', alias: 'champion', version: '1' });
    modelFolder = folder;

    // The trainer's endpoint (the training itself runs in the test, with traffic).
    const metrics = new TrainingMetrics();
    trainerEndpoint = await serveMetrics(metrics, { port: 0 });
    targets['kiln-trainer'] = new URL(trainerEndpoint.url).host;
    targets.dcgm = `127.0.0.1:${await freePort()}`; // nothing listens: no GPU here
    targets.alertmanager = `127.0.0.1:${await freePort()}`; // delivery is alertmanager.test.ts's subject
    trainerMetrics = metrics;

    // Prometheus with the stack's own configuration and rules; only targets and intervals differ.
    const promPort = await freePort();
    targets.prometheus = `127.0.0.1:${promPort}`;
    const config = parse(readFileSync(join(DEPLOY, 'prometheus', 'prometheus.yml'), 'utf8')) as {
      global: Record<string, unknown>;
      rule_files: string[];
      alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    config.global.scrape_interval = '1s';
    config.global.evaluation_interval = '1s';
    config.rule_files = config.rule_files.map((file) => join(DEPLOY, 'prometheus', file));
    for (const job of config.scrape_configs) {
      const target = targets[job.job_name];
      assert.ok(target, `prometheus.yml scrapes job ${job.job_name}, which the test does not know`);
      job.static_configs = [{ targets: [target] }];
    }
    config.alerting.alertmanagers = [{ static_configs: [{ targets: [targets.alertmanager] }] }];
    writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
    children.push(
      startChild(PROMETHEUS!, [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        '--log.level=warn',
      ]),
    );
    promUrl = `http://127.0.0.1:${promPort}`;
    await waitFor('Prometheus ready', async () => (await fetch(`${promUrl}/-/ready`)).ok, 30_000);
  });

  let trainerMetrics: TrainingMetrics | null = null;
  let modelFolder = '';

  after(async () => {
    await trainerEndpoint?.close();
    await serve?.close();
    await tracking?.close();
    for (const child of children) await child.stop();
    logs.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('traffic and training reach Prometheus; every panel query parses, and every non-GPU query returns data', async () => {
    const api = `http://${targets['kiln-api']}`;
    const rng = new Random(5);
    const pixels = (): number[] => Array.from({ length: 784 }, () => Math.floor(rng.float() * 256));
    const png = await sharp(Buffer.from(Uint8Array.from(pixels())), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer();

    // A few seconds of traffic: batches, single images, and some client errors.
    let trafficUntil = 0;
    const client = async (): Promise<void> => {
      while (Date.now() < trafficUntil) {
        const n = requests++ % 10;
        if (n === 9) {
          await fetch(`${api}/predict/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"images": []}' });
        } else if (n % 2 === 0) {
          const form = new FormData();
          form.append('file', new Blob([png], { type: 'image/png' }), 'x.png');
          assert.equal((await fetch(`${api}/predict`, { method: 'POST', body: form })).status, 200);
        } else {
          const body = JSON.stringify({ images: [pixels(), pixels(), pixels()] });
          assert.equal((await fetch(`${api}/predict/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status, 200);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    // A tracking client as a study's trials are: runs created, metric points logged in batches.
    const trackingClient = async (): Promise<void> => {
      const mlflow = `http://${targets['kiln-tracking']}/api/2.0/mlflow`;
      const post = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
        const response = await fetch(`${mlflow}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        assert.equal(response.status, 200, path);
        return (await response.json()) as Record<string, unknown>;
      };
      const { experiment_id } = await post('/experiments/create', { name: 'stack-test' });
      for (let trial = 0; Date.now() < trafficUntil; trial++) {
        const { run } = (await post('/runs/create', { experiment_id, run_name: `trial-${trial}` })) as { run: { info: { run_id: string } } };
        const metrics = Array.from({ length: 10 }, (_, step) => ({ key: 'val_loss', value: 1 / (step + 1), timestamp: Date.now(), step }));
        await post('/runs/log-batch', { run_id: run.info.run_id, metrics });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    // A short real training run reporting to the trainer endpoint, as a trial of a study would.
    const training = async (): Promise<void> => {
      const metrics = trainerMetrics!;
      metrics.setStudy({ running: 1, complete: 0, pruned: 0, failed: 0 }, null);
      const model = buildModel({ kind: 'mlp', hiddenUnits: [32], dropout: 0.1 }, FASHION_MNIST_INPUT, new Random(1));
      const trainer = new Trainer({ maxEpochs: 3, batchSize: 64, seed: 1, callbacks: [metrics] });
      const result = await trainer.fit(model, syntheticImageSet(1500, 1), syntheticImageSet(300, 2));
      model.dispose();
      const best = Math.max(...result.history.map((h) => h.val_acc));
      metrics.setStudy({ running: 0, complete: 1, pruned: 0, failed: 0 }, best);
    };
    // Prometheus picks up its targets a few seconds after it starts: traffic before that is lost.
    await everyTargetScraped('Prometheus scraping every target');
    // Training blocks the event loop in stretches (the engine is synchronous), which would starve
    // the API's scrapes in this shared process: train first, then send the traffic.
    await training();
    // A model swap, as a new @champion would cause: the "Model swaps" annotation marks it.
    await serve!.setModel(await loadServedModel(modelFolder, { version: '4', maxWaitMs: 0 }));
    trafficUntil = Date.now() + 5000;
    await Promise.all([client(), client(), client(), trackingClient()]);
    assert.ok(requests > 20, `only ${requests} requests sent`);

    // Every target but the absent DCGM exporter is up, and the latest traffic has been scraped.
    await everyTargetScraped('every target scraped after the traffic');
    await new Promise((resolve) => setTimeout(resolve, 1500));

    const end = Date.now() / 1000;
    // Grafana's $__rate_interval is at least four scrape intervals (1 s here); $__range the time range.
    const intervals = { rateInterval: '10s', range: `${Math.ceil(end - startedAt)}s` };
    const failures: string[] = [];
    let checked = 0;
    for (const { file, dashboard } of loadDashboards()) {
      for (const panel of allPanels(dashboard)) {
        for (const target of panel.targets ?? []) {
          checked++;
          const answer = await prom<RangeResult>('/api/v1/query_range', { query: interpolate(target.expr, intervals), start: String(startedAt), end: String(end), step: '1' });
          const where = `${file} / "${panel.title}" / ${target.refId}: ${target.expr}`;
          if (answer.status !== 'success') {
            failures.push(`${where} → ${answer.error ?? 'error'}`);
            continue;
          }
          if (isGpuQuery(target.expr)) continue;
          const values = answer.data.result.flatMap((series) => series.values.map(([, value]) => Number(value))).filter((value) => Number.isFinite(value));
          if (values.length === 0) failures.push(`${where} → no data`);
        }
      }
    }
    if (process.env.KILN_STACK_DEBUG) {
      for (const query of ['up{job="kiln-api"}', 'kiln_serve_request_duration_seconds_count', 'scrape_duration_seconds{job="kiln-api"}', 'kiln_serve_requests_total']) {
        const answer = await prom<RangeResult>('/api/v1/query_range', { query, start: String(startedAt), end: String(end), step: '1' });
        console.log(query, JSON.stringify(answer.data.result.map((r) => [r.metric, r.values.map(([t, v]) => `${(t - startedAt).toFixed(0)}:${v}`).join(' ')])));
      }
    }
    assert.ok(checked >= 70, `only ${checked} panel queries found`);
    assert.deepEqual(failures, [], `panel queries failed:\n${failures.join('\n')}`);

    // Annotations: the model swap (and the first load) and the alias set above are marked.
    const marked = new Map<string, Record<string, string>[]>();
    for (const { file, dashboard } of loadDashboards()) {
      for (const annotation of dashboard.annotations.list) {
        if (!annotation.expr) continue;
        const answer = await prom<RangeResult>('/api/v1/query_range', { query: interpolate(annotation.expr, intervals), start: String(startedAt), end: String(end), step: '1' });
        assert.equal(answer.status, 'success', `${file} / annotation ${annotation.name}: ${answer.error ?? ''}`);
        marked.set(annotation.name, answer.data.result.map((series) => series.metric));
      }
    }
    assert.ok(marked.get('Model swaps')?.some((labels) => labels.version === '4' && labels.name === 'fashion-mnist'), JSON.stringify(marked.get('Model swaps')));
    assert.ok(marked.get('Alias moves')?.some((labels) => labels.alias === 'champion' && labels.version === '1'), JSON.stringify(marked.get('Alias moves')));

    // Template variables: every label_values() query finds values.
    for (const { file, dashboard } of loadDashboards()) {
      for (const variable of dashboard.templating.list) {
        const query = labelValuesQuery(variable);
        if (variable.type !== 'query') continue;
        assert.ok(query, `${file}: variable ${variable.name} is not a label_values() query`);
        const answer = await prom<Record<string, string>[]>('/api/v1/series', { 'match[]': interpolate(query.selector, intervals), start: String(startedAt), end: String(end) });
        assert.equal(answer.status, 'success', `${file} / $${variable.name}: ${answer.error ?? ''}`);
        const values = new Set(answer.data.map((series) => series[query.label]));
        assert.ok(values.size > 0, `${file} / $${variable.name}: no values for ${query.selector}`);
      }
    }
  });

  test('the alert rules load into Prometheus and evaluate without errors', async () => {
    const rules = await waitFor(
      'the alert rules evaluated',
      async () => {
        const answer = await prom<{ groups: { name: string; rules: { name: string; health: string; lastError?: string }[] }[] }>('/api/v1/rules', {});
        const all = answer.data.groups.flatMap((group) => group.rules);
        return all.length > 0 && all.every((rule) => rule.health !== 'unknown') ? all : null;
      },
      10_000,
    );
    assert.deepEqual(
      rules.map((rule) => rule.name).sort(),
      ['KilnApiDown', 'KilnApiHighErrorRatio', 'KilnApiHighLatencyP99', 'KilnDiskAlmostFull', 'KilnGpuTemperatureHigh', 'KilnNoModelReady', 'KilnTargetDown', 'KilnTuningStudyFailed', 'kiln:api_model_ever_served'],
    );
    for (const rule of rules) assert.equal(rule.health, 'ok', `${rule.name}: ${rule.lastError ?? ''}`);
    // With a model loaded and every Kiln target up, none of the API alerts is pending or firing.
    const alerts = await prom<{ alerts: { labels: { alertname: string } }[] }>('/api/v1/alerts', {});
    const names = alerts.data.alerts.map((alert) => alert.labels.alertname);
    for (const name of ['KilnApiDown', 'KilnNoModelReady', 'KilnApiHighErrorRatio']) assert.ok(!names.includes(name), `${name} is active: ${names.join(', ')}`);
  });

  test('the API and the tracking server logged every request, with its id, into their own files', () => {
    const lines = (file: string): Record<string, unknown>[] =>
      readFileSync(join(dir, 'Logs', file), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    const api = lines('api_log.log');
    const completed = api.filter((line) => line.message === 'request completed');
    // The traffic, plus Prometheus's scrapes of /metrics.
    assert.ok(completed.length >= requests, `${completed.length} requests logged, ${requests} sent`);
    assert.ok(completed.every((line) => typeof line.request_id === 'string' && line.service === 'api'));
    assert.ok(completed.some((line) => (line.res as { statusCode: number }).statusCode === 400));
    const tracking = lines('tracking_log.log');
    assert.ok(tracking.some((line) => line.message === 'request completed' && line.service === 'tracking'));
    assert.ok(tracking.every((line) => line.service === 'tracking'));
    // Client errors are not system issues: nothing reached system_log.log.
    assert.deepEqual(lines('system_log.log'), []);
    // Read last: scrapes go on meanwhile, so it may have grown since.
    assert.ok(lines('app_combined.log').length >= api.length + tracking.length);
  });
});
