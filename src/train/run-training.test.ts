/**
 * runTraining on data of any shape: a small RGB dataset built in memory (three colour classes,
 * 16x16x3) trains, and its model folder describes it; and Fashion-MNIST through
 * fashionMnistDataset gives exactly the figures it gave before training took a LabelledDataset.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Random } from '../common/random.js';
import {
  DEBIAN_DATA_DIR,
  FASHION_MNIST_FILES,
  fashionMnistDataset,
  type ImageSet,
  type LabelledDataset,
  labelHistogram,
  loadFashionMnist,
  normalizePixels,
} from '../data/index.js';
import { initEngine } from '../engine/index.js';
import { type ModelSpec, readModelMetadata } from '../models/index.js';
import { hasOnnx } from '../models/onnx/index.js';
import { DEFAULT_TRAINING, type TrainingConfig } from './config.js';
import { runTraining, type TrainingOutcome } from './run-training.js';

const COLOURS = ['red', 'green', 'blue'];
const SIZE = 16;
const NORMALIZATION = { mean: 0.3, std: 0.3 };

/**
 * `count` 16x16 RGB images: dark noise with a square patch (random place and size) of the
 * class's colour at a random brightness, other channels dim. Normalized as a source would.
 */
function colourSet(count: number, seed: number): ImageSet {
  const rng = new Random(seed);
  const bytes = new Uint8Array(count * SIZE * SIZE * 3);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const label = rng.int(3);
    labels[i] = label;
    const base = i * SIZE * SIZE * 3;
    for (let p = 0; p < SIZE * SIZE * 3; p++) bytes[base + p] = rng.int(60);
    const side = 5 + rng.int(5);
    const top = rng.int(SIZE - side + 1);
    const left = rng.int(SIZE - side + 1);
    const bright = 150 + rng.int(106);
    for (let r = top; r < top + side; r++) {
      for (let c = left; c < left + side; c++) {
        for (let ch = 0; ch < 3; ch++) bytes[base + (r * SIZE + c) * 3 + ch] = ch === label ? bright : 40 + rng.int(60);
      }
    }
  }
  return { images: normalizePixels(bytes, undefined, NORMALIZATION.mean, NORMALIZATION.std), labels, count, height: SIZE, width: SIZE, channels: 3 };
}

function colourDataset(): LabelledDataset {
  const train = colourSet(360, 1);
  const validation = colourSet(90, 2);
  const test = colourSet(90, 3);
  const classNames = [...COLOURS];
  return {
    identity: {
      name: 'colours',
      digest: 'c0'.repeat(32),
      source: '/data/colours',
      sourceType: 'folder',
      schema: { height: SIZE, width: SIZE, channels: 3, color: 'rgb', classNames },
      counts: { train: labelHistogram(train.labels, 3), validation: labelHistogram(validation.labels, 3), test: labelHistogram(test.labels, 3) },
    },
    train,
    validation,
    test,
    classNames,
    normalization: NORMALIZATION,
    sha256: {},
    sources: { root: '/data/colours' },
  };
}

/** What must repeat exactly: every metric but the timings. */
function figures(outcome: TrainingOutcome): unknown {
  const history = outcome.history.map(({ epoch_seconds: _s, samples_per_second: _r, ...rest }) => rest);
  return { test_acc: outcome.test_acc, test_loss: outcome.test_loss, val_acc: outcome.val_acc, val_loss: outcome.val_loss, history };
}

