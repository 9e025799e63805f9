/**
 * models/metadata — `kiln-model.json`, the part of a model folder that a server reads without
 * loading tfjs: input shape, class names, preprocessing and provenance. Kept free of tfjs so
 * that serving an ONNX model never pays for the training engine.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KilnError } from '../common/errors.js';
import type { ModelSpec } from './spec.js';

export const METADATA_FILE = 'kiln-model.json';
export const TOPOLOGY_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';
/** The same model as an ONNX graph (models/onnx), for ONNX Runtime. */
export const ONNX_FILE = 'model.onnx';

export interface Preprocessing {
  /** Images are converted to single-channel grayscale before scaling. */
  colorMode: 'grayscale';
  /** Resize target as [height, width]. */
  size: [number, number];
  /** x' = (x * scale - mean) / std, with x the 0–255 pixel value. */
  scale: number;
  mean: number;
  std: number;
  /** Fashion-MNIST is white-on-black; photos usually need inverting. */
  invert: boolean;
}

export interface KilnModelMetadata {
  format: 'kiln-model';
  formatVersion: 1;
  name: string;
  framework: 'tfjs-layers';
  /** NHWC input shape without the batch dimension. */
  inputShape: [number, number, number];
  classNames: string[];
  preprocessing: Preprocessing;
  spec: ModelSpec;
  hyperparameters: Record<string, string | number | boolean>;
  metrics: Record<string, number>;
  dataset: { name: string; sha256: Record<string, string> };
  engine: Record<string, string | number | boolean | null>;
  versions: Record<string, string>;
  parameters: number;
  createdAt: string;
}

export async function readModelMetadata(folder: string): Promise<KilnModelMetadata> {
  const path = join(folder, METADATA_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new KilnError('KILN_ERR_MODEL_NOT_FOUND', `no Kiln model at ${folder}: ${path} is missing (train one with \`kiln train --out ${folder}\`)`, { cause: error });
  }
  const metadata = JSON.parse(text) as KilnModelMetadata;
  if (metadata.format !== 'kiln-model') {
    throw new KilnError('KILN_ERR_MODEL_FORMAT', `${path} is not a kiln-model file (format: ${String(metadata.format)})`);
  }
  return metadata;
}
