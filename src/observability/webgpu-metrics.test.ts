/**
 * A trainer on tfjs's WebGPU backend shows its GPU on the trainer's /metrics while it trains: the
 * adapter, the device memory tfjs holds (non-zero mid-training), and how much of each step was
 * spent awaiting the GPU's results. CI runs this on Mesa's lavapipe, as engine/gpu-parity.test.ts
 * does: no adapter at all is a failure that says why.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Random } from '../common/random.js';
import { type EngineInfo, initEngine, tf } from '../engine/index.js';
import { buildModel, FASHION_MNIST_INPUT } from '../models/index.js';
import type { Callback } from '../train/callbacks.js';
import { syntheticImageSet } from '../train/synthetic.js';
import { Trainer } from '../train/trainer.js';
import { type MetricsEndpoint, serveMetrics, TrainingMetrics } from './trainer-metrics.js';
import { WAIT_WINDOW_STEPS, type WebGpuMemory } from './webgpu-metrics.js';

/** The value of the first sample of `name` (with any labels) in a Prometheus text page. */
function value(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  assert.ok(line, `${name} missing from /metrics`);
  return Number(line.split(' ').pop());
}

describe('trainer metrics on a WebGPU device', () => {
  let engine: EngineInfo;
  let endpoint: MetricsEndpoint | null = null;

  before(async () => {
    engine = await initEngine({ device: 'gpu', quiet: true });
  });

  after(async () => {
    await endpoint?.close();
  });

  test('a short training run shows the adapter, non-zero tfjs GPU memory and the step wait share on /metrics', async () => {
    assert.equal(engine.backend, 'webgpu', 'a WebGPU adapter is found (lavapipe in CI: bash scripts/setup-system.sh)');
    const metrics = new TrainingMetrics({ hostMetrics: false });
    metrics.addWebGpuMetrics({ adapter: engine.adapter!, memory: () => tf.memory() as WebGpuMemory });
    endpoint = await serveMetrics(metrics, { port: 0 });
    const url = endpoint.url;

    // Scraped mid-training, as Prometheus would: after a few steps, while the model is on the GPU.
    let scrape: Promise<string> | null = null;
    const scraper: Callback = {
      onBatchEnd(_context, batch) {
        if (batch.globalStep === 5) scrape = fetch(url).then((response) => response.text());
      },
    };
    const model = buildModel({ kind: 'mlp', hiddenUnits: [32], dropout: 0 }, FASHION_MNIST_INPUT, new Random(3));
    const trainer = new Trainer({ maxEpochs: 1, batchSize: 32, seed: 3, callbacks: [metrics, scraper] });
    await trainer.fit(model, syntheticImageSet(320, 1), syntheticImageSet(64, 2));
    assert.ok(scrape !== null, 'the run reached step 5');
    const during = await (scrape as Promise<string>);
    model.dispose();

    const { description } = engine.adapter!;
    assert.match(during, new RegExp(`kiln_gpu_adapter_info\\{vendor="${engine.adapter!.vendor}",architecture="${engine.adapter!.architecture}",description="[^"]*",software="${String(engine.adapter!.software)}"\\} 1`));
    assert.ok(during.includes(description.replace(/\\/g, '\\\\').replace(/"/g, '\\"')), 'the adapter description is a label');
    // The weights (784x32 + 32x10 + biases) and Adam's two slots alone are ~300 kB of GPU buffers.
    const used = value(during, 'kiln_gpu_tfjs_memory_used_bytes');
    assert.ok(used > 100_000, `kiln_gpu_tfjs_memory_used_bytes ${used}`);
    assert.ok(value(during, 'kiln_gpu_tfjs_memory_allocated_bytes') >= used);

    const after = await (await fetch(url)).text();
    const steps = value(after, 'kiln_gpu_step_seconds_total');
    const waited = value(after, 'kiln_gpu_step_wait_seconds_total');
    assert.ok(steps > 0 && waited > 0 && waited <= steps, `waited ${waited} s of ${steps} s`);
    const ratio = value(after, 'kiln_gpu_step_wait_ratio');
    assert.ok(ratio > 0 && ratio <= 1, `kiln_gpu_step_wait_ratio ${ratio} over the last ${WAIT_WINDOW_STEPS} steps`);
  });

  test('without addWebGpuMetrics (a CPU run) none of these metrics exist', async () => {
    const text = await new TrainingMetrics({ hostMetrics: false }).registry.metrics();
    assert.doesNotMatch(text, /kiln_gpu_(adapter_info|tfjs_memory|step_)/);
  });
});
