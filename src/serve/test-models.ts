/**
 * serve/test-models — for tests: untrained models of any input shape and class list, saved the way
 * training saves one (tfjs files, model.onnx and a kiln-model.json with inputShape [H, W, C], class
 * names and preprocessing), and seeded pixels to feed them.
 */
import { Random } from '../common/random.js';
import { tf } from '../engine/index.js';
import { buildModel, countParameters, type InputSpec } from '../models/build.js';
import { type KilnModelMetadata, type Preprocessing, saveModelFolder } from '../models/saved-model.js';
import { type ModelSpec, specToParams } from '../models/spec.js';

export const RGB_CLASSES = ['cat', 'dog', 'fox'];
export const GRAY_CLASSES = ['circle', 'square', 'triangle', 'star'];
export const RGB_PRE: Preprocessing = { colorMode: 'rgb', size: [32, 32], scale: 1 / 255, mean: 0.45, std: 0.25, invert: false, mode: 'auto' };
export const GRAY_PRE: Preprocessing = { colorMode: 'grayscale', size: [20, 24], scale: 1 / 255, mean: 0.3, std: 0.3, invert: false, mode: 'dataset' };
export const RGB_CNN: ModelSpec = { kind: 'cnn', convChannels: [4, 8], kernelSize: 3, pool: 'max', batchNorm: true, convDropout: 0, denseUnits: [16], dropout: 0.1 };
export const GRAY_MLP: ModelSpec = { kind: 'mlp', hiddenUnits: [16], dropout: 0.1 };

export interface Built {
  folder: string;
  model: tf.LayersModel;
  pre: Preprocessing;
  input: InputSpec;
}

/** An untrained model for `input`, saved the way training saves one (kiln-model.json with inputShape [H, W, C], class names, preprocessing). */
export async function buildAndSave(folder: string, name: string, spec: ModelSpec, input: InputSpec, classNames: string[], pre: Preprocessing): Promise<Built> {
  const model = buildModel(spec, input, new Random(input.height * 100 + input.channels));
  const metadata: KilnModelMetadata = {
    format: 'kiln-model',
    formatVersion: 1,
    name,
    framework: 'tfjs-layers',
    inputShape: [input.height, input.width, input.channels],
    classNames,
    preprocessing: pre,
    spec,
    hyperparameters: specToParams(spec),
    metrics: {},
    dataset: { name, sha256: {} },
    engine: { backend: tf.getBackend() },
    versions: { tfjs: tf.version.tfjs },
    parameters: countParameters(model),
    createdAt: new Date(0).toISOString(),
  };
  await saveModelFolder(model, metadata, folder);
  return { folder, model, pre, input };
}

/** Seeded pixels with some structure (gradients plus noise), `channels` per pixel. */
export function pixelsOf(width: number, height: number, channels: number, seed: number): Buffer {
  const rng = new Random(seed);
  return Buffer.from(Array.from({ length: width * height * channels }, (_, i) => {
    const x = Math.floor(i / channels) % width;
    const y = Math.floor(i / channels / width);
    return Math.min(255, Math.floor(((x * 7 + y * 3 + (i % channels) * 60) % 200) + rng.float() * 55));
  }));
}
