/**
 * models/onnx/export — converts a Kiln tfjs LayersModel (any model `buildModel` makes) into an
 * ONNX ModelProto (opset 13), so that ONNX Runtime can serve it.
 *
 * The graph keeps the model's interface: input `input` float32 [batch, H, W, C] (NHWC, like the
 * tfjs model) and output `probabilities` float32 [batch, classes]. Inside, convolutions run in
 * ONNX's NCHW layout: one Transpose enters it before the first Conv, and at the Flatten the rows
 * of the following Dense kernel are permuted to NCHW order, so no Transpose is needed to leave it.
 *
 * Layer mapping: Flatten → Flatten(axis 1); Dense → Gemm (+ activation); Conv2D → Conv (kernel
 * [kh,kw,in,out] → [out,in,kh,kw], 'same' padding as explicit TF-style pads); BatchNormalization →
 * BatchNormalization (inference form, moving statistics); MaxPooling2D/AveragePooling2D →
 * MaxPool/AveragePool; Activation → Relu/Sigmoid/Tanh/Softmax(axis -1); Dropout and InputLayer
 * vanish (identity at inference).
 */
import { endianness } from 'node:os';
import type * as tf from '@tensorflow/tfjs';
import { KilnError } from '../../common/errors.js';
import { KILN_VERSION } from '../../common/version.js';
import type { KilnModelMetadata } from '../metadata.js';
import {
  type AttributeMessage,
  AttributeType,
  DataType,
  encodeModel,
  type ModelMessage,
  type NodeMessage,
  type TensorMessage,
  type ValueInfoMessage,
} from './proto.js';

export { ONNX_FILE } from '../metadata.js';
export const ONNX_OPSET = 13;
/** IR version 7 is the one that goes with opset 13 (ONNX 1.8). */
export const ONNX_IR_VERSION = 7;
export const ONNX_INPUT = 'input';
export const ONNX_OUTPUT = 'probabilities';

export interface OnnxExportOptions {
  /** Graph name (default: the model's name). */
  name?: string;
  docString?: string;
  /** Extra key/value metadata stored in the model (e.g. class names). */
  metadata?: Record<string, string>;
  producerVersion?: string;
  /**
   * Each layer's weights, read beforehand with readLayerWeights (asynchronously: a model trained
   * on the GPU cannot be read synchronously). Default: read synchronously here.
   */
  weights?: LayerWeights;
}

export type LayerWeights = ReadonlyMap<string, { shape: number[]; values: Float32Array }[]>;

/** Every layer's weights, read asynchronously (works on every backend, webgpu included). */
export async function readLayerWeights(model: tf.LayersModel): Promise<LayerWeights> {
  const entries = await Promise.all(
    model.layers.map(async (layer) => {
      const weights = await Promise.all(layer.getWeights().map(async (w) => ({ shape: w.shape, values: (await w.data()) as Float32Array })));
      return [layer.name, weights] as const;
    }),
  );
  return new Map(entries);
}

/** The export options of a Kiln model folder's `model.onnx`: its name, and what a reader needs to feed it. */
export function folderExportOptions(metadata: KilnModelMetadata): OnnxExportOptions {
  return {
    name: metadata.name,
    producerVersion: KILN_VERSION,
    docString: `Kiln ${metadata.spec.kind} model; input NHWC float32 [batch, ${metadata.inputShape.join(', ')}] preprocessed as kiln-model.json says`,
    metadata: { class_names: JSON.stringify(metadata.classNames), preprocessing: JSON.stringify(metadata.preprocessing) },
  };
}

type Layout = 'nhwc' | 'nchw' | 'flat';

interface LayerConfig {
  activation?: string;
  padding?: string;
  strides?: number | number[];
  poolSize?: number | number[];
  kernelSize?: number | number[];
  dilationRate?: number | number[];
  useBias?: boolean;
  epsilon?: number;
  center?: boolean;
  scale?: boolean;
  axis?: number | number[];
  dataFormat?: string;
}

function unsupported(message: string): never {
  throw new KilnError('KILN_ERR_ONNX_UNSUPPORTED', `ONNX export: ${message}`);
}

