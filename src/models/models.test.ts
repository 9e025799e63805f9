import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { InvalidHyperparameterError } from '../common/errors.js';
import { Random } from '../common/random.js';
import { initEngine } from '../engine/index.js';
import { buildModel, countParameters, FASHION_MNIST_INPUT, LOGITS_LAYER, PROBABILITIES_LAYER } from './build.js';
import { type KilnModelMetadata, loadModelFolder, METADATA_FILE, saveModelFolder } from './saved-model.js';
import { DEFAULT_CNN, DEFAULT_MLP, type ModelSpec, specToParams, validateSpec } from './spec.js';

function metadataFor(spec: ModelSpec, model: tf.LayersModel): KilnModelMetadata {
  return {
    format: 'kiln-model',
    formatVersion: 1,
    name: 'fashion-mnist',
    framework: 'tfjs-layers',
    inputShape: [28, 28, 1],
    classNames: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'],
    preprocessing: { colorMode: 'grayscale', size: [28, 28], scale: 1 / 255, mean: 0.286, std: 0.353, invert: false },
    spec,
    hyperparameters: specToParams(spec),
    metrics: { test_acc: 0.5 },
    dataset: { name: 'fashion-mnist', sha256: {} },
    engine: { backend: 'wasm' },
    versions: { tfjs: tf.version.tfjs },
    parameters: countParameters(model),
    createdAt: new Date(0).toISOString(),
  };
}

describe('model builders', () => {
  before(async () => {
    await initEngine({ quiet: true });
  });

  test('the seed MLP: flatten, 3x(dense 128 + dropout), logits, softmax', () => {
    const model = buildModel(DEFAULT_MLP, FASHION_MNIST_INPUT, new Random(1));
    assert.deepEqual(
      model.layers.map((l) => l.getClassName()),
      ['Flatten', 'Dense', 'Dropout', 'Dense', 'Dropout', 'Dense', 'Dropout', 'Dense', 'Activation'],
    );
    assert.equal(model.layers[model.layers.length - 2].name, LOGITS_LAYER);
    assert.equal(model.layers[model.layers.length - 1].name, PROBABILITIES_LAYER);
    assert.equal(countParameters(model), 784 * 128 + 128 + 2 * (128 * 128 + 128) + 128 * 10 + 10);
    const probabilities = model.predict(tf.randomNormal([3, 28, 28, 1])) as tf.Tensor;
    assert.deepEqual(probabilities.shape, [3, 10]);
    for (const row of probabilities.arraySync() as number[][]) assert.ok(Math.abs(row.reduce((a, b) => a + b) - 1) < 1e-5);
    model.dispose();
  });

  test('the CNN family: conv blocks with optional batch norm, pooling, dense head', () => {
    const model = buildModel({ ...DEFAULT_CNN, batchNorm: true, convDropout: 0.1 }, FASHION_MNIST_INPUT, new Random(1));
    const names = model.layers.map((l) => l.getClassName());
    assert.deepEqual(names.slice(0, 5), ['Conv2D', 'BatchNormalization', 'Activation', 'MaxPooling2D', 'Dropout']);
    assert.deepEqual(model.outputs[0].shape, [null, 10]);
    model.dispose();
  });

  test('initialisation is seeded: the same seed gives the same weights', () => {
    const weights = (seed: number) => {
      const model = buildModel(DEFAULT_MLP, FASHION_MNIST_INPUT, new Random(seed));
      const values = Array.from(model.getWeights()[0].dataSync());
      model.dispose();
      return values;
    };
    assert.deepEqual(weights(9), weights(9));
    assert.notDeepEqual(weights(9), weights(10));
  });

  test('invalid hyperparameters name the field and the allowed range', () => {
    const cases: [ModelSpec, RegExp][] = [
      [{ kind: 'mlp', hiddenUnits: [], dropout: 0.2 }, /invalid layers: expected 1 to 8/],
      [{ kind: 'mlp', hiddenUnits: [128, 0], dropout: 0.2 }, /invalid layers\[1\]: expected an integer in \[1, 4096\], got 0/],
      [{ kind: 'mlp', hiddenUnits: [64], dropout: 1.5 }, /invalid dropout: expected a number in \[0, 0.9\], got 1.5/],
      [{ ...DEFAULT_CNN, kernelSize: 4 }, /invalid kernel: expected an odd size, got 4/],
      [{ ...DEFAULT_CNN, convChannels: [32, 64, 64, 64, 64] }, /invalid conv: expected 1 to 4/],
    ];
    for (const [spec, message] of cases) {
      assert.throws(() => validateSpec(spec), (error: unknown) => error instanceof InvalidHyperparameterError && message.test(error.message));
    }
  });
});

describe('model folder', () => {
  test('save then load gives a model with identical predictions and the metadata', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-model-'));
    try {
      const model = buildModel({ ...DEFAULT_CNN, convChannels: [4], denseUnits: [8], batchNorm: true }, FASHION_MNIST_INPUT, new Random(3));
      const folder = join(dir, 'm');
      const metadata = metadataFor(DEFAULT_CNN, model);
      await saveModelFolder(model, metadata, folder);
      const loaded = await loadModelFolder(folder);
      const input = tf.randomNormal([4, 28, 28, 1], 0, 1, 'float32', 5);
      const before = (model.predict(input) as tf.Tensor).dataSync();
      const after = (loaded.model.predict(input) as tf.Tensor).dataSync();
      assert.deepEqual(Array.from(after), Array.from(before));
      assert.deepEqual(loaded.metadata, metadata);
      const onDisk = JSON.parse(await readFile(join(folder, METADATA_FILE), 'utf8')) as KilnModelMetadata;
      assert.equal(onDisk.format, 'kiln-model');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('loading a folder without kiln-model.json is a coded error naming the folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-model-'));
    try {
      await assert.rejects(loadModelFolder(dir), (error: Error & { code?: string }) => error.code === 'KILN_ERR_MODEL_NOT_FOUND' && error.message.includes(dir));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
