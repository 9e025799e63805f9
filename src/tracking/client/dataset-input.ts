/**
 * tracking/client/dataset-input — a dataset's identity as an MLflow dataset input, the way
 * `mlflow.log_input(mlflow.data.from_numpy(...))` writes one: a short digest, a source type and
 * a JSON source (`{"uri": ...}` as MLflow's local sources write it), a JSON schema in MLflow's
 * tensor-spec form (`{"mlflow_tensorspec": {"features": "[...]", "targets": "[...]"}}`) and a
 * JSON profile; input tags give the context ('training') and the split sizes.
 *
 * Kiln adds what MLflow's NumPy datasets do not carry and its UI shows: the image size, colour
 * and class names beside the tensor spec, and the items per class of every split (and the full
 * sha256 digest) in the profile. MLflow's own readers ignore keys they do not know, so an MLflow
 * client still parses the schema (TensorDatasetSchema.from_dict) and source.
 */
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import type { DatasetIdentity } from '../../data/labelled.js';
import { DATASET_SPLITS, type DatasetProfileJson, type DatasetSchemaJson } from '../dataset-json.js';
import type { DatasetInput } from '../store/types.js';

export type { DatasetProfileJson, DatasetSchemaJson } from '../dataset-json.js';

/** MLflow keeps 8 hex characters; 16 keep the per-experiment dedupe (name + digest) safe from collisions. */
export const SHORT_DIGEST_LENGTH = 16;
export const DATA_CONTEXT_TAG = 'mlflow.data.context';
/** Input tag prefix of the split sizes: `kiln.data.train` = '60000'. */
export const SPLIT_TAG_PREFIX = 'kiln.data.';

function tensorSpec(dtype: string, shape: number[]): string {
  return JSON.stringify([{ type: 'tensor', 'tensor-spec': { dtype, shape } }]);
}

/** The directory every file was read from, when there is one. */
function commonDirectory(paths: string[]): string | undefined {
  const dirs = new Set(paths.map((p) => dirname(p)));
  return dirs.size === 1 ? [...dirs][0] : undefined;
}

export function datasetSchemaJson(identity: DatasetIdentity): DatasetSchemaJson {
  const { height, width, channels, color, classNames } = identity.schema;
  return {
    // What training feeds the model: normalized float32 HWC images, and a class index per image.
    mlflow_tensorspec: { features: tensorSpec('float32', [-1, height, width, channels]), targets: tensorSpec('uint8', [-1]) },
    image: { height, width, channels, color },
    class_names: [...classNames],
  };
}

export function datasetProfileJson(identity: DatasetIdentity, files?: { sha256: Record<string, string> }): DatasetProfileJson {
  const splits: DatasetProfileJson['splits'] = {};
  let total = 0;
  for (const split of DATASET_SPLITS) {
    const perClass = identity.counts[split];
    if (!perClass) continue;
    const n = perClass.reduce((a, b) => a + b, 0);
    splits[split] = { num_items: n, per_class: [...perClass] };
    total += n;
  }
  return {
    digest: identity.digest,
    source_type: identity.sourceType,
    num_items: total,
    splits,
    ...(files && Object.keys(files.sha256).length > 0 ? { files: { ...files.sha256 } } : {}),
  };
}

/**
 * The dataset input of a run training on `identity`. `files`: the few files a builtin dataset
 * was read from (its source becomes their folder, their sha256 go into the profile).
 */
export function datasetInput(identity: DatasetIdentity, files?: { sha256: Record<string, string>; sources: Record<string, string> }): DatasetInput {
  const uri = (files && commonDirectory(Object.values(files.sources))) ?? identity.source;
  const profile = datasetProfileJson(identity, files);
  const tags = [{ key: DATA_CONTEXT_TAG, value: 'training' }];
  for (const [split, counts] of Object.entries(profile.splits)) tags.push({ key: `${SPLIT_TAG_PREFIX}${split}`, value: String(counts.num_items) });
  return {
    tags,
    dataset: {
      name: identity.name,
      digest: identity.digest.slice(0, SHORT_DIGEST_LENGTH),
      source_type: 'local',
      source: JSON.stringify({ uri }),
      schema: JSON.stringify(datasetSchemaJson(identity)),
      profile: JSON.stringify(profile),
    },
  };
}

/** MLflow-style dataset digest: a short hash over the files' own digests. */
export function datasetDigest(sha256: Record<string, string>): string {
  const hash = createHash('sha256');
  for (const file of Object.keys(sha256).sort()) hash.update(`${file}:${sha256[file]}\n`);
  return hash.digest('hex').slice(0, 16);
}

/** The input older callers logged: the files' digests, their paths as the source. */
export function legacyDatasetInput(spec: { name: string; sha256: Record<string, string>; sources: Record<string, string> }): DatasetInput {
  return {
    tags: [{ key: DATA_CONTEXT_TAG, value: 'training' }],
    dataset: {
      name: spec.name,
      digest: datasetDigest(spec.sha256),
      source_type: 'local',
      source: JSON.stringify(spec.sources),
      profile: JSON.stringify({ sha256: spec.sha256 }),
    },
  };
}
