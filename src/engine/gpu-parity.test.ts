/**
 * The GPU path computes what the CPU computes: every kernel Kiln's models train with, forward and
 * gradients, on tfjs's 'webgpu' backend (Dawn) against the reference 'cpu' backend; then the
 * pieces Kiln adds on the GPU (the on-device loss and Adam) against their CPU versions.
 *
 * CI runs this on Mesa's lavapipe (software Vulkan, `scripts/setup-system.sh` installs it), so
 * `--device gpu` is used, which accepts a software adapter. With no adapter at all the suite
 * fails and says why: a GPU check that silently skips would prove nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { Random } from '../common/random.js';
import { buildModel, FASHION_MNIST_INPUT, type ModelSpec } from '../models/index.js';
import { crossEntropyOnDevice, crossEntropyOp, softmaxCrossEntropy } from '../train/loss.js';
import { forwardToLogits } from '../train/trainer.js';
import { FusedAdam } from '../train/optimizer.js';
import { type EngineInfo, initEngine } from './index.js';
import { maxRelError, randomValues } from './test-util.js';

/**
 * float32 on both sides, but the GPU sums in another order (tiled matmul, workgroup reductions):
 * measured ~1e-7 on lavapipe; 1e-5 leaves room for hardware adapters and stays far below any
 * real bug (a wrong index or a missing term is O(1e-1)).
 */
const TOLERANCE = 1e-5;

interface Input {
  shape: number[];
  values: Float32Array;
}

const rng = new Random(2026);
const input = (...shape: number[]): Input => ({ shape, values: randomValues(rng, shape.reduce((a, b) => a * b, 1)) });

/** Runs `fn` on `backend` with fresh tensors; returns every output read back asynchronously. */
async function runOn(backend: 'cpu' | 'webgpu', inputs: Input[], fn: (...xs: tf.Tensor[]) => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const tensors = inputs.map((x) => tf.tensor(x.values, x.shape));
  const outputs = fn(...tensors);
  const values = await Promise.all(outputs.map(async (o) => Float32Array.from(await o.data())));
  tf.dispose([...outputs, ...tensors]);
  return values;
}

/** `fn`'s outputs, then the gradients of (sum of output 0 weighted by a fixed random tensor) w.r.t. every input. */
function withGradients(fn: (...xs: tf.Tensor[]) => tf.Tensor, weights: Input): (...xs: tf.Tensor[]) => tf.Tensor[] {
  return (...xs) => {
    const y = fn(...xs);
    const loss = (...args: tf.Tensor[]) => tf.sum(tf.mul(fn(...args), tf.tensor(weights.values, weights.shape)));
    return [y, ...tf.grads(loss)(xs)];
  };
}

async function worstError(inputs: Input[], fn: (...xs: tf.Tensor[]) => tf.Tensor[]): Promise<number> {
  const expected = await runOn('cpu', inputs, fn);
  const actual = await runOn('webgpu', inputs, fn);
  assert.equal(actual.length, expected.length);
  return Math.max(...actual.map((values, i) => maxRelError(values, expected[i])));
}

async function assertParity(inputs: Input[], outputShape: number[], fn: (...xs: tf.Tensor[]) => tf.Tensor): Promise<void> {
  const error = await worstError(inputs, withGradients(fn, input(...outputShape)));
  assert.ok(error <= TOLERANCE, `webgpu differs from cpu by ${error} (tolerance ${TOLERANCE})`);
}

let engine: EngineInfo;

before(async () => {
  engine = await initEngine({ device: 'gpu', quiet: true });
});

after(async () => {
  await tf.setBackend('webgpu');
});

describe('the GPU engine', () => {
  test('runs on tfjs webgpu and names its adapter', () => {
    assert.equal(engine.backend, 'webgpu');
    assert.equal(engine.device, 'gpu');
    assert.ok(engine.adapter !== null && engine.adapter.description !== '', 'the adapter describes itself');
  });
});

