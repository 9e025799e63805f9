/**
 * serve/model — a model ready to serve: its metadata, its engine and its micro-batcher.
 *
 * `loadServedModel(folder)` prefers ONNX Runtime: `model.onnx` when the folder has one, else the
 * tfjs model exported to ONNX in memory; it falls back to tfjs when asked (`engine: 'tfjs'`) or
 * when the export fails. A folder may hold only `model.onnx` + `kiln-model.json` (a model made
 * elsewhere, e.g. exported from PyTorch): kiln-model.json then states `inputShape` (the ONNX
 * input without its batch dimension), `classNames`, `preprocessing` and, optionally,
 * `"output": "logits"` when the model ends without a softmax.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { type KilnModelMetadata, ONNX_FILE, type PreprocessMode, readModelMetadata, TOPOLOGY_FILE } from '../models/metadata.js';
import { KilnError } from '../common/errors.js';
import { MicroBatcher, type BatcherOptions } from './batcher.js';
import { describeInput, type InputGeometry, inputGeometry } from './input-shape.js';
import { OnnxPredictor, type Predictor, TfjsPredictor } from './predictor.js';

export interface ServedModel {
  name: string;
  version: string;
  source: string;
  metadata: KilnModelMetadata;
  /** The input clients send: size, channels, colour (serve/input-shape). */
  input: InputGeometry;
  predictor: Predictor;
  batcher: MicroBatcher;
  loadedAt: Date;
}

export interface LoadOptions extends BatcherOptions {
  engine?: 'auto' | 'onnx' | 'tfjs';
  threads?: number;
  /** Replaces kiln-model.json's preprocessing.mode (`kiln serve --preprocess`); requests' `?preprocess=` still win. */
  preprocess?: PreprocessMode;
  /** Registry version (default 'local'). */
  version?: string;
  source?: string;
  log?: (message: string) => void;
}

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

export async function loadServedModel(folder: string, options: LoadOptions = {}): Promise<ServedModel> {
  const metadata = await readModelMetadata(folder);
  if (options.preprocess) metadata.preprocessing.mode = options.preprocess;
  const input = checkedInput(metadata);
  const engine = options.engine ?? 'auto';
  const log = options.log ?? (() => {});
  const onnxOptions = {
    threads: options.threads,
    inputShape: metadata.inputShape,
    classes: metadata.classNames.length,
    softmax: metadata.output === 'logits',
  };
  let predictor: Predictor | null = null;
  if (engine !== 'tfjs') {
    if (await exists(join(folder, ONNX_FILE))) {
      predictor = await OnnxPredictor.create(join(folder, ONNX_FILE), onnxOptions);
    } else if (await exists(join(folder, TOPOLOGY_FILE))) {
      // A folder saved before model.onnx was written at save time: export it now (loads tfjs).
      const [{ initEngine }, { loadModelFolder }, { exportOnnx }] = await Promise.all([
        import('../engine/index.js'),
        import('../models/saved-model.js'),
        import('../models/onnx/export.js'),
      ]);
      await initEngine({ quiet: true });
      const { model } = await loadModelFolder(folder);
      try {
        predictor = await OnnxPredictor.create(exportOnnx(model, { name: metadata.name }), onnxOptions);
      } catch (error) {
        if (engine === 'onnx') throw error;
        log(`ONNX export failed (${error instanceof Error ? error.message : String(error)}); serving with tfjs`);
      } finally {
        model.dispose();
      }
    } else if (engine === 'onnx') {
      throw new Error(`${folder} has neither ${ONNX_FILE} nor ${TOPOLOGY_FILE}`);
    }
  }
  predictor ??= await TfjsPredictor.fromFolder(folder);
  if (predictor.inputSize !== input.size) {
    await predictor.dispose();
    throw new KilnError('KILN_ERR_MODEL_FORMAT', `kiln-model.json: ${describeInput(input)} preprocessing gives ${input.size} values, but the model takes ${predictor.inputSize}`);
  }
  if (predictor.classes !== metadata.classNames.length) {
    await predictor.dispose();
    throw new KilnError('KILN_ERR_MODEL_FORMAT', `the model answers ${predictor.classes} classes but kiln-model.json names ${metadata.classNames.length}`);
  }
  const batcher = new MicroBatcher(predictor, options);
  return { name: metadata.name, version: options.version ?? 'local', source: options.source ?? folder, metadata, input, predictor, batcher, loadedAt: new Date() };
}

/**
 * The model's input, checked before any engine loads: preprocessing and inputShape must agree, and
 * the photo conversion (grayscale by nature) cannot be an RGB model's preprocessing mode.
 */
function checkedInput(metadata: KilnModelMetadata): InputGeometry {
  let input: InputGeometry;
  try {
    input = inputGeometry(metadata);
  } catch (error) {
    throw new KilnError('KILN_ERR_MODEL_FORMAT', error instanceof Error ? error.message : String(error));
  }
  if (input.color === 'rgb' && metadata.preprocessing.mode === 'photo') {
    throw new KilnError(
      'KILN_ERR_PREPROCESS_MODE',
      `${metadata.name} takes ${describeInput(input)} images, but its preprocessing mode is 'photo', the grayscale Fashion-MNIST conversion of product photos: serve it with --preprocess dataset (or auto)`,
    );
  }
  return input;
}

/** Waits for in-flight work of a retired model, then frees it. */
export async function retireModel(model: ServedModel): Promise<void> {
  await model.batcher.drain();
  await model.predictor.dispose();
}
