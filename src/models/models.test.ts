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
import { DEFAULT_CNN, DEFAULT_MLP, type InputSpec, maxConvBlocks, maxPoolingBlocks, type ModelSpec, specToParams, validateSpec } from './spec.js';

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
      [{ ...DEFAULT_CNN, pool: 'median' as 'max' }, /invalid pool: expected one of max, avg, none, got "median"/],
      [{ ...DEFAULT_CNN, convDropout: Number.NaN }, /invalid conv-dropout: expected a number in \[0, 0.9\], got NaN/],
      [{ kind: 'rnn' } as unknown as ModelSpec, /invalid model: expected one of mlp, cnn, got "rnn"/],
    ];
    for (const [spec, message] of cases) {
      assert.throws(() => validateSpec(spec), (error: unknown) => error instanceof InvalidHyperparameterError && message.test(error.message));
    }
  });
});

describe('model builders on any input shape', () => {
  before(async () => {
    await initEngine({ quiet: true });
  });

  const shapes: InputSpec[] = [
    { height: 32, width: 32, channels: 3, classes: 3 },
    { height: 24, width: 40, channels: 3, classes: 7 },
    { height: 17, width: 17, channels: 1, classes: 2 },
    { height: 64, width: 48, channels: 3, classes: 12 },
  ];
  for (const input of shapes) {
    const { height, width, channels, classes } = input;
    test(`MLP and CNN on ${height}x${width}x${channels} with ${classes} classes: one probability per class`, () => {
      const cnn: ModelSpec = { ...DEFAULT_CNN, convChannels: [4, 8, 8], denseUnits: [16], batchNorm: true };
      for (const spec of [DEFAULT_MLP, cnn]) {
        const model = buildModel(spec, input, new Random(2));
        assert.deepEqual(model.inputs[0].shape, [null, height, width, channels]);
        const probabilities = model.predict(tf.randomNormal([2, height, width, channels], 0, 1, 'float32', 3)) as tf.Tensor;
        assert.deepEqual(probabilities.shape, [2, classes]);
        for (const row of probabilities.arraySync() as number[][]) assert.ok(Math.abs(row.reduce((a, b) => a + b) - 1) < 1e-5);
        probabilities.dispose();
        model.dispose();
      }
    });
  }

  test('every pooling block halves the spatial size (rounding down): 24x40 → 12x20 → 6x10 → 3x5', () => {
    const model = buildModel({ ...DEFAULT_CNN, convChannels: [2, 2, 2], denseUnits: [] }, { height: 24, width: 40, channels: 3, classes: 3 }, new Random(1));
    const pools = model.layers.filter((l) => l.getClassName() === 'MaxPooling2D').map((l) => (l.outputShape as number[]).slice(1, 3));
    assert.deepEqual(pools, [
      [12, 20],
      [6, 10],
      [3, 5],
    ]);
    model.dispose();
  });

  test('how many pooling blocks an input allows: the last one must leave at least 1x1', () => {
    assert.equal(maxPoolingBlocks(28, 28), 4);
    assert.equal(maxPoolingBlocks(32, 32), 5);
    assert.equal(maxPoolingBlocks(17, 17), 4);
    assert.equal(maxPoolingBlocks(8, 64), 3);
    assert.equal(maxPoolingBlocks(3, 3), 1);
    assert.equal(maxPoolingBlocks(1, 40), 0);
    assert.equal(maxConvBlocks({ height: 64, width: 64 }), 4, 'never above the CNN limit');
    assert.equal(maxConvBlocks({ height: 5, width: 9 }), 2);
  });

  test('a CNN whose blocks would pool below 1x1 is refused, naming the field and the largest allowed count', () => {
    const tiny: InputSpec = { height: 6, width: 10, channels: 3, classes: 3 };
    const refused = (spec: ModelSpec, input: InputSpec, message: RegExp): void => {
      assert.throws(
        () => buildModel(spec, input, new Random(1)),
        (error: unknown) => error instanceof InvalidHyperparameterError && error.field === 'conv' && message.test(error.message),
      );
    };
    refused({ ...DEFAULT_CNN, convChannels: [8, 8, 8] }, tiny, /invalid conv: 3 conv blocks with max pooling would pool a 6x10 input below 1x1.*at most 2 \(e\.g\. --conv 8,8\)/);
    refused({ ...DEFAULT_CNN, pool: 'avg', convChannels: [8, 8] }, { ...tiny, height: 3 }, /2 conv blocks with avg pooling would pool a 3x10 input below 1x1.*at most 1/);
    refused({ ...DEFAULT_CNN, convChannels: [8] }, { ...tiny, height: 1 }, /use --pool none/);
    // Without pooling nothing shrinks; at the limit the model builds.
    buildModel({ ...DEFAULT_CNN, pool: 'none', convChannels: [2, 2, 2, 2], denseUnits: [] }, tiny, new Random(1)).dispose();
    buildModel({ ...DEFAULT_CNN, convChannels: [2, 2] }, tiny, new Random(1)).dispose();
  });

  test('fewer than two classes, or a non-positive input size, is refused', () => {
    const check = (input: InputSpec, field: string): void => {
      assert.throws(() => buildModel(DEFAULT_MLP, input, new Random(1)), (error: unknown) => error instanceof InvalidHyperparameterError && error.field === field);
    };
    check({ height: 8, width: 8, channels: 3, classes: 1 }, 'classes');
    check({ height: 0, width: 8, channels: 3, classes: 3 }, 'input');
    check({ height: 8, width: 8, channels: 2.5, classes: 3 }, 'input');
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
