import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, tf } from './index.js';
import { Random } from '../common/random.js';
import { TOLERANCE, parity, spec, withGrads, type Spec } from './test-util.js';

/** Small integers: many exact ties inside pooling windows. */
function tiedSpec(rng: Random, shape: number[]): Spec {
  const s = spec(rng, shape);
  for (let i = 0; i < s.values.length; i++) s.values[i] = Math.floor(s.values[i] * 2);
  return s;
}

describe('engine pooling and reduction kernels vs cpu', () => {
  before(async () => {
    await initEngine({ quiet: true });
  });

  const pools: Array<[number[], number, number, 'same' | 'valid']> = [
    [[2, 8, 8, 3], 2, 2, 'valid'],
    [[2, 9, 9, 4], 2, 2, 'valid'],
    [[2, 9, 7, 4], 3, 2, 'same'],
    [[1, 6, 6, 5], 3, 1, 'same'],
    [[3, 26, 26, 8], 2, 2, 'valid'],
    [[4, 11, 11, 64], 2, 2, 'valid'], // SIMD path with a leftover row and column
    [[2, 10, 12, 12], 2, 2, 'valid'], // SIMD path, exact cover
  ];
  for (const [shape, size, stride, pad] of pools) {
    test(`maxPool ${size}x${size} stride ${stride} ${pad} on ${shape}: forward and grad`, async () => {
      const rng = new Random(size * 10 + stride + shape[1]);
      const f = (x: tf.Tensor): tf.Tensor => tf.maxPool(x as tf.Tensor4D, size, stride, pad);
      const err = await parity([spec(rng, shape)], withGrads(rng, f));
      assert.ok(err <= TOLERANCE, `max rel error ${err}`);
    });
    test(`maxPool ${size}x${size} stride ${stride} ${pad} with ties: grad goes to the first maximum`, async () => {
      const rng = new Random(size * 10 + stride + shape[1] + 1);
      const f = (x: tf.Tensor): tf.Tensor => tf.maxPool(x as tf.Tensor4D, size, stride, pad);
      const err = await parity([tiedSpec(rng, shape)], withGrads(rng, f));
      assert.ok(err <= TOLERANCE, `max rel error ${err}`);
    });
  }

  test('relu -> maxPool (all-zero windows) grads', async () => {
    const rng = new Random(5);
    const f = (x: tf.Tensor): tf.Tensor => tf.maxPool(tf.relu(x) as tf.Tensor4D, 2, 2, 'valid');
    const err = await parity([spec(rng, [2, 10, 10, 4])], withGrads(rng, f));
    assert.ok(err <= TOLERANCE, `max rel error ${err}`);
  });

  test('maxPool grads with other maxPools between forward and backward', async () => {
    const rng = new Random(17);
    const f = (a: tf.Tensor, b: tf.Tensor): tf.Tensor => {
      const pa = tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid');
      const pb = tf.maxPool(b as tf.Tensor4D, 2, 2, 'valid');
      const ppa = tf.maxPool(pa, 2, 2, 'valid');
      return tf.add(tf.add(pa, pb), tf.tile(tf.maxPool(tf.relu(pb), 1, 1, 'valid'), [1, 1, 1, 1])).add(tf.sum(ppa));
    };
    const err = await parity([tiedSpec(rng, [2, 12, 12, 8]), spec(rng, [2, 12, 12, 8])], withGrads(rng, f));
    assert.ok(err <= TOLERANCE, `max rel error ${err}`);
  });

  test('Identity and same-dtype Cast share data and keep values after the source is disposed', () => {
    const x = tf.tensor2d([1, -2, 3, 4.5], [2, 2]);
    const c = tf.clone(x);
    const k = tf.cast(x, 'float32');
    const i = tf.cast(x, 'int32');
    x.dispose();
    assert.deepEqual(Array.from(c.dataSync()), [1, -2, 3, 4.5]);
    assert.deepEqual(Array.from(k.dataSync()), [1, -2, 3, 4.5]);
    assert.deepEqual(Array.from(i.dataSync()), [1, -2, 3, 4]);
    assert.equal(i.dtype, 'int32');
    c.dispose();
    assert.deepEqual(Array.from(k.dataSync()), [1, -2, 3, 4.5]);
    tf.dispose([k, i]);
  });

  const sums: Array<[number[], number | number[], boolean]> = [
    [[128, 10], 0, false],
    [[64, 33], [0], true],
    [[4, 6, 5, 7], [0, 1, 2], false],
    [[4, 6, 5, 7], [2, 0, 1], true],
    [[3, 5, 4], [0, 1], false],
    [[2, 3], 0, false], // fewer rows than the sgemv threshold
    [[4, 6, 5], [1], false], // middle axis: original kernel
    [[4, 6, 5], [2], false], // last axis: original kernel
    [[4, 6, 5], [0, 1, 2], false], // everything: original kernel
  ];
  for (const [shape, axis, keepDims] of sums) {
    test(`sum of ${shape} over axis ${JSON.stringify(axis)} keepDims=${keepDims}: forward and grad`, async () => {
      const rng = new Random(shape.length * 10 + (Array.isArray(axis) ? axis.length : 1));
      const f = (x: tf.Tensor): tf.Tensor => tf.sum(x, axis, keepDims);
      const err = await parity([spec(rng, shape)], withGrads(rng, f));
      assert.ok(err <= TOLERANCE, `max rel error ${err}`);
    });
  }

  for (const [shape, axis, keepDims] of sums) {
    test(`mean of ${shape} over axis ${JSON.stringify(axis)} keepDims=${keepDims}: forward and grad`, async () => {
      const rng = new Random(shape.length * 13 + (Array.isArray(axis) ? axis.length : 1));
      const f = (x: tf.Tensor): tf.Tensor => tf.mean(x, axis, keepDims);
      const err = await parity([spec(rng, shape)], withGrads(rng, f));
      assert.ok(err <= TOLERANCE, `max rel error ${err}`);
    });
  }

  test('batch-norm training step (moments over N, H, W, tiled statistics) matches cpu', async () => {
    const rng = new Random(21);
    const f = (x: tf.Tensor, scale: tf.Tensor, offset: tf.Tensor): tf.Tensor => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      return tf.relu(tf.batchNorm(x, mean, variance, offset as tf.Tensor1D, scale as tf.Tensor1D, 1e-3));
    };
    const err = await parity([spec(rng, [8, 6, 6, 16]), spec(rng, [16]), spec(rng, [16])], withGrads(rng, f));
    assert.ok(err <= TOLERANCE, `max rel error ${err}`);
  });

  test('bias gradient through add broadcast (sum over leading axes) matches cpu', async () => {
    const rng = new Random(9);
    const f = (x: tf.Tensor, b: tf.Tensor): tf.Tensor => tf.relu(tf.add(x, b));
    const err = await parity([spec(rng, [16, 7, 7, 12]), spec(rng, [12])], withGrads(rng, f));
    assert.ok(err <= TOLERANCE, `max rel error ${err}`);
  });

  test('sum of int32 stays on the original kernel and is exact', async () => {
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32');
    const s = tf.sum(x, 0);
    assert.equal(s.dtype, 'int32');
    assert.deepEqual(Array.from(s.dataSync()), [9, 12]);
    tf.dispose([x, s]);
  });
});
