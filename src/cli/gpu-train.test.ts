/**
 * `kiln train --device gpu` end to end on the real binary: it trains on tfjs webgpu (in CI on
 * Mesa's lavapipe, which `--device gpu` accepts), the loss falls, the same seed gives the same
 * metrics run to run, and the startup line and the JSON say which device trained. `--device auto`
 * on a machine whose only adapter is a software one stays on the CPU.
 *
 * A small slice of the real data keeps this fast on software Vulkan (2 cores, ~600 images/s).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REAL_DATA, runKiln, SKIP_WITHOUT_DATA } from './test-helpers.js';

interface Epoch {
  train_loss: number;
}

describe('kiln train --device gpu', { skip: SKIP_WITHOUT_DATA }, () => {
  let home = '';
  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'kiln-gpu-'));
  });
  after(async () => {
    await rm(home, { recursive: true, force: true });
  });

  const args = (out: string) => [
    'train', '--device', 'gpu', '--model', 'mlp', '--layers', '64', '--epochs', '2', '--lr-schedule', 'constant', '--train-limit', '2000',
    '--validation-size', '500', '--seed', '11', '--no-tracking', '--home', home, '--data-dir', REAL_DATA ?? '', '--out', join(home, out), '--json',
  ];

  test('trains on webgpu, the loss falls, and the same seed repeats its metrics exactly', async () => {
    const first = await runKiln(args('a'));
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout + first.stderr, /engine: tfjs [\d.]+ on webgpu, GPU /, 'the startup line names the GPU');
    const history = first.json.history as Epoch[];
    assert.equal(history.length, 2);
    assert.ok(history[1].train_loss < history[0].train_loss, `train_loss ${history[0].train_loss} -> ${history[1].train_loss}`);
    // 0.74 on lavapipe (chance is 0.1): it learned, with room for another adapter's rounding.
    assert.ok((first.json.test_acc as number) > 0.6, `test_acc ${String(first.json.test_acc)}`);
    const metadata = JSON.parse(await readFile(join(home, 'a', 'kiln-model.json'), 'utf8')) as { engine: { backend: string } };
    assert.equal(metadata.engine.backend, 'webgpu');

    const second = await runKiln(args('b'));
    assert.equal(second.code, 0, second.stderr);
    for (const key of ['test_acc', 'test_loss', 'val_acc', 'val_loss']) assert.equal(second.json[key], first.json[key], key);
    assert.deepEqual(
      (second.json.history as Epoch[]).map((epoch) => epoch.train_loss),
      history.map((epoch) => epoch.train_loss),
    );
  });

  test('--device auto never trains on a software adapter; --dry-run says why', async () => {
    const run = await runKiln(['train', '--device', 'auto', '--dry-run', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const engine = (run.json as { engine: Record<string, unknown> }).engine;
    if (engine['kiln.engine.device'] === 'gpu') {
      // A machine with a real GPU: auto took it, and it is hardware.
      assert.equal(engine['kiln.gpu.software'], 'false');
    } else {
      assert.equal(engine['kiln.engine.backend'], 'wasm');
      assert.equal(typeof engine.device_reason, 'string');
    }
  });

  test('kiln doctor names the adapter, says what auto picks, and lists the Vulkan drivers', async () => {
    const run = await runKiln(['doctor', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const report = run.json as { cpu: { backend: string }; gpu: { description: string; software: boolean } | null; auto: string; gpu_devices: string[]; vulkan_drivers: string[] };
    assert.equal(report.cpu.backend, 'wasm');
    assert.ok(report.gpu !== null && report.gpu.description !== '', 'a WebGPU adapter is found (lavapipe in CI: bash scripts/setup-system.sh)');
    assert.equal(report.auto, report.gpu.software ? 'cpu' : 'gpu');
    assert.ok(report.vulkan_drivers.length > 0);
    assert.ok(Array.isArray(report.gpu_devices) && report.gpu_devices.every((d) => d.startsWith('/dev/')));
  });

  test('an unknown device is a clear error', async () => {
    const run = await runKiln(['train', '--device', 'tpu', '--dry-run']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /invalid device: expected auto, cpu or gpu, got "tpu"/);
  });
});
