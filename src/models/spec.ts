/**
 * models/spec — the hyperparameters that define a model, and their allowed ranges.
 *
 * A spec is plain data: it is what the CLI parses, what the tuner samples, what the tracking
 * server records as params and what `kiln-model.json` stores, so it must round-trip through JSON.
 */
import { Type } from '@sinclair/typebox';
import { InvalidHyperparameterError } from '../common/errors.js';
import { firstProblem } from '../common/schema-problems.js';

/** The seed's multilayer perceptron: Flatten → (Dense + ReLU + Dropout) × layers → Dense → Softmax. */
export interface MlpSpec {
  kind: 'mlp';
  /** Units of each hidden layer, input side first. */
  hiddenUnits: number[];
  /** Dropout rate after every hidden layer (0 disables it). */
  dropout: number;
}

/** A small convolutional family: conv blocks, then dense layers, then Softmax. */
export interface CnnSpec {
  kind: 'cnn';
  /** Output channels of each conv block (each block: Conv 'same' + optional BatchNorm + ReLU + pool). */
  convChannels: number[];
  /** Square kernel size of every conv layer (odd). */
  kernelSize: number;
  /** Pooling after each conv block (2x2, stride 2). */
  pool: 'max' | 'avg' | 'none';
  /** Batch normalisation between each conv and its ReLU. */
  batchNorm: boolean;
  /** Dropout rate after each conv block (0 disables it). */
  convDropout: number;
  /** Units of the hidden dense layers after flattening. */
  denseUnits: number[];
  /** Dropout rate after every hidden dense layer. */
  dropout: number;
}

export type ModelSpec = MlpSpec | CnnSpec;

/** What a model's input and output look like: NHWC images of height x width x channels, `classes` outputs. */
export interface InputSpec {
  height: number;
  width: number;
  channels: number;
  classes: number;
}

/** The seed's default MLP: three hidden layers of 128 units, dropout 0.2. */
export const DEFAULT_MLP: MlpSpec = { kind: 'mlp', hiddenUnits: [128, 128, 128], dropout: 0.2 };

/** The reference CNN of the benchmark: conv32 → conv64 → fc128. */
export const DEFAULT_CNN: CnnSpec = {
  kind: 'cnn',
  convChannels: [32, 64],
  kernelSize: 3,
  pool: 'max',
  batchNorm: false,
  convDropout: 0,
  denseUnits: [128],
  dropout: 0.25,
};

export const LIMITS = {
  hiddenLayers: { min: 1, max: 8 },
  units: { min: 1, max: 4096 },
  dropout: { min: 0, max: 0.9 },
  convBlocks: { min: 1, max: 4 },
  channels: { min: 1, max: 512 },
  kernelSize: { min: 1, max: 7 },
  denseLayers: { min: 0, max: 4 },
} as const;

const sizes = (field: string, count: { min: number; max: number }, unit: { min: number; max: number }) =>
  Type.Array(Type.Integer({ minimum: unit.min, maximum: unit.max }), {
    minItems: count.min,
    maxItems: count.max,
    title: `${count.min} to ${count.max} comma-separated sizes (--${field})`,
  });
const rate = () => Type.Number({ minimum: LIMITS.dropout.min, maximum: LIMITS.dropout.max });

/** A spec in the shape of the `kiln train` flags that set it, so a problem is named by its flag. */
const SpecFlagsSchema = Type.Union([
  Type.Object({ model: Type.Literal('mlp'), layers: sizes('layers', LIMITS.hiddenLayers, LIMITS.units), dropout: rate() }, { additionalProperties: false }),
  Type.Object(
    {
      model: Type.Literal('cnn'),
      conv: sizes('conv', LIMITS.convBlocks, LIMITS.channels),
      kernel: Type.Integer({ minimum: LIMITS.kernelSize.min, maximum: LIMITS.kernelSize.max }),
      pool: Type.Union([Type.Literal('max'), Type.Literal('avg'), Type.Literal('none')]),
      'batch-norm': Type.Boolean(),
      'conv-dropout': rate(),
      dense: sizes('dense', LIMITS.denseLayers, LIMITS.units),
      dropout: rate(),
    },
    { additionalProperties: false },
  ),
]);

