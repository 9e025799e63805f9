/**
 * models/build — turns a ModelSpec into a tfjs LayersModel.
 *
 * Every model takes NHWC images [batch, height, width, channels] of any size and colour (the
 * MLP flattens them itself, so serving never needs to know the family), has any number (>= 2)
 * of classes, and ends in two named layers: `logits` (linear Dense) and
 * `probabilities` (Softmax). The trainer stops at `logits` to use the numerically stable
 * softmax cross-entropy; inference runs the whole model. Initialisers are seeded from the
 * caller's Random so that the same seed gives the same starting weights.
 */
import * as tf from '@tensorflow/tfjs';
import { Random } from '../common/random.js';
import { type InputSpec, type ModelSpec, validateSpecForInput } from './spec.js';

export type { InputSpec } from './spec.js';

export const FASHION_MNIST_INPUT: InputSpec = { height: 28, width: 28, channels: 1, classes: 10 };

export const LOGITS_LAYER = 'logits';
export const PROBABILITIES_LAYER = 'probabilities';

/**
 * Builds an untrained model.
 *
 * @example
 * const model = buildModel({ kind: 'mlp', hiddenUnits: [128, 128, 128], dropout: 0.2 }, FASHION_MNIST_INPUT, new Random(42));
 * model.predict(tf.zeros([1, 28, 28, 1])); // [1, 10] probabilities
 */
export function buildModel(spec: ModelSpec, input: InputSpec, rng: Random): tf.Sequential {
  validateSpecForInput(spec, input);
  const seed = (): number => rng.uint32();
  const kernel = (): tf.serialization.Serializable => tf.initializers.glorotUniform({ seed: seed() });
  const inputShape = [input.height, input.width, input.channels];
  const layers: tf.layers.Layer[] = [];
  const dense = (units: number, dropout: number, index: number): void => {
    layers.push(tf.layers.dense({ units, activation: 'relu', kernelInitializer: kernel() as never, name: `dense_${index}` }));
    if (dropout > 0) layers.push(tf.layers.dropout({ rate: dropout, name: `dropout_${index}` }));
  };

  if (spec.kind === 'mlp') {
    layers.push(tf.layers.flatten({ inputShape, name: 'flatten' }));
    spec.hiddenUnits.forEach((units, i) => dense(units, spec.dropout, i));
  } else {
    spec.convChannels.forEach((filters, i) => {
      layers.push(
        tf.layers.conv2d({
          ...(i === 0 ? { inputShape } : {}),
          filters,
          kernelSize: spec.kernelSize,
          padding: 'same',
          activation: spec.batchNorm ? 'linear' : 'relu',
          useBias: !spec.batchNorm,
          kernelInitializer: kernel() as never,
          name: `conv_${i}`,
        }),
      );
      if (spec.batchNorm) {
        layers.push(tf.layers.batchNormalization({ axis: -1, name: `batchnorm_${i}` }));
        layers.push(tf.layers.activation({ activation: 'relu', name: `relu_${i}` }));
      }
      if (spec.pool === 'max') layers.push(tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `pool_${i}` }));
      if (spec.pool === 'avg') layers.push(tf.layers.averagePooling2d({ poolSize: 2, strides: 2, name: `pool_${i}` }));
      if (spec.convDropout > 0) layers.push(tf.layers.dropout({ rate: spec.convDropout, name: `conv_dropout_${i}` }));
    });
    layers.push(tf.layers.flatten({ name: 'flatten' }));
    spec.denseUnits.forEach((units, i) => dense(units, spec.dropout, i));
  }
  layers.push(tf.layers.dense({ units: input.classes, kernelInitializer: kernel() as never, name: LOGITS_LAYER }));
  layers.push(tf.layers.activation({ activation: 'softmax', name: PROBABILITIES_LAYER }));
  return tf.sequential({ layers, name: spec.kind });
}

/** Number of trainable scalars, for logs and metadata. */
export function countParameters(model: tf.LayersModel): number {
  return model.trainableWeights.reduce((sum, weight) => sum + weight.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
}
