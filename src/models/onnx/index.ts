/**
 * models/onnx — ONNX export of Kiln models (see export.ts) and the `model.onnx` file of a model
 * folder, which the serving engine prefers to the tfjs model when present.
 */
import { access, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadModelFolder } from '../saved-model.js';
import { exportOnnx, folderExportOptions, ONNX_FILE } from './export.js';

export * from './export.js';
export { decodeModel, encodeModel, modelProtoType, ONNX_SUBSET_PROTO } from './proto.js';

/** Exports the tfjs model of `folder` to `<folder>/model.onnx` (atomically) and returns its path. */
export async function writeOnnxForFolder(folder: string): Promise<string> {
  const { model, metadata } = await loadModelFolder(folder);
  try {
    const bytes = exportOnnx(model, folderExportOptions(metadata));
    const path = join(folder, ONNX_FILE);
    const staging = `${path}.tmp-${process.pid}`;
    await writeFile(staging, bytes);
    await rename(staging, path);
    return path;
  } finally {
    model.dispose();
  }
}

/** True when the folder already holds a model.onnx. */
export async function hasOnnx(folder: string): Promise<boolean> {
  try {
    await access(join(folder, ONNX_FILE));
    return true;
  } catch {
    return false;
  }
}
