/**
 * models/saved-model — the on-disk model folder, Kiln's unit of exchange between training,
 * the registry and serving.
 *
 * A folder holds `model.json` + `weights.bin` (the standard tfjs layers-model format, so
 * tfjs-node's `file://` loader reads it too), `model.onnx` (the same model for ONNX Runtime,
 * when every layer exports) and `kiln-model.json` (models/metadata), which says everything a
 * server needs without loading tfjs.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { exportOnnx, folderExportOptions, type LayerWeights, readLayerWeights } from './onnx/export.js';
import { type KilnModelMetadata, METADATA_FILE, ONNX_FILE, readModelMetadata, TOPOLOGY_FILE, WEIGHTS_FILE } from './metadata.js';

export * from './metadata.js';

/**
 * The ONNX graph of the model, written beside the tfjs files so that a server loads ONNX Runtime
 * alone (no tfjs, a fraction of the memory). A layer the exporter does not know leaves it out:
 * the server then serves the tfjs model instead.
 */
function tryExportOnnx(model: tf.LayersModel, metadata: KilnModelMetadata, weights: LayerWeights): Uint8Array | null {
  try {
    return exportOnnx(model, { ...folderExportOptions(metadata), weights });
  } catch {
    return null;
  }
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
    const onnx = tryExportOnnx(model, metadata, await readLayerWeights(model));
    if (onnx) await writeFile(join(staging, ONNX_FILE), onnx);
    await writeFile(join(staging, METADATA_FILE), `${JSON.stringify(metadata, null, 2)}\n`);
    await rm(folder, { recursive: true, force: true });
    await rename(staging, folder);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
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
