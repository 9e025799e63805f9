/**
 * train/loss — softmax cross-entropy computed in one pass over the logits, as a tfjs custom
 * gradient.
 *
 * tfjs's softmaxCrossEntropy is ~20 small kernels forward and backward; at a 128x10 batch each
 * costs more to dispatch than to compute. Here the logits are read once, and the loss and its
 * gradient ((softmax - target) / batch) come out of the same loop; the backward pass is one
 * multiply. Labels stay a Uint8Array: no one-hot tensor is ever built.
 */
import * as tf from '@tensorflow/tfjs';

export interface CrossEntropyResult {
  /** Mean loss over the rows. */
  loss: number;
  /** Rows whose arg-max logit is the label. */
  correct: number;
}

/**
 * Mean softmax cross-entropy of `logits` (rows x classes) against integer `labels`, with label
 * smoothing; when `gradient` is given it receives d(mean loss)/d(logits).
 */
export function softmaxCrossEntropy(
  logits: Float32Array,
  labels: Uint8Array,
  classes: number,
  smoothing = 0,
  gradient?: Float32Array,
): CrossEntropyResult {
  const rows = labels.length;
  const off = smoothing / classes;
  const on = 1 - smoothing + off;
  const probabilities = new Float64Array(classes);
  let total = 0;
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    const base = r * classes;
    const label = labels[r];
    let max = logits[base];
    let best = 0;
    for (let c = 1; c < classes; c++) {
      if (logits[base + c] > max) {
        max = logits[base + c];
        best = c;
      }
    }
    if (best === label) correct += 1;
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      const e = Math.exp(logits[base + c] - max);
      probabilities[c] = e;
      sum += e;
    }
    const logSum = Math.log(sum) + max;
    for (let c = 0; c < classes; c++) {
      const target = c === label ? on : off;
      if (target !== 0) total -= target * (logits[base + c] - logSum);
      if (gradient) gradient[base + c] = (probabilities[c] / sum - target) / rows;
    }
  }
  return { loss: total / Math.max(rows, 1), correct };
}

/**
 * The training loss as a differentiable tfjs op: a scalar tensor whose gradient with respect to
 * `logits` was computed alongside it. `stats`, when given, receives the batch's correct count
 * (training accuracy comes for free from the same pass).
 */
export function crossEntropyOp(logits: tf.Tensor2D, labels: Uint8Array, smoothing: number, stats?: { correct: number }): tf.Scalar {
  const op = tf.customGrad(((z: tf.Tensor, save: tf.GradSaveFunc) => {
    const classes = z.shape[1] ?? 1;
    const gradient = new Float32Array(z.size);
    const { loss, correct } = softmaxCrossEntropy(z.dataSync() as Float32Array, labels, classes, smoothing, gradient);
    if (stats) stats.correct = correct;
    save([tf.tensor(gradient, z.shape)]);
    return {
      value: tf.scalar(loss),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(saved[0], dy),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(logits) as tf.Scalar;
}

/**
 * The same loss and correct count as tfjs ops, for backends that cannot be read synchronously
 * (webgpu): nothing leaves the device until the caller awaits `correct` (and the loss).
 * `correct` is kept out of the caller's tidy scopes; the caller disposes it.
 */
export function crossEntropyOnDevice(logits: tf.Tensor2D, labels: tf.Tensor1D, smoothing: number): { loss: tf.Scalar; correct: tf.Scalar } {
  const classes = logits.shape[1] ?? 1;
  const correct = tf.keep(tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32'))) as tf.Scalar);
  const off = smoothing / classes;
  const targets = tf.add(tf.mul(tf.oneHot(labels, classes), 1 - smoothing), off);
  const loss = tf.mean(tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), 1))) as tf.Scalar;
  return { loss, correct };
}
