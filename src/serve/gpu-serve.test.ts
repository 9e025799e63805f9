/**
 * `--engine gpu` serves what the CPU serves: the same model answers real HTTP /predict with the
 * same probabilities (to 1e-4) from ONNX Runtime's WebGPU execution provider as from its CPU one,
 * for a Fashion-MNIST-shaped CNN (28x28 grayscale, 10 classes) and a 32x32 RGB CNN; /info, /ready
 * and the startup line say GPU and name the adapter; the inference metric is labelled gpu. Without
 * an adapter (Vulkan shown no driver), `kiln serve --engine gpu` fails at once with
 * KILN_ERR_GPU_UNAVAILABLE and a hint, before it listens.
 *
 * CI runs this on Mesa's lavapipe (software Vulkan; `bash scripts/setup-system.sh` installs it). As
 * in engine/gpu-parity.test.ts, no adapter at all is a failure that says why, not a skip.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { runKiln } from '../cli/test-helpers.js';
import { CLASS_NAMES } from '../data/normalize.js';
import { initEngine } from '../engine/index.js';
import type { Preprocessing } from '../models/saved-model.js';
import type { ModelSpec } from '../models/spec.js';
import { type RunningServe, startServe } from './index.js';
import { buildAndSave, type Built, GRAY_MLP, pixelsOf, RGB_CLASSES, RGB_CNN, RGB_PRE } from './test-models.js';

/** float32 on both sides; the GPU sums in another order. Measured 2e-7 to 6e-7 on lavapipe (64 images). */
const TOLERANCE = 1e-4;

const FASHION_PRE: Preprocessing = { colorMode: 'grayscale', size: [28, 28], scale: 1 / 255, mean: 0.286, std: 0.353, invert: false, mode: 'dataset' };
const FASHION_CNN: ModelSpec = { kind: 'cnn', convChannels: [8, 16], kernelSize: 3, pool: 'max', batchNorm: true, convDropout: 0, denseUnits: [32], dropout: 0.1 };

interface Answer {
  top_k: { label: string; probability: number }[];
}

interface Described {
  engine: string;
  device: string;
  adapter?: { description: string; software: boolean };
}

/** The probabilities of every class for one uploaded image, by class name. */
async function probabilities(url: string, png: Buffer, classes: number): Promise<Map<string, number>> {
  const form = new FormData();
  form.append('file', new Blob([png], { type: 'image/png' }), 'image.png');
  const response = await fetch(`${url}/predict?top_k=${classes}`, { method: 'POST', body: form });
  const body = (await response.json()) as Answer;
  assert.equal(response.status, 200, JSON.stringify(body));
  return new Map(body.top_k.map(({ label, probability }) => [label, probability]));
}

/** Seeded pixels; every other image inverted, so that even an untrained model tells them apart. */
const image = (size: number, channels: number, seed: number): Uint8Array => pixelsOf(size, size, channels, seed).map((value) => (seed % 2 === 0 ? 255 - value : value));

/** The Vulkan loader pointed at a driver file that does not exist: no GPU, as on a machine without one. */
const NO_VULKAN_DRIVER = (dir: string): Record<string, string> => ({ VK_ICD_FILENAMES: join(dir, 'no-driver.json'), VK_DRIVER_FILES: join(dir, 'no-driver.json') });

const maxDifference = (a: Map<string, number>, b: Map<string, number>): number => Math.max(...[...a].map(([label, p]) => Math.abs(p - (b.get(label) ?? Infinity))));

