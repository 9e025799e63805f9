/**
 * The engine's own kernels (im2col + GEMM convolutions, SIMD pooling, reductions) on the input
 * shapes a user's dataset brings — colour (3 input channels), non-square, sizes that are not 28
 * and do not halve evenly — against tfjs's reference cpu kernels, forward and every gradient.
 * The ops are those the CNN builder chains: conv (+ bias + ReLU, or + batch norm), 2x2 pooling,
 * flatten, dense. Both engine configurations run: OpenBLAS GEMMs (where installed) and the
 * stock wasm fallback.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Random } from '../common/random.js';
import { initEngine, tf } from './index.js';
import { parity, spec, TOLERANCE, withGrads } from './test-util.js';

const SHAPES: [number, number, number][] = [
  [32, 32, 3],
  [24, 40, 3],
  [17, 17, 1],
  [15, 9, 3],
];

/** Two CNN blocks and a dense layer, as models/build makes them: conv → ReLU → max pool, conv → batch norm → ReLU → avg pool. */
function cnn(x: tf.Tensor, w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, dense: tf.Tensor): tf.Tensor {
  const a = tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w1 as tf.Tensor4D, strides: 1, pad: 'same', bias: b1, activation: 'relu' });
  const p = tf.maxPool(a, 2, 2, 'valid');
  const c = tf.conv2d(p, w2 as tf.Tensor4D, 1, 'same');
  const { mean, variance } = tf.moments(c, [0, 1, 2]);
  const n = tf.relu(tf.batchNorm(c, mean, variance, beta as tf.Tensor1D, gamma as tf.Tensor1D, 1e-3));
  const q = tf.avgPool(n as tf.Tensor4D, 2, 2, 'valid');
  return tf.matMul(tf.reshape(q, [q.shape[0], -1]), dense as tf.Tensor2D);
}

for (const blas of ['auto', 'off'] as const) {
  describe(`engine kernels on colour and non-square inputs vs cpu (blas ${blas})`, () => {
    before(async () => {
      await initEngine({ quiet: true, blas });
    });

    for (const [h, w, c] of SHAPES) {
      test(`${h}x${w}x${c}: conv 3x3 + ReLU + max pool, conv 5x5 + batch norm + avg pool, dense: forward and all gradients`, async () => {
        const rng = new Random(h * 100 + w * 10 + c);
        const ph = Math.floor(Math.floor(h / 2) / 2);
        const pw = Math.floor(Math.floor(w / 2) / 2);
        const specs = [
          spec(rng, [4, h, w, c]),
          spec(rng, [3, 3, c, 8]),
          spec(rng, [8]),
          spec(rng, [5, 5, 8, 6]),
          spec(rng, [6]),
          spec(rng, [6]),
          spec(rng, [ph * pw * 6, 7]),
        ];
        const err = await parity(specs, withGrads(rng, cnn));
        assert.ok(err <= TOLERANCE, `max rel error ${err}`);
      });

      test(`${h}x${w}x${c}: the first conv alone (in_channels ${c}), strided and valid: forward, dx, dfilter`, async () => {
        const rng = new Random(h + w + c);
        const f = (x: tf.Tensor, k: tf.Tensor): tf.Tensor => tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, 2, 'valid');
        const err = await parity([spec(rng, [3, h, w, c]), spec(rng, [3, 3, c, 5])], withGrads(rng, f));
        assert.ok(err <= TOLERANCE, `max rel error ${err}`);
      });
    }
  });
}
