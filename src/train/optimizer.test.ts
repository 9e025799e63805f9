import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { Random } from '../common/random.js';
import { initEngine } from '../engine/index.js';
import { FusedAdam } from './optimizer.js';

const SHAPES = [[37, 13], [13], [5, 3, 2, 7]];

/** The engine's parity measure: |a - b| / max(1, |b|). */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return max;
}

/** Runs `steps` updates with random gradients from both optimisers and returns the final values. */
function compareWithTfjsAdam(steps: number): { ours: Float32Array[]; reference: Float32Array[] } {
  const rng = new Random(11);
  const init = SHAPES.map((shape) => Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.normal()));
  const ours = SHAPES.map((shape, i) => tf.variable(tf.tensor(init[i], shape), true, `ours_${i}`));
  const reference = SHAPES.map((shape, i) => tf.variable(tf.tensor(init[i], shape), true, `ref_${i}`));
  const fused = new FusedAdam({ learningRate: 0.01 });
  const adam = tf.train.adam(0.01, 0.9, 0.999, 1e-7);
  for (let s = 0; s < steps; s++) {
    const grads = SHAPES.map((shape) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.normal()), shape));
    tf.tidy(() => fused.applyGradients(ours, Object.fromEntries(ours.map((v, i) => [v.name, grads[i]]))));
    adam.applyGradients(reference.map((v, i) => ({ name: v.name, tensor: grads[i] })));
    tf.dispose(grads);
  }
  const result = { ours: ours.map((v) => v.dataSync() as Float32Array), reference: reference.map((v) => v.dataSync() as Float32Array) };
  fused.dispose();
  adam.dispose();
  tf.dispose([...ours, ...reference]);
  return result;
}

describe('FusedAdam', () => {
  before(async () => {
    await initEngine({ quiet: true });
  });

  test('on the wasm backend (SIMD kernel) it follows tfjs Adam within 1e-5 over 20 steps', () => {
    const { ours, reference } = compareWithTfjsAdam(20);
    ours.forEach((values, i) => assert.ok(relativeError(values, reference[i]) < 1e-5, `variable ${i}: ${relativeError(values, reference[i])}`));
  });

  test('on the cpu backend (JS loop) it follows tfjs Adam within 1e-5 over 20 steps', async () => {
    await tf.setBackend('cpu');
    try {
      const { ours, reference } = compareWithTfjsAdam(20);
      ours.forEach((values, i) => assert.ok(relativeError(values, reference[i]) < 1e-5, `variable ${i}: ${relativeError(values, reference[i])}`));
    } finally {
      await tf.setBackend('wasm');
    }
  });

  test('a tensor sharing the variable storage (a restored checkpoint) is never written', () => {
    const snapshot = tf.tensor([1, 2, 3, 4, 5]);
    const variable = tf.variable(tf.zeros([5]), true, 'shared');
    variable.assign(snapshot);
    const adam = new FusedAdam({ learningRate: 0.1 });
    const grad = tf.ones([5]);
    tf.tidy(() => adam.applyGradients([variable], { shared: grad }));
    assert.deepEqual(Array.from(snapshot.dataSync()), [1, 2, 3, 4, 5]);
    assert.ok(variable.dataSync()[0] < 1, 'the variable itself moved against the gradient');
    adam.dispose();
    tf.dispose([snapshot, variable, grad]);
  });

  test('the learning rate can change between steps (schedules)', () => {
    const variable = tf.variable(tf.zeros([4]), true, 'lr');
    const adam = new FusedAdam({ learningRate: 0.1 });
    const grad = tf.ones([4]);
    tf.tidy(() => adam.applyGradients([variable], { lr: grad }));
    const afterFirst = variable.dataSync()[0];
    adam.learningRate = 0;
    tf.tidy(() => adam.applyGradients([variable], { lr: grad }));
    assert.ok(Math.abs(afterFirst + 0.1) < 1e-5, `first step moves by lr: ${afterFirst}`);
    assert.equal(variable.dataSync()[0], afterFirst);
    adam.dispose();
    tf.dispose([variable, grad]);
  });
});
