/**
 * models/metadata — `kiln-model.json`, the part of a model folder that a server reads without
 * loading tfjs: input shape, class names, preprocessing and provenance. Kept free of tfjs so
 * that serving an ONNX model never pays for the training engine.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KilnError } from '../common/errors.js';
import type { DatasetIdentity } from '../data/labelled.js';
import type { ModelSpec } from './spec.js';

export const METADATA_FILE = 'kiln-model.json';
export const TOPOLOGY_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';
/** The same model as an ONNX graph (models/onnx), for ONNX Runtime. */
export const ONNX_FILE = 'model.onnx';

export interface Preprocessing {
  /** 'grayscale': one channel (luma); 'rgb': three sRGB channels, HWC. Absent in no file Kiln writes. */
  colorMode: 'grayscale' | 'rgb';
  /** Resize target as [height, width]. */
  size: [number, number];
  /** x' = (x * scale - mean) / std, with x the 0–255 pixel value. */
  scale: number;
  mean: number;
  std: number;
  /** Fashion-MNIST is white-on-black; photos usually need inverting. */
  invert: boolean;
  /**
   * How an uploaded image becomes model input (serve/preprocess): 'dataset' decodes it as it
   * is (gray, resized, `invert` applied); 'photo' runs Fashion-MNIST's own conversion of product
   * photos (trim, fit, sharpen, negate); 'auto' picks one per image. Absent means 'dataset', the
   * behaviour of models saved before the photo path existed.
   */
  mode?: PreprocessMode;
}

export const PREPROCESS_MODES = ['auto', 'dataset', 'photo'] as const;
export type PreprocessMode = (typeof PREPROCESS_MODES)[number];

export interface KilnModelMetadata {
  format: 'kiln-model';
  formatVersion: 1;
  name: string;
  /** 'tfjs-layers' for Kiln's own models; 'onnx' for a model.onnx made elsewhere (e.g. PyTorch). */
  framework: 'tfjs-layers' | 'onnx';
  /**
   * The model input without its batch dimension: NHWC [H, W, C] for Kiln's models; for a model
   * made elsewhere, whatever its ONNX input is (e.g. [1, 28, 28] for a PyTorch NCHW model).
   */
  inputShape: number[];
  /** What the graph's output holds (default 'probabilities'); 'logits' makes the server apply a softmax. */
  output?: 'probabilities' | 'logits';
  classNames: string[];
  preprocessing: Preprocessing;
  spec: ModelSpec;
  hyperparameters: Record<string, string | number | boolean>;
  metrics: Record<string, number>;
  dataset: ModelDataset;
  engine: Record<string, string | number | boolean | null>;
  versions: Record<string, string>;
  parameters: number;
  createdAt: string;
}

/**
 * The data a model was trained on. `name` and `sha256` are in every file; the rest (the
 * dataset's identity: digest, source, schema, item counts per split and class) is absent from
 * files written before a model could train on a user's own images.
 */
export type ModelDataset = { name: string; sha256: Record<string, string> } & Partial<Pick<DatasetIdentity, 'digest' | 'source' | 'sourceType' | 'schema' | 'counts'>>;

export async function readModelMetadata(folder: string): Promise<KilnModelMetadata> {
  const path = join(folder, METADATA_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new KilnError('KILN_ERR_MODEL_NOT_FOUND', `no Kiln model at ${folder}: ${path} is missing (train one with \`kiln train --out ${folder}\`)`, { cause: error });
  }
  let metadata: KilnModelMetadata;
  try {
    metadata = JSON.parse(text) as KilnModelMetadata;
  } catch (error) {
    throw new KilnError('KILN_ERR_MODEL_FORMAT', `${path} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const invalid = (message: string): KilnError => new KilnError('KILN_ERR_MODEL_FORMAT', `${path}: ${message}`);
  if (metadata === null || typeof metadata !== 'object' || metadata.format !== 'kiln-model') {
    throw invalid(`not a kiln-model file (format: ${String((metadata as { format?: unknown } | null)?.format)})`);
  }
  // What a server needs, checked here so that a hand-written file fails with the field named.
  const { inputShape, classNames, preprocessing: pre, output } = metadata;
  if (!Array.isArray(inputShape) || inputShape.length === 0 || !inputShape.every((d) => Number.isInteger(d) && d > 0)) {
    throw invalid(`"inputShape" must be the input's dimensions without the batch, e.g. [28, 28, 1], got ${JSON.stringify(inputShape)}`);
  }
  if (!Array.isArray(classNames) || classNames.length < 2 || !classNames.every((c) => typeof c === 'string')) {
    throw invalid(`"classNames" must list the class names in output order, got ${JSON.stringify(classNames)}`);
  }
  const finite = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);
  if (
    !pre ||
    !Array.isArray(pre.size) ||
    pre.size.length !== 2 ||
    !pre.size.every((d) => Number.isInteger(d) && d > 0) ||
    !finite(pre.scale) ||
    !finite(pre.mean) ||
    !finite(pre.std) ||
    pre.std === 0 ||
    typeof pre.invert !== 'boolean' ||
    (pre.colorMode !== 'grayscale' && pre.colorMode !== 'rgb')
  ) {
    throw invalid(`"preprocessing" must be {colorMode: "grayscale" | "rgb", size: [H, W], scale, mean, std (≠ 0), invert}, got ${JSON.stringify(pre)}`);
  }
  if (pre.mode !== undefined && !(PREPROCESS_MODES as readonly string[]).includes(pre.mode)) {
    throw invalid(`"preprocessing.mode" must be one of ${PREPROCESS_MODES.join(', ')}, got ${JSON.stringify(pre.mode)}`);
  }
  if (output !== undefined && output !== 'probabilities' && output !== 'logits') throw invalid(`"output" must be "probabilities" or "logits", got ${JSON.stringify(output)}`);
  return metadata;
}