function flagShaped(spec: ModelSpec): unknown {
  if (spec.kind === 'mlp') return { model: 'mlp', layers: spec.hiddenUnits, dropout: spec.dropout };
  if (spec.kind === 'cnn') {
    return { model: 'cnn', conv: spec.convChannels, kernel: spec.kernelSize, pool: spec.pool, 'batch-norm': spec.batchNorm, 'conv-dropout': spec.convDropout, dense: spec.denseUnits, dropout: spec.dropout };
  }
  return { model: (spec as { kind: unknown }).kind };
}

/** Throws InvalidHyperparameterError naming the first field outside its range (by its flag; a list item as layers[1]). */
export function validateSpec(spec: ModelSpec): ModelSpec {
  const problem = firstProblem(SpecFlagsSchema, flagShaped(spec));
  if (problem) throw new InvalidHyperparameterError(problem.key.replace(/\.(\d+)/g, '[$1]'), problem.message);
  // What a schema cannot say: a 'same'-padded kernel has a centre.
  if (spec.kind === 'cnn' && spec.kernelSize % 2 === 0) throw new InvalidHyperparameterError('kernel', `expected an odd size, got ${spec.kernelSize}`);
  return spec;
}

/** Flat params for tracking (`layers`, `units_0`, …), the form MLflow users expect to filter on. */
export function specToParams(spec: ModelSpec): Record<string, string> {
  if (spec.kind === 'mlp') {
    const params: Record<string, string> = { model: 'mlp', n_layers: String(spec.hiddenUnits.length), dropout: String(spec.dropout) };
    spec.hiddenUnits.forEach((units, i) => (params[`units_l${i}`] = String(units)));
    return params;
  }
  return {
    model: 'cnn',
    conv: spec.convChannels.join(','),
    kernel: String(spec.kernelSize),
    pool: spec.pool,
    batch_norm: String(spec.batchNorm),
    conv_dropout: String(spec.convDropout),
    dense: spec.denseUnits.join(','),
    dropout: String(spec.dropout),
  };
}

/**
 * How many 2x2 stride-2 pooling blocks an input of height x width allows: each one halves
 * (rounding down) both sides, and the last must leave at least 1x1. 4 for 28x28, 5 for 32x32.
 */
export function maxPoolingBlocks(height: number, width: number): number {
  let blocks = 0;
  for (let h = height, w = width; h >= 2 && w >= 2; h = Math.floor(h / 2), w = Math.floor(w / 2)) blocks++;
  return blocks;
}

/** The conv blocks a CNN may have on this input: the pooling limit, within LIMITS.convBlocks. */
export function maxConvBlocks(input: Pick<InputSpec, 'height' | 'width'>): number {
  return Math.min(LIMITS.convBlocks.max, maxPoolingBlocks(input.height, input.width));
}

/**
 * validateSpec, plus what only the input can tell: a positive HxWxC, at least two classes, and
 * no more pooling conv blocks than the spatial size allows (each halves it, none may go below 1x1).
 */
export function validateSpecForInput(spec: ModelSpec, input: InputSpec): ModelSpec {
  validateSpec(spec);
  const { height, width, channels, classes } = input;
  if (![height, width, channels].every((d) => Number.isInteger(d) && d > 0)) {
    throw new InvalidHyperparameterError('input', `expected a positive integer height x width x channels, got ${height}x${width}x${channels}`);
  }
  if (!Number.isInteger(classes) || classes < 2) throw new InvalidHyperparameterError('classes', `expected at least 2 classes, got ${String(classes)}`);
  if (spec.kind === 'cnn' && spec.pool !== 'none') {
    const allowed = maxPoolingBlocks(height, width);
    if (spec.convChannels.length > allowed) {
      const fix = allowed > 0 ? `use at most ${allowed} (e.g. --conv ${spec.convChannels.slice(0, allowed).join(',')})` : 'use --pool none';
      throw new InvalidHyperparameterError(
        'conv',
        `${spec.convChannels.length} conv blocks with ${spec.pool} pooling would pool a ${height}x${width} input below 1x1 (each block halves it): ${fix}`,
      );
    }
  }
  return spec;
}