describe('runTraining on an RGB dataset', () => {
  let home = '';
  const data = colourDataset();
  const config = (spec: ModelSpec, name: string, extra: Partial<TrainingConfig> = {}): TrainingConfig => ({
    ...DEFAULT_TRAINING,
    spec,
    epochs: 4,
    batchSize: 32,
    patience: null,
    home,
    outDir: join(home, name),
    ...extra,
  });
  before(async () => {
    await initEngine({ quiet: true });
    home = await mkdtemp(join(tmpdir(), 'kiln-run-training-'));
  });
  after(async () => {
    await rm(home, { recursive: true, force: true });
  });

  test("trains (loss falls, validation accuracy high) and kiln-model.json carries the data's shape, colour, classes and identity", async () => {
    const outcome = await runTraining(config({ kind: 'mlp', hiddenUnits: [32], dropout: 0.1 }, 'mlp'), { data, progress: null });
    const losses = outcome.history.map((m) => m.train_loss);
    assert.ok(losses[losses.length - 1]! < losses[0]! * 0.5, `train_loss ${losses.join(' → ')}`);
    assert.ok(outcome.val_acc >= 0.9, `val_acc ${outcome.val_acc}`);
    assert.ok((outcome.test_acc ?? 0) >= 0.9, `test_acc ${outcome.test_acc}`);
    const metadata = await readModelMetadata(outcome.model_path);
    assert.equal(metadata.name, 'colours');
    assert.deepEqual(metadata.inputShape, [16, 16, 3]);
    assert.deepEqual(metadata.classNames, COLOURS);
    assert.deepEqual(metadata.preprocessing, { colorMode: 'rgb', size: [16, 16], scale: 1 / 255, mean: 0.3, std: 0.3, invert: false, mode: 'dataset' });
    assert.deepEqual(metadata.dataset, {
      name: 'colours',
      sha256: {},
      digest: data.identity.digest,
      source: '/data/colours',
      sourceType: 'folder',
      schema: data.identity.schema,
      counts: data.identity.counts,
    });
    assert.equal(metadata.metrics.val_acc, outcome.val_acc);
    assert.equal(await hasOnnx(outcome.model_path), true, 'the RGB model exports to ONNX');
  });

  test('the same data and seed give the same metrics (a CNN with flips and rotations); another seed does not', async () => {
    const cnn: ModelSpec = { kind: 'cnn', convChannels: [8, 16], kernelSize: 3, pool: 'max', batchNorm: false, convDropout: 0, denseUnits: [16], dropout: 0.2 };
    const augmentation = { rotationDegrees: 20, flipProbability: 0.5 };
    const run = (seed: number, name: string): Promise<TrainingOutcome> => runTraining(config(cnn, name, { epochs: 2, seed, augmentation }), { data, progress: null });
    const first = await run(7, 'cnn-a');
    const second = await run(7, 'cnn-b');
    const other = await run(8, 'cnn-c');
    assert.deepEqual(figures(second), figures(first));
    assert.notDeepEqual(figures(other), figures(first));
    assert.ok(first.val_acc > 0.6, `val_acc ${first.val_acc}`);
  });

  test('a CNN with more pooling blocks than the images allow is refused before training, naming conv and the largest count', async () => {
    const small = (count: number): ImageSet => ({ images: new Float32Array(count * 4 * 4 * 3), labels: Uint8Array.from({ length: count }, (_, i) => i % 3), count, height: 4, width: 4, channels: 3 });
    const tiny: LabelledDataset = { ...data, train: small(30), validation: small(6), test: small(6) };
    const spec: ModelSpec = { kind: 'cnn', convChannels: [4, 4, 4], kernelSize: 3, pool: 'max', batchNorm: false, convDropout: 0, denseUnits: [], dropout: 0 };
    const epochs: number[] = [];
    await assert.rejects(
      runTraining(config(spec, 'too-deep'), { data: tiny, progress: null, callbacks: [{ onEpochEnd: (_c, m) => void epochs.push(m.epoch) }] }),
      (error: Error & { code?: string; field?: string }) =>
        error.code === 'KILN_ERR_INVALID_HYPERPARAMETER' && error.field === 'conv' && /would pool a 4x4 input below 1x1.*at most 2/.test(error.message),
    );
    assert.deepEqual(epochs, []);
    assert.equal(existsSync(join(home, 'too-deep')), false);
  });
});

// dist/src/train/run-training.test.js → repository root is three levels up.
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const fashionDir = [DEBIAN_DATA_DIR, resolve(repoRoot, '..', 'shared', 'data', 'fashion-mnist')].find((dir) =>
  FASHION_MNIST_FILES.every((file) => existsSync(join(dir, `${file}.gz`)) || existsSync(join(dir, file))),
);

