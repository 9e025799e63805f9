/**
 * bench/train — `npm run bench:train`: one 60,000-sample training epoch (batch 128, data in
 * memory, Adam) of the seed MLP (3x128, dropout 0.2) and of the reference CNN
 * (conv32-conv64-fc128), with Kiln and, in the same run, with PyTorch (bench/torch/train_epoch.py
 * on Debian's python3-torch, one and two threads). Prints Kiln/PyTorch ratios against the
 * fastest PyTorch setting; the last stdout line is one JSON object of all figures.
 *
 * Options: --models mlp,cnn  --threads 1,2  --skip-torch  (env BENCH_MODELS / BENCH_THREADS too)
 * Targets (issue 2): MLP ratio <= 1.0, CNN ratio <= 1.5.
 *
 * GPU rows (issue 13): when a hardware WebGPU adapter is present, the same epochs on tfjs webgpu at
 * batch 128 and at GPU_BIG_BATCH, next to the CPU rows of the same run; without one a clear line
 * says why they are skipped. `--gpu-software` times them on a software adapter (lavapipe) too,
 * which only checks the path: its figures are no GPU measurement.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Random } from '../src/common/random.js';
import { loadFashionMnist, type ImageSet } from '../src/data/index.js';
import { adapterLabel, type DeviceChoice, initEngine, type EngineInfo } from '../src/engine/index.js';
import { buildModel, DEFAULT_CNN, DEFAULT_MLP, FASHION_MNIST_INPUT, type ModelSpec } from '../src/models/index.js';
import { Trainer } from '../src/train/index.js';

const SPECS: Record<string, ModelSpec> = {
  mlp: DEFAULT_MLP,
  cnn: { ...DEFAULT_CNN, dropout: 0.2 },
};
const TARGETS: Record<string, number> = { mlp: 1.0, cnn: 1.5 };
const BATCH = 128;
/** A batch that keeps a GPU busy on these small models (each step launches ~30 kernels). */
const GPU_BIG_BATCH = 1024;

interface Timing {
  model: string;
  threads: number;
  device?: 'gpu';
  batch_size?: number;
  seconds: number;
  samples_per_second: number;
  loss: number;
}

function argList(flag: string, env: string | undefined, fallback: string): string[] {
  const index = process.argv.indexOf(flag);
  const text = index >= 0 ? process.argv[index + 1] : (env ?? fallback);
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}

function subset(set: ImageSet, count: number): ImageSet {
  const size = set.height * set.width;
  return { ...set, images: set.images.subarray(0, count * size), labels: set.labels.subarray(0, count), count };
}

async function timeKiln(
  name: string,
  threads: number,
  train: ImageSet,
  tiny: ImageSet,
  device: DeviceChoice = 'cpu',
  batch = BATCH,
): Promise<{ timing: Timing; engine: EngineInfo }> {
  const engine = await initEngine({ threads, device });
  const spec = SPECS[name];
  // Warm-up (kernel compilation, buffer growth) on a few batches, not timed.
  const warm = buildModel(spec, FASHION_MNIST_INPUT, new Random(1));
  await new Trainer({ maxEpochs: 1, batchSize: batch, lrSchedule: 'constant' }).fit(warm, subset(train, batch * 5), tiny);
  warm.dispose();
  const model = buildModel(spec, FASHION_MNIST_INPUT, new Random(42));
  const trainer = new Trainer({ maxEpochs: 1, batchSize: batch, seed: 42, lrSchedule: 'constant' });
  const fit = await trainer.fit(model, train, tiny);
  model.dispose();
  // samples_per_second covers the training pass only (shuffle, batches, steps), not validation.
  const epoch = fit.history[0];
  const seconds = train.count / epoch.samples_per_second;
  const gpu = engine.device === 'gpu' ? { device: 'gpu' as const, batch_size: batch } : {};
  return { timing: { model: name, threads, ...gpu, seconds, samples_per_second: epoch.samples_per_second, loss: epoch.train_loss }, engine };
}

function timeTorch(models: string[], threads: number[]): { timings: Timing[]; version: string | null; error: string | null } {
  const script = fileURLToPath(new URL('../../bench/torch/train_epoch.py', import.meta.url));
  const python = '/usr/bin/python3';
  if (!existsSync(python)) return { timings: [], version: null, error: `${python} not found: run bash scripts/setup-bench.sh` };
  const result = spawnSync(python, [script, '--models', models.join(','), '--threads', threads.join(',')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 16 * 1024 * 1024,
  });
  const lines = (result.stdout ?? '').trim().split('\n');
  if (result.status !== 0) return { timings: [], version: null, error: `PyTorch reference failed (exit ${String(result.status)}): run bash scripts/setup-bench.sh` };
  const summary = JSON.parse(lines[lines.length - 1]) as { torch_version: string; results: Timing[] };
  return {
    timings: summary.results.map(({ model, threads: t, seconds, samples_per_second, loss }) => ({ model, threads: t, seconds, samples_per_second, loss })),
    version: summary.torch_version,
    error: null,
  };
}

const round = (value: number, digits = 3): number => Number(value.toFixed(digits));

