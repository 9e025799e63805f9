/**
 * tracking/dataset-json — what a Kiln dataset input's `source`, `schema` and `profile` strings
 * hold, shared by the client that writes them (client/dataset-input) and the web UI that reads
 * them. Free of Node modules so the browser build can import it.
 *
 * Inputs logged by other tools (MLflow's own clients, older Kiln runs) carry other JSON or none;
 * `readDataset` then returns only what it could read, never throws.
 */
import type { Dataset } from './store/types.js';

export type DatasetSplit = 'train' | 'validation' | 'test';
export const DATASET_SPLITS: readonly DatasetSplit[] = ['train', 'validation', 'test'];

/** The `schema` field: MLflow's tensor spec, plus the image shape and the class names. */
export interface DatasetSchemaJson {
  mlflow_tensorspec: { features: string; targets: string | null };
  image: { height: number; width: number; channels: number; color: string };
  class_names: string[];
}

/** The `profile` field. */
export interface DatasetProfileJson {
  /** The full sha256 (the input's digest is its first characters). */
  digest: string;
  /** Kiln's kind of source: builtin, folder, manifest, idx. */
  source_type: string;
  num_items: number;
  splits: Partial<Record<DatasetSplit, { num_items: number; per_class: number[] }>>;
  /** For sources made of a few files: file → sha256. */
  files?: Record<string, string>;
}

/** A run's `dataset/profile.json` artifact: the identity, and the sample images logged beside it. */
export interface DatasetProfileFile {
  name: string;
  digest: string;
  source: string;
  source_type: string;
  schema: DatasetSchemaJson;
  profile: DatasetProfileJson;
  /** `files`: paths below `dataset/`, `samples/<label>_<class>/<n>.png`, in class then sample order. */
  samples: { per_class: number; files: string[] };
}

/** A dataset input as the UI shows it; absent parts were not (readably) logged. */
export interface ReadDataset {
  name: string;
  digest: string;
  /** The source's URI or path when it is MLflow's `{"uri": ...}` form, else the raw string. */
  source: string;
  sourceType: string;
  schema?: DatasetSchemaJson;
  profile?: DatasetProfileJson;
}

function parse(text: string | undefined): unknown {
  if (text === undefined || text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function readSchema(value: unknown): DatasetSchemaJson | undefined {
  if (!isObject(value) || !isObject(value.image) || !Array.isArray(value.class_names)) return undefined;
  const { height, width, channels } = value.image;
  if (typeof height !== 'number' || typeof width !== 'number' || typeof channels !== 'number') return undefined;
  return value as unknown as DatasetSchemaJson;
}

function readProfile(value: unknown): DatasetProfileJson | undefined {
  if (!isObject(value) || !isObject(value.splits)) return undefined;
  for (const split of Object.values(value.splits)) if (!isObject(split) || !Array.isArray(split.per_class)) return undefined;
  return value as unknown as DatasetProfileJson;
}

export function readDataset(dataset: Dataset): ReadDataset {
  const source = parse(dataset.source);
  return {
    name: dataset.name,
    digest: dataset.digest,
    source: isObject(source) && typeof source.uri === 'string' ? source.uri : dataset.source,
    sourceType: dataset.source_type,
    schema: readSchema(parse(dataset.schema)),
    profile: readProfile(parse(dataset.profile)),
  };
}