/**
 * 1 epoch on the first 1,500 images of the seed-42 55,000/5,000 split, tested on the 10,000 test
 * images (x86-64). The 'blas' figures (OpenBLAS pthread with 1 thread) were recorded by the same
 * runs on main at 21247b6, before runTraining took a LabelledDataset, and must not move.
 * The 'wasm' figures (the stock wasm kernels, blas 'off') were re-recorded on branch blas-off-adam
 * when the engine made in-place writes visible to those kernels: they pack a layer's weights and
 * bias by tensor id, and until then kept using the first step's values (MLP test_acc 0.2928, CNN
 * 0.168). Now they learn as the BLAS path does: the same accuracies, losses equal to ~1e-8 (the
 * kernels sum in another order).
 */
const FASHION_FIGURES = {
  blas: {
    mlp: { test_acc: 0.5218, test_loss: 1.573423407322706, val_acc: 0.5252, val_loss: 1.5593383612388645, train_loss: 1.9978805020650228, train_acc: 0.30733333333333335 },
    cnn: { test_acc: 0.4253, test_loss: 2.0499484362578992, val_acc: 0.426, val_loss: 2.053232194324839, train_loss: 2.184817075093587, train_acc: 0.22466666666666665 },
  },
  wasm: {
    mlp: { test_acc: 0.5218, test_loss: 1.573423400733382, val_acc: 0.5252, val_loss: 1.5593383508325163, train_loss: 1.9978805020650228, train_acc: 0.30733333333333335 },
    cnn: { test_acc: 0.4253, test_loss: 2.049948440615826, val_acc: 0.426, val_loss: 2.0532322019835525, train_loss: 2.1848170547485353, train_acc: 0.22466666666666665 },
  },
};

describe('runTraining on Fashion-MNIST through fashionMnistDataset', () => {
  const cases: [keyof (typeof FASHION_FIGURES)['blas'], ModelSpec, TrainingConfig['augmentation']][] = [
    ['mlp', { kind: 'mlp', hiddenUnits: [64, 32], dropout: 0.2 }, null],
    ['cnn', { kind: 'cnn', convChannels: [8, 16], kernelSize: 3, pool: 'max', batchNorm: false, convDropout: 0, denseUnits: [32], dropout: 0.25 }, { rotationDegrees: 15, flipProbability: 0.5 }],
  ];
  for (const blas of ['auto', 'off'] as const) {
    test(`gives the figures it gave before (MLP; CNN with flips and rotations; blas ${blas})`, async (t) => {
      if (fashionDir === undefined) return t.skip('no Fashion-MNIST files on this machine');
      const engine = await initEngine({ quiet: true, blas, threads: 1 });
      if (blas === 'auto' && !engine.blas.enabled) return t.skip('OpenBLAS not available');
      const data = fashionMnistDataset(await loadFashionMnist({ dataDir: fashionDir, debianDir: null, env: {}, download: false }));
      const home = await mkdtemp(join(tmpdir(), 'kiln-run-training-fm-'));
      try {
        for (const [kind, spec, augmentation] of cases) {
          const config: TrainingConfig = { ...DEFAULT_TRAINING, spec, augmentation, epochs: 1, trainLimit: 1500, home, outDir: join(home, kind) };
          const o = await runTraining(config, { data, progress: null });
          const got = { test_acc: o.test_acc, test_loss: o.test_loss, val_acc: o.val_acc, val_loss: o.val_loss, train_loss: o.history[0]!.train_loss, train_acc: o.history[0]!.train_acc };
          assert.deepEqual(got, FASHION_FIGURES[blas === 'auto' ? 'blas' : 'wasm'][kind], kind);
          const metadata = await readModelMetadata(o.model_path);
          assert.equal(metadata.name, 'fashion-mnist');
          assert.deepEqual(metadata.preprocessing, { colorMode: 'grayscale', size: [28, 28], scale: 1 / 255, mean: 0.286, std: 0.353, invert: false, mode: 'auto' });
          assert.deepEqual([metadata.dataset.name, metadata.dataset.sha256, metadata.dataset.sourceType], ['fashion-mnist', data.sha256, 'builtin']);
        }
      } finally {
        await rm(home, { recursive: true, force: true });
      }
    });
  }
});