/** The GPU rows, run last (the engine stays on webgpu afterwards); skipped with a reason without a hardware adapter. */
async function timeGpu(models: string[], train: ImageSet, tiny: ImageSet): Promise<{ timings: Timing[]; adapter: string | null; skipped: string | null }> {
  const device: DeviceChoice = process.argv.includes('--gpu-software') ? 'gpu' : 'auto';
  let engine: EngineInfo | null = null;
  let failure = 'none found';
  try {
    engine = await initEngine({ device, quiet: true });
  } catch (error) {
    failure = error instanceof Error ? error.message : String(error);
  }
  if (engine === null || engine.device !== 'gpu' || engine.adapter === null) {
    const skipped = `no hardware GPU adapter (${engine?.deviceReason ?? failure}); GPU rows not measured`;
    console.error(`gpu: skipped: ${skipped}`);
    return { timings: [], adapter: null, skipped };
  }
  const adapter = adapterLabel(engine.adapter);
  console.error(`gpu: ${adapter}${engine.adapter.software ? ' (software: these figures check the path, they measure no GPU)' : ''}`);
  const timings: Timing[] = [];
  for (const name of models) {
    for (const batch of [BATCH, GPU_BIG_BATCH]) {
      const { timing } = await timeKiln(name, 0, train, tiny, device, batch);
      timings.push(timing);
      console.error(`kiln  ${name} gpu batch=${batch}: ${timing.seconds.toFixed(2)} s/epoch (${Math.round(timing.samples_per_second)} samples/s, loss ${timing.loss.toFixed(4)})`);
    }
  }
  return { timings, adapter, skipped: null };
}

async function main(): Promise<void> {
  const models = argList('--models', process.env.BENCH_MODELS, 'mlp,cnn');
  const threads = argList('--threads', process.env.BENCH_THREADS, '1,2').map(Number);
  const skipTorch = process.argv.includes('--skip-torch');
  const data = await loadFashionMnist({ log: (message) => console.error(message) });
  const tiny = subset(data.test, 256);

  const kiln: Timing[] = [];
  let engine: EngineInfo | null = null;
  for (const name of models) {
    for (const t of threads) {
      const result = await timeKiln(name, t, data.train, tiny);
      engine = result.engine;
      kiln.push(result.timing);
      console.error(`kiln  ${name} threads=${t}: ${result.timing.seconds.toFixed(2)} s/epoch (${Math.round(result.timing.samples_per_second)} samples/s, loss ${result.timing.loss.toFixed(4)})`);
    }
  }
  const gpu = await timeGpu(models, data.train, tiny);
  const torch = skipTorch ? { timings: [], version: null, error: 'skipped (--skip-torch)' } : timeTorch(models, threads);
  for (const timing of torch.timings) {
    console.error(`torch ${timing.model} threads=${timing.threads}: ${timing.seconds.toFixed(2)} s/epoch (${Math.round(timing.samples_per_second)} samples/s)`);
  }

  const comparisons = models.map((name) => {
    const best = (timings: Timing[]): Timing | undefined =>
      timings.filter((t) => t.model === name).sort((a, b) => a.seconds - b.seconds)[0];
    const ours = best(kiln);
    const theirs = best(torch.timings);
    const ratio = ours && theirs ? ours.seconds / theirs.seconds : null;
    return {
      model: name,
      kiln_seconds: ours ? round(ours.seconds) : null,
      kiln_threads: ours?.threads ?? null,
      torch_seconds: theirs ? round(theirs.seconds) : null,
      torch_threads: theirs?.threads ?? null,
      ratio: ratio === null ? null : round(ratio),
      target: TARGETS[name],
      meets_target: ratio === null ? null : ratio <= TARGETS[name],
    };
  });
  for (const c of comparisons) {
    console.error(
      c.ratio === null
        ? `${c.model}: no PyTorch baseline (${torch.error ?? 'missing'}); ratio not computed`
        : `${c.model}: Kiln ${c.kiln_seconds}s vs PyTorch ${c.torch_seconds}s → ratio ${c.ratio} (target ≤ ${c.target}: ${c.meets_target ? 'met' : 'NOT met'})`,
    );
  }
  console.log(
    JSON.stringify({
      bench: 'train',
      samples: data.train.count,
      batch_size: BATCH,
      engine: engine ? { backend: engine.backend, blas: engine.blas.enabled, kernels: engine.kernels.length } : null,
      torch_version: torch.version,
      torch_error: torch.error,
      kiln: kiln.map((t) => ({ ...t, seconds: round(t.seconds), samples_per_second: Math.round(t.samples_per_second), loss: round(t.loss, 4) })),
      gpu: { adapter: gpu.adapter, skipped: gpu.skipped, kiln: gpu.timings.map((t) => ({ ...t, seconds: round(t.seconds), samples_per_second: Math.round(t.samples_per_second), loss: round(t.loss, 4) })) },
      torch: torch.timings.map((t) => ({ ...t, seconds: round(t.seconds), samples_per_second: Math.round(t.samples_per_second) })),
      comparisons,
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