describe('kiln serve --engine gpu (ONNX Runtime WebGPU)', () => {
  let dir = '';
  const models: Record<string, Built> = {};
  const servers: RunningServe[] = [];
  const lines: string[] = [];

  before(async () => {
    await initEngine({ quiet: true });
    dir = await mkdtemp(join(tmpdir(), 'kiln-gpu-serve-'));
    models.fashion = await buildAndSave(join(dir, 'fashion'), 'fashion-mnist', FASHION_CNN, { height: 28, width: 28, channels: 1, classes: 10 }, [...CLASS_NAMES], FASHION_PRE);
    models.rgb = await buildAndSave(join(dir, 'rgb'), 'pets', RGB_CNN, { height: 32, width: 32, channels: 3, classes: 3 }, RGB_CLASSES, RGB_PRE);
  });

  after(async () => {
    for (const server of servers) await server.close();
    for (const built of Object.values(models)) built.model.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  const serve = async (folder: string, engine: 'auto' | 'gpu'): Promise<RunningServe> => {
    const server = await startServe({ modelUri: folder, home: dir, port: 0, engine, log: (line) => lines.push(line), defaultMetrics: false, maxWaitMs: 0 });
    servers.push(server);
    return server;
  };

  for (const [key, shape] of [['fashion', { size: 28, channels: 1, classes: 10 }], ['rgb', { size: 32, channels: 3, classes: 3 }]] as const) {
    test(`the ${key === 'fashion' ? 'Fashion-MNIST-shaped (28x28x1)' : '32x32 RGB'} model answers /predict on the GPU as on the CPU`, async () => {
      const built = models[key]!;
      const [cpu, gpu] = [await serve(built.folder, 'auto'), await serve(built.folder, 'gpu')];
      const answers: Map<string, number>[] = [];
      for (let seed = 1; seed <= 4; seed++) {
        const png = await sharp(image(shape.size, shape.channels, seed), { raw: { width: shape.size, height: shape.size, channels: shape.channels } }).png().toBuffer();
        const onCpu = await probabilities(cpu.url, png, shape.classes);
        const onGpu = await probabilities(gpu.url, png, shape.classes);
        assert.equal(onGpu.size, shape.classes);
        const difference = maxDifference(onGpu, onCpu);
        assert.ok(difference <= TOLERANCE, `image ${seed}: GPU and CPU probabilities differ by ${difference}`);
        answers.push(onCpu);
      }
      // The images get different answers, far apart compared with the tolerance: a GPU answering
      // something else (a constant, another image's) could not pass.
      const apart = Math.max(...answers.slice(1).map((answer) => maxDifference(answer, answers[0]!)));
      assert.ok(apart > 100 * TOLERANCE, `the test images are told apart (by ${apart})`);

      const info = (await (await fetch(`${gpu.url}/info`)).json()) as Described;
      assert.equal(info.engine, 'onnxruntime');
      assert.equal(info.device, 'gpu');
      assert.ok(info.adapter !== undefined && info.adapter.description !== '', 'a WebGPU adapter is found (lavapipe in CI: bash scripts/setup-system.sh)');
      const ready = (await (await fetch(`${gpu.url}/ready`)).json()) as { model: Described };
      assert.deepEqual(ready.model.adapter, info.adapter);
      const cpuInfo = (await (await fetch(`${cpu.url}/info`)).json()) as Described;
      assert.equal(cpuInfo.device, 'cpu');
      assert.equal(cpuInfo.adapter, undefined);
      assert.ok(lines.some((line) => line.includes(`with onnxruntime (WebGPU on `) && line.includes(info.adapter!.description) && line.includes(gpu.url)), lines.join('\n'));
      const metrics = await (await fetch(`${gpu.url}/metrics`)).text();
      assert.match(metrics, /kiln_serve_inference_duration_seconds_count\{engine="onnxruntime",device="gpu"\} [1-9]/);
    });
  }

  test('the GPU predictor really runs in WebGPU: every node of Kiln\'s models is placed there, and without a GPU it cannot load', async () => {
    // Beside the two served CNNs (max pooling, batch norm): an MLP, and a CNN with average pooling.
    const mlp = await buildAndSave(join(dir, 'mlp'), 'mlp', GRAY_MLP, { height: 28, width: 28, channels: 1, classes: 10 }, [...CLASS_NAMES], FASHION_PRE);
    const avg = await buildAndSave(join(dir, 'avg'), 'avg', { ...FASHION_CNN, pool: 'avg', batchNorm: false }, { height: 28, width: 28, channels: 1, classes: 10 }, [...CLASS_NAMES], FASHION_PRE);
    for (const built of [...Object.values(models), mlp, avg]) {
      // ONNX Runtime refuses to create the session if any node would fall back to the CPU.
      const session = await ort.InferenceSession.create(join(built.folder, 'model.onnx'), { executionProviders: ['webgpu'], extra: { session: { disable_cpu_ep_fallback: '1' } } });
      await session.release();
    }
    mlp.model.dispose();
    avg.model.dispose();
    // The predictor, given an adapter but in a process whose Vulkan has no driver, fails: it does not quietly run on the CPU.
    const script = `
      import { OnnxPredictor } from ${JSON.stringify(new URL('./predictor.js', import.meta.url).href)};
      const adapter = { vendor: 'none', architecture: '', device: '', description: 'hidden', software: false };
      OnnxPredictor.create(${JSON.stringify(join(models.rgb!.folder, 'model.onnx'))}, { inputShape: [32, 32, 3], classes: 3, gpu: adapter })
        .then(() => console.log('loaded'), (error) => console.log('failed: ' + error.message));`;
    const output = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...NO_VULKAN_DRIVER(dir) } }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
    });
    assert.match(output, /^failed: .*adapter/m);
  });

  test('without a WebGPU adapter, kiln serve --engine gpu fails at once with KILN_ERR_GPU_UNAVAILABLE and a hint', async () => {
    const run = await runKiln(['serve', '--model-uri', models.rgb!.folder, '--engine', 'gpu', '--port', '0', '--json'], NO_VULKAN_DRIVER(dir));
    assert.equal(run.code, 1, run.stderr);
    const error = (run.json as { error: { code: string; message: string; hint: string } }).error;
    assert.equal(error.code, 'KILN_ERR_GPU_UNAVAILABLE');
    assert.match(error.message, /--engine gpu: no WebGPU adapter found/);
    assert.match(error.hint, /--engine auto/);
    assert.doesNotMatch(run.stdout + run.stderr, /listening/);
  });
});
