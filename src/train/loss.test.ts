import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { Random } from '../common/random.js';
import { initEngine } from '../engine/index.js';
import { crossEntropyOp, softmaxCrossEntropy } from './loss.js';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

describe('softmax cross-entropy', () => {
  before(async () => {
    await initEngine({ quiet: true });
  });

  for (const smoothing of [0, 0.1]) {
    test(`loss and gradient match tfjs's softmaxCrossEntropy (label smoothing ${smoothing})`, () => {
      const rng = new Random(3);
      const rows = 37;
      const classes = 10;
      const logits = Float32Array.from({ length: rows * classes }, () => rng.normal() * 4);
      const labels = Uint8Array.from({ length: rows }, () => rng.int(classes));
      const z = tf.tensor2d(logits, [rows, classes]);
      const oneHot = tf.oneHot(tf.tensor1d(Array.from(labels), 'int32'), classes);
      const reference = tf.grad((t: tf.Tensor) => tf.losses.softmaxCrossEntropy(oneHot, t, undefined, smoothing))(z);
      const referenceLoss = tf.losses.softmaxCrossEntropy(oneHot, z, undefined, smoothing).dataSync()[0];
      const ours = tf.grad((t: tf.Tensor) => crossEntropyOp(t as tf.Tensor2D, labels, smoothing))(z);
      const ourLoss = crossEntropyOp(z, labels, smoothing).dataSync()[0];
      assert.ok(Math.abs(ourLoss - referenceLoss) < 1e-5, `${ourLoss} vs ${referenceLoss}`);
      assert.ok(maxAbsDiff(ours.dataSync(), reference.dataSync()) < 1e-6);
    });
  }

  test('counts the rows whose arg-max is the label', () => {
    const logits = Float32Array.from([1, 2, 0, 5, 1, 0, 0, 0, 3]);
    assert.equal(softmaxCrossEntropy(logits, Uint8Array.from([1, 0, 0]), 3).correct, 2);
  });

  test('a confident correct prediction has near-zero loss, a confident wrong one a large loss', () => {
    assert.ok(softmaxCrossEntropy(Float32Array.from([20, 0]), Uint8Array.from([0]), 2).loss < 1e-6);
    assert.ok(softmaxCrossEntropy(Float32Array.from([20, 0]), Uint8Array.from([1]), 2).loss > 19);
  });
});