describe('webgpu kernels match cpu, forward and gradients', () => {
  test('dense: matMul + bias + ReLU', async () => {
    await assertParity([input(16, 48), input(48, 24), input(24)], [16, 24], (x, w, b) => tf.relu(tf.add(tf.matMul(x, w), b)));
  });

  test('conv2d (same padding) + bias', async () => {
    await assertParity([input(2, 10, 10, 3), input(3, 3, 3, 8), input(8)], [2, 10, 10, 8], (x, f, b) => tf.add(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same'), b));
  });

  test('max pooling 2x2', async () => {
    await assertParity([input(2, 8, 8, 4)], [2, 4, 4, 4], (x) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid'));
  });

  test('average pooling 2x2', async () => {
    await assertParity([input(2, 8, 8, 4)], [2, 4, 4, 4], (x) => tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid'));
  });

  test('batch normalisation with batch statistics (training) and scale/offset', async () => {
    await assertParity([input(4, 6, 6, 5), input(5), input(5)], [4, 6, 6, 5], (x, gamma, beta) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      return tf.batchNorm(x, mean, variance, beta, gamma, 1e-3);
    });
  });

  test('softmax and log-softmax', async () => {
    await assertParity([input(8, 10)], [8, 10], (z) => tf.add(tf.softmax(z), tf.logSoftmax(z)));
  });

  test('dropout: inference is the identity, training multiplies by the seeded mask', async () => {
    const mask = { shape: [6, 20], values: new Random(7).fillBernoulli(new Float32Array(120), 0.8, 1 / 0.8) };
    await assertParity([input(6, 20), mask], [6, 20], (x, m) => tf.mul(x, m));
    const layer = tf.layers.dropout({ rate: 0.5 });
    const inference = await worstError([input(6, 20)], (x) => [tf.sub(layer.apply(x, { training: false }) as tf.Tensor, x)]);
    assert.equal(inference, 0);
  });
});

describe('the on-device loss and optimizer match their CPU versions', () => {
  test('softmax cross-entropy (with label smoothing): loss, correct count and gradient', async () => {
    const logits = input(32, 10);
    const labels = Uint8Array.from({ length: 32 }, () => rng.int(10));
    for (const smoothing of [0, 0.1]) {
      const gradient = new Float32Array(320);
      const expected = softmaxCrossEntropy(logits.values, labels, 10, smoothing, gradient);
      const [loss, correct, grad] = await runOn('webgpu', [logits], (z) => {
        const y = tf.tensor1d(Int32Array.from(labels), 'int32');
        const { loss: value, correct: counted } = crossEntropyOnDevice(z as tf.Tensor2D, y, smoothing);
        const grad = tf.grad((x: tf.Tensor) => crossEntropyOnDevice(x as tf.Tensor2D, y, smoothing).loss)(z);
        return [value, counted, grad];
      });
      assert.ok(Math.abs(loss[0] - expected.loss) <= TOLERANCE * Math.max(1, expected.loss), `loss ${loss[0]} vs ${expected.loss}`);
      assert.equal(correct[0], expected.correct);
      assert.ok(maxRelError(grad, gradient) <= TOLERANCE, `gradient differs by ${maxRelError(grad, gradient)}`);
    }
  });

  test('Adam: three steps on the device equal three steps of the CPU loop', async () => {
    const start = input(40, 12);
    const gradients = [input(40, 12), input(40, 12), input(40, 12)];
    const adamSteps = async (backend: 'cpu' | 'webgpu') => {
      await tf.setBackend(backend);
      const weight = tf.variable(tf.tensor(start.values, start.shape), true, `adam_parity_${backend}`);
      const adam = new FusedAdam({ learningRate: 0.01 });
      for (const g of gradients) {
        const grad = tf.tensor(g.values, g.shape);
        adam.applyGradients([weight], { [weight.name]: grad });
        grad.dispose();
      }
      const values = Float32Array.from(await weight.data());
      adam.dispose();
      weight.dispose();
      return values;
    };
    const expected = await adamSteps('cpu');
    const actual = await adamSteps('webgpu');
    assert.ok(maxRelError(actual, start.values) > 1e-3, 'the steps moved the weights');
    assert.ok(maxRelError(actual, expected) <= TOLERANCE, `Adam differs by ${maxRelError(actual, expected)}`);
  });
});

describe('a whole training step of a model matches', () => {
  // Every layer kind Kiln builds: conv, batch norm, max pooling, dropout (seeded mask), dense.
  const CNN: ModelSpec = { kind: 'cnn', convChannels: [4, 8], kernelSize: 3, pool: 'max', batchNorm: true, convDropout: 0.1, denseUnits: [16], dropout: 0.3 };
  const images = input(8, 28, 28, 1);
  const labels = Uint8Array.from({ length: 8 }, () => rng.int(10));

  /** Loss and every trainable weight's gradient, in the model's order, on `backend`. */
  async function step(backend: 'cpu' | 'webgpu'): Promise<Float32Array[]> {
    await tf.setBackend(backend);
    const model = buildModel(CNN, FASHION_MNIST_INPUT, new Random(99));
    const variables = model.trainableWeights.map((weight) => weight.read() as tf.Variable);
    const { value, grads } = tf.tidy(() => {
      const x = tf.tensor(images.values, images.shape);
      const y = tf.tensor1d(Int32Array.from(labels), 'int32');
      return tf.variableGrads(() => {
        const logits = forwardToLogits(model, x, new Random(5));
        // The CPU path's fused JS loss against the GPU path's on-device one.
        return backend === 'cpu' ? crossEntropyOp(logits, labels, 0.05) : crossEntropyOnDevice(logits, y, 0.05).loss;
      }, variables);
    });
    const out = await Promise.all([value, ...variables.map((v) => grads[v.name])].map(async (t) => Float32Array.from(await t.data())));
    tf.dispose([value, ...Object.values(grads)]);
    model.dispose();
    return out;
  }

  test('CNN with batch norm and dropout: the loss and every gradient', async () => {
    const expected = await step('cpu');
    const actual = await step('webgpu');
    assert.equal(actual.length, expected.length);
    assert.ok(expected.length > 8, 'conv, batch norm and dense weights all have gradients');
    for (let i = 0; i < expected.length; i++) {
      const error = maxRelError(actual[i], expected[i]);
      assert.ok(error <= TOLERANCE, `tensor ${i} (${i === 0 ? 'loss' : 'gradient'}) differs by ${error}`);
    }
  });
});