function pair(value: number | number[] | undefined, fallback: number): [number, number] {
  if (value === undefined || value === null) return [fallback, fallback];
  if (typeof value === 'number') return [value, value];
  return [value[0] ?? fallback, value[1] ?? value[0] ?? fallback];
}

function floatBytes(values: Float32Array): Uint8Array {
  if (endianness() === 'LE') return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return out;
}

function shapeOf(shape: tf.Shape | tf.Shape[]): (number | null)[] {
  return (Array.isArray(shape[0]) ? shape[0] : shape) as (number | null)[];
}

function inputShapeOf(layer: tf.layers.Layer): (number | null)[] {
  const input = layer.input;
  return shapeOf((Array.isArray(input) ? input[0]! : input).shape);
}

/** TF 'same' padding: total = max((ceil(in/s) - 1) * s + (k - 1) * d + 1 - in, 0), extra at the end. */
function samePads(size: number, kernel: number, stride: number, dilation: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

class GraphBuilder {
  readonly nodes: NodeMessage[] = [];
  readonly initializers: TensorMessage[] = [];
  private counter = 0;

  fresh(base: string): string {
    this.counter += 1;
    return `${base}:${this.counter}`;
  }

  node(opType: string, name: string, inputs: string[], attributes: AttributeMessage[] = [], output?: string): string {
    const out = output ?? this.fresh(name);
    this.nodes.push({ name, op_type: opType, input: inputs, output: [out], attribute: attributes });
    return out;
  }

  floatTensor(name: string, dims: number[], values: Float32Array): string {
    const count = dims.reduce((a, b) => a * b, 1);
    if (count !== values.length) throw new Error(`ONNX export: ${name} has ${values.length} values for shape [${dims.join(',')}]`);
    this.initializers.push({ name, dims, data_type: DataType.FLOAT, raw_data: floatBytes(values) });
    return name;
  }
}

const ints = (name: string, values: number[]): AttributeMessage => ({ name, type: AttributeType.INTS, ints: values });
const int = (name: string, value: number): AttributeMessage => ({ name, type: AttributeType.INT, i: value });
const float = (name: string, value: number): AttributeMessage => ({ name, type: AttributeType.FLOAT, f: value });

function activation(graph: GraphBuilder, kind: string | undefined, layerName: string, input: string): string {
  switch (kind ?? 'linear') {
    case 'linear':
      return input;
    case 'relu':
      return graph.node('Relu', `${layerName}/relu`, [input]);
    case 'sigmoid':
      return graph.node('Sigmoid', `${layerName}/sigmoid`, [input]);
    case 'tanh':
      return graph.node('Tanh', `${layerName}/tanh`, [input]);
    case 'softmax':
      return graph.node('Softmax', `${layerName}/softmax`, [input], [int('axis', -1)]);
    default:
      return unsupported(`activation '${kind}' of layer ${layerName}`);
  }
}

/** Permutes the rows of a Dense kernel [H*W*C, units] from NHWC flatten order to NCHW order. */
function permuteRowsToNchw(kernel: Float32Array, h: number, w: number, c: number, units: number): Float32Array {
  const out = new Float32Array(kernel.length);
  for (let ci = 0; ci < c; ci++) {
    for (let hi = 0; hi < h; hi++) {
      for (let wi = 0; wi < w; wi++) {
        const nchwRow = (ci * h + hi) * w + wi;
        const nhwcRow = (hi * w + wi) * c + ci;
        out.set(kernel.subarray(nhwcRow * units, nhwcRow * units + units), nchwRow * units);
      }
    }
  }
  return out;
}

/** Converts a tfjs LayersModel to ONNX bytes. */
export function exportOnnx(model: tf.LayersModel, options: OnnxExportOptions = {}): Uint8Array {
  const graph = new GraphBuilder();
  const inputShape = shapeOf(model.inputs[0]?.shape ?? unsupported('the model has no input'));
  if (inputShape.length !== 4) unsupported(`expected an NHWC image input, got shape [${inputShape.join(',')}]`);
  let current = ONNX_INPUT;
  let layout: Layout = 'nhwc';
  /** Set at a Flatten of an NCHW tensor: [H, W, C] whose order the next Dense kernel must absorb. */
  let pendingPermutation: [number, number, number] | null = null;

  const toNchw = (): void => {
    if (layout === 'nhwc') {
      current = graph.node('Transpose', 'to_nchw', [current], [ints('perm', [0, 3, 1, 2])]);
      layout = 'nchw';
    }
  };

  const layers = model.layers;
  layers.forEach((layer, index) => {
    const kind = layer.getClassName();
    const config = layer.getConfig() as LayerConfig;
    const name = layer.name;
    const weights = options.weights?.get(name) ?? layer.getWeights().map((w) => ({ shape: w.shape, values: w.dataSync() as Float32Array }));
    if (config.dataFormat && config.dataFormat !== 'channelsLast') unsupported(`layer ${name} uses dataFormat ${config.dataFormat}`);
    if (kind !== 'Dense' && kind !== 'Dropout' && pendingPermutation) {
      // Something other than Dense consumes the flattened NCHW tensor: restore NHWC order explicitly.
      unsupported(`layer ${name} (${kind}) after a Flatten of a convolutional feature map`);
    }
    switch (kind) {
      case 'InputLayer':
      case 'Dropout':
      case 'SpatialDropout1D':
      case 'GaussianNoise':
      case 'GaussianDropout':
      case 'AlphaDropout':
        return;
      case 'Flatten': {
        if (layout === 'nchw') {
          const shape = inputShapeOf(layer);
          const [, h, w, c] = shape as number[];
          const next = layers.slice(index + 1).find((l) => l.getClassName() !== 'Dropout');
          if (next?.getClassName() === 'Dense') {
            pendingPermutation = [h, w, c];
          } else {
            current = graph.node('Transpose', `${name}/to_nhwc`, [current], [ints('perm', [0, 2, 3, 1])]);
          }
        }
        current = graph.node('Flatten', name, [current], [int('axis', 1)]);
        layout = 'flat';
        return;
      }
      case 'Dense': {
        if (layout !== 'flat') unsupported(`Dense layer ${name} on a rank-4 tensor (add a Flatten first)`);
        const [kernel, bias] = weights;
        if (!kernel) unsupported(`Dense layer ${name} has no kernel`);
        const [inUnits, units] = kernel.shape as [number, number];
        let kernelValues = kernel.values;
        if (pendingPermutation) {
          const [h, w, c] = pendingPermutation;
          if (h * w * c !== inUnits) unsupported(`Dense layer ${name}: ${inUnits} inputs for a flattened [${h},${w},${c}] map`);
          kernelValues = permuteRowsToNchw(kernelValues, h, w, c, units);
          pendingPermutation = null;
        }
        const inputs = [current, graph.floatTensor(`${name}/kernel`, [inUnits, units], kernelValues)];
        if (bias) inputs.push(graph.floatTensor(`${name}/bias`, [units], bias.values));
        current = graph.node('Gemm', `${name}/gemm`, inputs, [float('alpha', 1), float('beta', 1), int('transA', 0), int('transB', 0)]);
        current = activation(graph, config.activation, name, current);
        return;
      }
      case 'Conv2D': {
        toNchw();
        const [kernel, bias] = weights;
        if (!kernel) unsupported(`Conv2D layer ${name} has no kernel`);
        const [kh, kw, cin, cout] = kernel.shape as [number, number, number, number];
        const transposed = new Float32Array(kernel.values.length);
        for (let y = 0; y < kh; y++)
          for (let x = 0; x < kw; x++)
            for (let i = 0; i < cin; i++)
              for (let o = 0; o < cout; o++) transposed[((o * cin + i) * kh + y) * kw + x] = kernel.values[((y * kw + x) * cin + i) * cout + o];
        const strides = pair(config.strides, 1);
        const dilations = pair(config.dilationRate, 1);
        const [, ih, iw] = inputShapeOf(layer) as number[];
        let pads = [0, 0, 0, 0];
        if (config.padding === 'same') {
          const [top, bottom] = samePads(ih, kh, strides[0], dilations[0]);
          const [left, right] = samePads(iw, kw, strides[1], dilations[1]);
          pads = [top, left, bottom, right];
        } else if (config.padding !== 'valid') unsupported(`Conv2D layer ${name} padding '${config.padding}'`);
        const inputs = [current, graph.floatTensor(`${name}/kernel`, [cout, cin, kh, kw], transposed)];
        if (bias) inputs.push(graph.floatTensor(`${name}/bias`, [cout], bias.values));
        current = graph.node('Conv', `${name}/conv`, inputs, [
          ints('kernel_shape', [kh, kw]),
          ints('strides', strides),
          ints('dilations', dilations),
          ints('pads', pads),
          int('group', 1),
        ]);
        current = activation(graph, config.activation, name, current);
        return;
      }
      case 'BatchNormalization': {
        const axis = Array.isArray(config.axis) ? config.axis[0] : (config.axis ?? -1);
        const rank = inputShapeOf(layer).length;
        if (axis !== -1 && axis !== rank - 1) unsupported(`BatchNormalization ${name} on axis ${axis}`);
        if (layout === 'nhwc') toNchw();
        const queue = [...weights];
        const channels = weights[weights.length - 1]?.shape[0] ?? unsupported(`BatchNormalization ${name} has no weights`);
        const gamma = config.scale === false ? new Float32Array(channels).fill(1) : queue.shift()!.values;
        const beta = config.center === false ? new Float32Array(channels) : queue.shift()!.values;
        const [mean, variance] = queue;
        if (!mean || !variance) unsupported(`BatchNormalization ${name} lacks moving statistics`);
        current = graph.node(
          'BatchNormalization',
          `${name}/batchnorm`,
          [
            current,
            graph.floatTensor(`${name}/gamma`, [channels], gamma),
            graph.floatTensor(`${name}/beta`, [channels], beta),
            graph.floatTensor(`${name}/moving_mean`, [channels], mean.values),
            graph.floatTensor(`${name}/moving_variance`, [channels], variance.values),
          ],
          [float('epsilon', config.epsilon ?? 1e-3)],
        );
        return;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        toNchw();
        const size = pair(config.poolSize, 2);
        const strides = pair(config.strides ?? config.poolSize, 2);
        const [, ih, iw] = inputShapeOf(layer) as number[];
        let pads = [0, 0, 0, 0];
        if (config.padding === 'same') {
          const [top, bottom] = samePads(ih, size[0], strides[0], 1);
          const [left, right] = samePads(iw, size[1], strides[1], 1);
          pads = [top, left, bottom, right];
        }
        const attributes = [ints('kernel_shape', size), ints('strides', strides), ints('pads', pads)];
        if (kind === 'AveragePooling2D') attributes.push(int('count_include_pad', 0));
        current = graph.node(kind === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool', `${name}/pool`, [current], attributes);
        return;
      }
      case 'Activation':
      case 'ReLU': {
        current = activation(graph, kind === 'ReLU' ? 'relu' : config.activation, name, current);
        return;
      }
      default:
        unsupported(`layer ${name} of type ${kind} has no ONNX mapping`);
    }
  });

  if ((layout as Layout) !== 'flat') unsupported('the model output is not a [batch, classes] tensor');
  // Name the final tensor `probabilities` (an Identity keeps every producer's output unique).
  graph.node('Identity', 'output', [current], [], ONNX_OUTPUT);

  const outputShape = shapeOf(model.outputs[0]!.shape);
  const valueInfo = (name: string, dims: (number | null)[]): ValueInfoMessage => ({
    name,
    type: {
      tensor_type: {
        elem_type: DataType.FLOAT,
        shape: { dim: dims.map((d, i) => (i === 0 || d === null ? { dim_param: 'batch' } : { dim_value: d })) },
      },
    },
  });
  const message: ModelMessage = {
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    producer_name: 'kiln',
    producer_version: options.producerVersion ?? '0',
    doc_string: options.docString ?? '',
    model_version: 1,
    graph: {
      name: options.name ?? model.name,
      node: graph.nodes,
      initializer: graph.initializers,
      input: [valueInfo(ONNX_INPUT, inputShape)],
      output: [valueInfo(ONNX_OUTPUT, outputShape)],
    },
    metadata_props: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
  };
  return encodeModel(message);
}
