/**
 * models/onnx/test-helpers — untrained but non-trivial model folders for tests of the exporter
 * and the server: seeded weights, and batch-norm statistics moved away from 0/1 so that the
 * inference-form BatchNormalization is really exercised.
 */
import * as tf from '@tensorflow/tfjs';
import { Random } from '../../common/random.js';
import { buildModel, countParameters, FASHION_MNIST_INPUT, type InputSpec } from '../build.js';
import { type KilnModelMetadata, saveModelFolder } from '../saved-model.js';
import { type ModelSpec, specToParams } from '../spec.js';

export const TEST_CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
export const TEST_PREPROCESSING = { colorMode: 'grayscale', size: [28, 28], scale: 1 / 255, mean: 0.286, std: 0.353, invert: false } as const;

export const TEST_MLP: ModelSpec = { kind: 'mlp', hiddenUnits: [64, 32], dropout: 0.2 };
export const TEST_CNN_BN: ModelSpec = {
  kind: 'cnn',
  convChannels: [8, 16],
  kernelSize: 3,
  pool: 'max',
  batchNorm: true,
  convDropout: 0.1,
  denseUnits: [32],
  dropout: 0.25,
};

export function testMetadata(spec: ModelSpec, model: tf.LayersModel, name = 'fashion-mnist'): KilnModelMetadata {
  return {
    format: 'kiln-model',
    formatVersion: 1,
    name,
    framework: 'tfjs-layers',
    inputShape: [28, 28, 1],
    classNames: [...TEST_CLASS_NAMES],
    preprocessing: { ...TEST_PREPROCESSING, size: [28, 28] },
    spec,
    hyperparameters: specToParams(spec),
    metrics: {},
    dataset: { name: 'fashion-mnist', sha256: {} },
    engine: { backend: tf.getBackend() },
    versions: { tfjs: tf.version.tfjs },
    parameters: countParameters(model),
    createdAt: new Date(0).toISOString(),
  };
}

/** Builds a seeded model (28x28x1, 10 classes unless `input` says otherwise); batch-norm layers get random moving statistics and affine parameters. */
export function buildTestModel(spec: ModelSpec, seed = 7, input: InputSpec = FASHION_MNIST_INPUT): tf.LayersModel {
  const model = buildModel(spec, input, new Random(seed));
  const rng = new Random(seed + 1);
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const weights = layer.getWeights();
    const replaced = weights.map((w, i) => {
      const n = w.shape[0] ?? 1;
      const values = Float32Array.from({ length: n }, () => {
        const u = rng.float();
        // gamma, beta, moving mean, moving variance
        return i === 0 ? 0.5 + u : i === 1 ? u - 0.5 : i === 2 ? (u - 0.5) * 0.2 : 0.2 + u * 2;
      });
      return tf.tensor1d(values);
    });
    layer.setWeights(replaced);
    replaced.forEach((t) => t.dispose());
  }
  return model;
}

/** Writes a model folder (tfjs files + kiln-model.json) for `spec` and returns the model. */
export async function writeTestModelFolder(folder: string, spec: ModelSpec, seed = 7, name = 'fashion-mnist'): Promise<tf.LayersModel> {
  const model = buildTestModel(spec, seed);
  await saveModelFolder(model, testMetadata(spec, model, name), folder);
  return model;
}

/** `n` synthetic images of `size` values (default 28x28), normalized like the model's inputs: ((pixel / 255) - mean) / std. */
export function syntheticInputs(n: number, seed = 11, size = 784): Float32Array {
  const rng = new Random(seed);
  const out = new Float32Array(n * size);
  for (let i = 0; i < out.length; i++) {
    // Mostly dark background with bright strokes, like Fashion-MNIST.
    const pixel = rng.float() < 0.5 ? 0 : Math.floor(rng.float() * 256);
    out[i] = (pixel / 255 - TEST_PREPROCESSING.mean) / TEST_PREPROCESSING.std;
  }
  return out;
}
