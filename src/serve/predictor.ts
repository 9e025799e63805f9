/**
 * serve/predictor — the inference engines behind the API. A Predictor takes a batch of
 * preprocessed images (float32, NHWC [n, H, W, C] flattened) and returns the class
 * probabilities [n, classes] flattened.
 *
 *  - OnnxPredictor: ONNX Runtime (onnxruntime-node, CPU), one intra-op thread by default: on a
 *    small machine parallelism comes from serving many requests, not from splitting one matmul.
 *  - TfjsPredictor: the tfjs model on Kiln's engine (wasm backend), the fallback. tfjs is
 *    imported only when this fallback is used, so an ONNX-served process never loads it.
 */
import { readFile } from 'node:fs/promises';
import type * as ort from 'onnxruntime-node';
import type * as tf from '@tensorflow/tfjs';

export type EngineName = 'onnxruntime' | 'tfjs';

export interface Predictor {
  readonly engine: EngineName;
  /** Values per example (H * W * C). */
  readonly inputSize: number;
  readonly classes: number;
  predict(batch: Float32Array, n: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

export interface OnnxOptions {
  /** Intra-op threads (default 1). */
  threads?: number;
  /** Per-example input shape fed to the model (kiln-model.json inputShape: NHWC [H, W, C] for Kiln's models). */
  inputShape: readonly number[];
  classes: number;
  /** Apply softmax to the output (for models that end in logits). */
  softmax?: boolean;
}

function softmaxRows(values: Float32Array, classes: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let row = 0; row < values.length; row += classes) {
    let max = -Infinity;
    for (let j = 0; j < classes; j++) max = Math.max(max, values[row + j]!);
    let sum = 0;
    for (let j = 0; j < classes; j++) sum += out[row + j] = Math.exp(values[row + j]! - max);
    for (let j = 0; j < classes; j++) out[row + j]! /= sum;
  }
  return out;
}

export class OnnxPredictor implements Predictor {
  readonly engine = 'onnxruntime' as const;
  readonly inputSize: number;
  readonly classes: number;
  private readonly inputName: string;
  private readonly outputName: string;

  private constructor(
    private readonly runtime: typeof ort,
    private readonly session: ort.InferenceSession,
    private readonly options: OnnxOptions,
  ) {
    this.inputSize = options.inputShape.reduce((a, b) => a * b, 1);
    this.classes = options.classes;
    this.inputName = session.inputNames[0]!;
    this.outputName = session.outputNames[0]!;
  }

  /** `model` is a path to a .onnx file or its bytes. */
  static async create(model: string | Uint8Array, options: OnnxOptions): Promise<OnnxPredictor> {
    const bytes = typeof model === 'string' ? await readFile(model) : model;
    const runtime = await import('onnxruntime-node');
    const session = await runtime.InferenceSession.create(bytes, {
      intraOpNumThreads: options.threads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // Kiln's models are small: the arena's preallocated blocks cost more memory than they save time.
      enableCpuMemArena: false,
    });
    return new OnnxPredictor(runtime, session, options);
  }

  async predict(batch: Float32Array, n: number): Promise<Float32Array> {
    const input = new this.runtime.Tensor('float32', batch.length === n * this.inputSize ? batch : batch.subarray(0, n * this.inputSize), [n, ...this.options.inputShape]);
    const result = await this.session.run({ [this.inputName]: input });
    const output = result[this.outputName]!;
    const data = output.data as Float32Array;
    output.dispose();
    if (data.length !== n * this.classes) throw new Error(`the ONNX model answered ${data.length} values for ${n} x ${this.classes} classes`);
    return this.options.softmax ? softmaxRows(data, this.classes) : data;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

export class TfjsPredictor implements Predictor {
  readonly engine = 'tfjs' as const;
  readonly inputSize: number;
  readonly classes: number;

  private constructor(
    private readonly tfjs: typeof tf,
    private readonly model: tf.LayersModel,
    private readonly inputShape: readonly number[],
  ) {
    this.inputSize = inputShape.reduce((a, b) => a * b, 1);
    this.classes = (model.outputs[0]!.shape[1] as number) ?? 10;
  }

  static async fromFolder(folder: string): Promise<TfjsPredictor> {
    const [{ initEngine, tf: tfjs }, { loadModelFolder }] = await Promise.all([import('../engine/index.js'), import('../models/saved-model.js')]);
    await initEngine({ quiet: true });
    const { model, metadata } = await loadModelFolder(folder);
    return new TfjsPredictor(tfjs, model, metadata.inputShape);
  }

  async predict(batch: Float32Array, n: number): Promise<Float32Array> {
    const tfjs = this.tfjs;
    const output = tfjs.tidy(() => this.model.predict(tfjs.tensor(batch.subarray(0, n * this.inputSize), [n, ...this.inputShape])) as tf.Tensor);
    try {
      return (await output.data()) as Float32Array;
    } finally {
      output.dispose();
    }
  }

  async dispose(): Promise<void> {
    this.model.dispose();
  }
}
