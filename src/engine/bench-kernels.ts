/**
 * engine/bench-kernels — micro-benchmark of one training step (batch 128) of
 *   MLP  784-128-128-128-10 (relu, softmax cross-entropy)
 *   CNN  conv32(3x3,relu)-maxpool2-conv64(3x3,relu)-maxpool2-fc128(relu)-10
 * with a custom loop (tf.variableGrads + Adam applyGradients), under the kernel modes
 * 'blas' (the engine), 'js' (engine without BLAS) and 'none' (stock wasm + Conv2DBackpropFilter).
 *
 * Run: npm run build && node dist/src/engine/bench-kernels.js [steps] [mlp|cnn] [blas|js|none...]
 */
import { pathToFileURL } from 'node:url';
import { engineInfo, initEngine, tf } from './index.js';
import { installKernelPack, instrumentKernels, kernelPackStats } from './kernel-pack.js';
import { Random } from '../common/random.js';

export type BenchModel = 'mlp' | 'cnn';
export type BenchMode = 'blas' | 'js' | 'none';

export interface BenchResult {
  model: BenchModel;
  mode: BenchMode;
  msPerStep: number;
  /** Time inside optimizer.applyGradients (Adam), per step. */
  optimizerMsPerStep: number;
  /** Per-kernel ms per step, sorted descending (from an instrumented run). */
  kernels: Array<{ name: string; msPerStep: number; callsPerStep: number }>;
  /** Replaced kernels that fell back to the stock wasm kernel during the run (should be empty). */
  fallbacks: string[];
}

function buildModel(kind: BenchModel): tf.Sequential {
  const m = tf.sequential();
  if (kind === 'mlp') {
    m.add(tf.layers.dense({ inputShape: [784], units: 128, activation: 'relu' }));
    m.add(tf.layers.dense({ units: 128, activation: 'relu' }));
    m.add(tf.layers.dense({ units: 128, activation: 'relu' }));
    m.add(tf.layers.dense({ units: 10 }));
  } else {
    m.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, activation: 'relu' }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    m.add(tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    m.add(tf.layers.flatten());
    m.add(tf.layers.dense({ units: 128, activation: 'relu' }));
    m.add(tf.layers.dense({ units: 10 }));
  }
  return m;
}

async function setMode(mode: BenchMode): Promise<void> {
  if (mode === 'blas') {
    const info = await initEngine({ quiet: true });
    if (!info.blas.enabled) throw new Error(`bench: BLAS unavailable: ${info.blas.reason ?? ''}`);
  } else {
    await initEngine({ blas: 'off', quiet: true });
    if (mode === 'none') installKernelPack('none', null);
  }
}

export async function benchStep(kind: BenchModel, mode: BenchMode, steps = 20, batch = 128): Promise<BenchResult> {
  await setMode(mode);
  const rng = new Random(7);
  const inShape = kind === 'mlp' ? [batch, 784] : [batch, 28, 28, 1];
  const size = inShape.reduce((a, b) => a * b, 1);
  const xs = new Float32Array(size);
  for (let i = 0; i < size; i++) xs[i] = rng.float();
  const labels = new Int32Array(batch);
  for (let i = 0; i < batch; i++) labels[i] = rng.int(10);
  const x = tf.tensor(xs, inShape);
  const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 10);
  const model = buildModel(kind);
  const optimizer = tf.train.adam(1e-3);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  let optMs = 0;
  const step = (): void => {
    const { value, grads } = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
      vars,
    );
    const t0 = performance.now();
    optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
    optMs += performance.now() - t0;
    value.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
  };
  for (let i = 0; i < 3; i++) step(); // warm-up
  optMs = 0;
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  const msPerStep = (performance.now() - t0) / steps;
  const optimizerMsPerStep = optMs / steps;

  const times = new Map<string, { ms: number; calls: number }>();
  const unwrap = instrumentKernels(times);
  const profSteps = Math.max(3, Math.floor(steps / 2));
  try {
    for (let i = 0; i < profSteps; i++) step();
  } finally {
    unwrap();
  }
  const kernels = [...times.entries()]
    .map(([name, e]) => ({ name, msPerStep: e.ms / profSteps, callsPerStep: e.calls / profSteps }))
    .sort((a, b) => b.msPerStep - a.msPerStep);
  tf.dispose([x, y]);
  model.dispose();
  optimizer.dispose();
  const fallbacks = Object.entries(kernelPackStats())
    .filter(([, s]) => s.fallbacks > 0)
    .map(([name, s]) => `${name} ${s.fallbacks}/${s.calls}`);
  return { model: kind, mode, msPerStep, optimizerMsPerStep, kernels, fallbacks };
}

export function formatResult(r: BenchResult, top = 12): string {
  const lines = [
    `${r.model.toUpperCase()} [${r.mode}] ${r.msPerStep.toFixed(2)} ms/step  (${((r.msPerStep * 469) / 1000).toFixed(1)} s per 60k epoch)` +
      `  adam ${r.optimizerMsPerStep.toFixed(2)} ms/step`,
  ];
  const total = r.kernels.reduce((s, k) => s + k.msPerStep, 0);
  if (r.fallbacks.length > 0) lines.push(`  fallbacks to stock kernels: ${r.fallbacks.join(', ')}`);
  lines.push(`  kernels total ${total.toFixed(2)} ms/step (instrumented)`);
  for (const k of r.kernels.slice(0, top)) {
    lines.push(`  ${k.name.padEnd(22)} ${k.msPerStep.toFixed(3).padStart(9)} ms  ${k.callsPerStep.toFixed(0).padStart(4)} calls`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const steps = Number(args.find((a) => /^\d+$/.test(a)) ?? 20);
  const models = (['mlp', 'cnn'] as const).filter((m) => args.includes(m));
  const modes = (['blas', 'js', 'none'] as const).filter((m) => args.includes(m));
  for (const model of models.length > 0 ? models : (['mlp', 'cnn'] as const)) {
    for (const mode of modes.length > 0 ? modes : (['blas', 'js', 'none'] as const)) {
      const r = await benchStep(model, mode, steps);
      const info = engineInfo();
      console.log(`${formatResult(r)}\n  (openblas threads: ${info?.blas.enabled === true ? info.blas.threads : 0})`);
    }
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
