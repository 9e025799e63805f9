/**
 * models/saved-model — the on-disk model folder, Kiln's unit of exchange between training,
 * the registry and serving.
 *
 * A folder holds `model.json` + `weights.bin` (the standard tfjs layers-model format, so
 * tfjs-node's `file://` loader reads it too) and `kiln-model.json`, which says everything a
 * server needs without loading tfjs: input shape, class names, preprocessing, and the
 * provenance (hyperparameters, metrics, dataset digest, engine and versions).
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { KilnError } from '../common/errors.js';
import type { ModelSpec } from './spec.js';

export const METADATA_FILE = 'kiln-model.json';
export const TOPOLOGY_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';

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

/** Writes the model folder atomically: a sibling temp folder is renamed into place. */
export async function saveModelFolder(model: tf.LayersModel, metadata: KilnModelMetadata, folder: string): Promise<void> {
  const staging = `${folder}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(staging, { recursive: true });
  try {
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        const weightData = artifacts.weightData;
        const bytes = weightData instanceof ArrayBuffer ? new Uint8Array(weightData) : Buffer.concat((weightData ?? []).map((b) => new Uint8Array(b)));
        const topology = {
          format: 'layers-model',
          generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
          convertedBy: null,
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
        };
        await writeFile(join(staging, TOPOLOGY_FILE), JSON.stringify(topology));
        await writeFile(join(staging, WEIGHTS_FILE), bytes);
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    await writeFile(join(staging, METADATA_FILE), `${JSON.stringify(metadata, null, 2)}\n`);
    await rm(folder, { recursive: true, force: true });
    await rename(staging, folder);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
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

/** Loads a model folder written by saveModelFolder. */
export async function loadModelFolder(folder: string): Promise<{ model: tf.LayersModel; metadata: KilnModelMetadata }> {
  const metadata = await readModelMetadata(folder);
  const topology = JSON.parse(await readFile(join(folder, TOPOLOGY_FILE), 'utf8')) as {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  };
  const weightSpecs = topology.weightsManifest.flatMap((group) => group.weights);
  const buffers = await Promise.all(topology.weightsManifest.flatMap((group) => group.paths).map((file) => readFile(join(folder, file))));
  const joined = Buffer.concat(buffers);
  const weightData = joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength);
  const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: topology.modelTopology, weightSpecs, weightData }));
  return { model, metadata };
}
