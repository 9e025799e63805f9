/**
 * The GPU dashboard's "Trainer on WebGPU" panels show a real training run on the GPU: Debian's
 * Prometheus scrapes a trainer endpoint while the trainer trains on tfjs's webgpu backend (Mesa's
 * lavapipe in CI), then every query of those panels is evaluated through Prometheus's HTTP API, as
 * Grafana would send it, and must return data. (stack.test.ts checks that every dashboard query
 * parses; it trains on the CPU, so it cannot ask the GPU panels for data.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { Random } from '../common/random.js';
import { initEngine, tf } from '../engine/index.js';
import { buildModel, FASHION_MNIST_INPUT } from '../models/index.js';
import { syntheticImageSet } from '../train/synthetic.js';
import { Trainer } from '../train/trainer.js';
import { type MetricsEndpoint, serveMetrics, TrainingMetrics } from './trainer-metrics.js';
import { allPanels, type Child, freePort, interpolate, loadDashboards, startChild, waitFor, which } from './test-stack.js';
import type { WebGpuMemory } from './webgpu-metrics.js';

const PROMETHEUS = which('prometheus');
const SKIP = PROMETHEUS ? false : 'Debian package prometheus not installed (bash scripts/setup-system.sh)';

type RangeResult = { result: { metric: Record<string, string>; values: [number, string][] }[] };

describe('the GPU dashboard shows a trainer on WebGPU', { skip: SKIP }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-webgpu-dash-'));
  let prometheus: Child | null = null;
  let endpoint: MetricsEndpoint | null = null;
  let promUrl = '';
  const metrics = new TrainingMetrics({ hostMetrics: false });

  const query = async (expr: string, start: number): Promise<number[]> => {
    const params = new URLSearchParams({ query: expr, start: String(start), end: String(Date.now() / 1000), step: '1' });
    const answer = (await (await fetch(`${promUrl}/api/v1/query_range?${params.toString()}`)).json()) as { status: string; error?: string; data: RangeResult };
    assert.equal(answer.status, 'success', `${expr}: ${answer.error ?? ''}`);
    return answer.data.result.flatMap((series) => series.values.map(([, value]) => Number(value))).filter((value) => Number.isFinite(value));
  };

  before(async () => {
    const engine = await initEngine({ device: 'gpu', quiet: true });
    assert.ok(engine.adapter !== null, 'a WebGPU adapter is found (lavapipe in CI: bash scripts/setup-system.sh)');
    metrics.addWebGpuMetrics({ adapter: engine.adapter, memory: () => tf.memory() as WebGpuMemory });
    endpoint = await serveMetrics(metrics, { port: 0 });
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const config = { global: { scrape_interval: '1s', evaluation_interval: '1s' }, scrape_configs: [{ job_name: 'kiln-trainer', static_configs: [{ targets: [new URL(endpoint.url).host] }] }] };
    writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
    prometheus = startChild(PROMETHEUS!, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn']);
    await waitFor('Prometheus ready', async () => (await fetch(`${promUrl}/-/ready`)).ok, 30_000);
  });

  after(async () => {
    await endpoint?.close();
    await prometheus?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('tfjs GPU memory, step time awaiting the GPU and the adapter all return data', async () => {
    const start = Date.now() / 1000;
    const model = buildModel({ kind: 'mlp', hiddenUnits: [32], dropout: 0 }, FASHION_MNIST_INPUT, new Random(4));
    const fit = new Trainer({ maxEpochs: 1, batchSize: 32, seed: 4, callbacks: [metrics] });
    const train = syntheticImageSet(320, 1);
    const validation = syntheticImageSet(64, 2);
    // An epoch at a time until Prometheus holds three scrapes of a growing step counter: a rate needs two.
    await waitFor(
      'three scrapes of a training run on the GPU',
      async () => {
        await fit.fit(model, train, validation);
        const values = await query('kiln_gpu_step_seconds_total', start);
        return values.length >= 3 && new Set(values).size >= 2;
      },
      120_000,
      0,
    );
    model.dispose();

    const panels = loadDashboards()
      .flatMap(({ file, dashboard }) => (file === 'gpu.json' ? allPanels(dashboard) : []))
      .filter((panel) => panel.type !== 'row' && panel.title.includes('WebGPU'));
    assert.ok(panels.length >= 3, `only ${panels.length} WebGPU panels`);
    const intervals = { rateInterval: '10s', range: `${Math.ceil(Date.now() / 1000 - start)}s` };
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        const values = await query(interpolate(target.expr, intervals), start);
        assert.ok(values.length > 0, `"${panel.title}" / ${target.refId}: no data for ${target.expr}`);
        if (/memory/.test(target.expr)) assert.ok(Math.max(...values) > 0, `"${panel.title}" / ${target.refId}: memory is 0`);
      }
    }
  });
});
