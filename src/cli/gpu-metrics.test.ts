/**
 * The real `kiln tune --device gpu --metrics-port 0` shows its GPU on the trainer's endpoint while
 * it trains: the adapter, non-zero GPU memory held by tfjs, and the share of step time spent
 * awaiting the GPU (observability/webgpu-metrics). In CI the GPU is Mesa's lavapipe, which
 * `--device gpu` accepts; one seed trial of one epoch takes ~20 s there.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REAL_DATA, SKIP_WITHOUT_DATA, spawnKiln } from './test-helpers.js';

/** The value of the first sample of `name` in a Prometheus text page, or null when absent. */
function sample(text: string, name: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? null : Number(line.split(' ').pop());
}

describe('kiln tune --device gpu --metrics-port', { skip: SKIP_WITHOUT_DATA }, () => {
  let home = '';
  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'kiln-gpu-metrics-'));
  });
  after(async () => {
    await rm(home, { recursive: true, force: true });
  });

  test('exposes the adapter, non-zero tfjs GPU memory and the step wait share during training', async () => {
    const run = spawnKiln(['tune', '--profile', 'seed', '--n-trials', '1', '--epochs', '1', '--device', 'gpu', '--metrics-port', '0', '--home', home, '--data-dir', REAL_DATA ?? '']);
    try {
      await run.waitFor(/GPU metrics \(WebGPU: adapter, tfjs memory, step wait\): on/);
      const url = /trainer metrics \(Prometheus\): (\S+)/.exec(run.stderr() + run.stdout())?.[1];
      assert.ok(url, run.stderr());
      // Scraped as Prometheus would, until a step on the GPU has been counted while the model is on it.
      let page = '';
      let running = true;
      void run.exited.then(() => (running = false));
      while (running) {
        page = await fetch(url).then((response) => response.text(), () => page);
        if ((sample(page, 'kiln_gpu_step_seconds_total') ?? 0) > 0 && (sample(page, 'kiln_gpu_tfjs_memory_used_bytes') ?? 0) > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(running, `kiln tune ended before its endpoint showed a GPU step:\n${page}\n${run.stderr()}`);
      assert.match(page, /kiln_gpu_adapter_info\{vendor="[^"]*",architecture="[^"]*",description="[^"]+",software="(true|false)"\} 1/);
      const ratio = sample(page, 'kiln_gpu_step_wait_ratio') ?? -1;
      assert.ok(ratio > 0 && ratio <= 1, `kiln_gpu_step_wait_ratio ${ratio}`);
      assert.equal(await run.exited, 0, run.stderr());
    } finally {
      run.child.kill();
    }
  });
});
