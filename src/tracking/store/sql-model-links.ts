/**
 * tracking/store/sql-model-links — where MLflow 3's logged models meet the other entities: the
 * models a run produced (run outputs), the metric values a run logs against a model
 * (`model_id` on log-batch / log-metric), and the check that a referenced model exists.
 *
 * Kept apart from sql-logged-models so that runs and the registry can write and read these
 * links without depending on the logged-model store itself (which depends on runs).
 */
import type { SqlExecutor } from '../../db/driver.js';
import { invalid, notFound, type TrackingError } from './errors.js';
import { chunks, marks } from './sql-common.js';
import type { Metric, ModelOutput } from './types.js';

/** MLflow's logged model ids: `m-` and a uuid4 without dashes. */
export const MODEL_ID_PATTERN = /^m-[0-9a-f]{32}$/;

/** A `models:/m-…` URI (what MLflow 3 registers) names its logged model. */
const MODEL_URI = /^models:\/(m-[0-9a-f]{32})(?:\/|$)/;

export function modelNotFound(modelId: string): TrackingError {
  return notFound(`Logged model with ID '${modelId}' not found.`);
}

/** The logged model a `models:/m-…` source names, or undefined for any other source. */
export function modelIdOfSource(source: string): string | undefined {
  return MODEL_URI.exec(source)?.[1];
}

/**
 * Where a `models:/m-…[/path]` source's files are: the logged model's artifact location (and
 * the path below it), as MLflow resolves a version's download URI; undefined for other sources
 * or a model that is gone.
 */
export async function modelSourceLocation(ex: SqlExecutor, source: string): Promise<string | undefined> {
  const match = MODEL_URI.exec(source);
  if (match === null) return undefined;
  const row = await ex.get<{ artifact_location: string }>('SELECT artifact_location FROM logged_models WHERE model_id = ?', [match[1]]);
  if (row === undefined) return undefined;
  const below = source.slice(match[0].length).replace(/^\/+|\/+$/g, '');
  return below === '' ? row.artifact_location : `${row.artifact_location}/${below}`;
}

/** RESOURCE_DOES_NOT_EXIST naming the first of `modelIds` that is absent or deleted. */
export async function requireLoggedModels(ex: SqlExecutor, modelIds: readonly string[]): Promise<void> {
  const wanted = [...new Set(modelIds)];
  const found = new Set<string>();
  for (const part of chunks(wanted)) {
    for (const r of await ex.all<{ model_id: string }>(
      `SELECT model_id FROM logged_models WHERE lifecycle_stage = 'active' AND model_id IN (${marks(part.length)})`,
      part,
    )) {
      found.add(r.model_id);
    }
  }
  const missing = wanted.find((id) => !found.has(id));
  if (missing !== undefined) throw modelNotFound(missing);
}

/** Records `outputs` as produced by the run; a repeated (model, step) is kept once. */
export async function linkOutputs(ex: SqlExecutor, runId: string, outputs: readonly ModelOutput[]): Promise<void> {
  for (const o of outputs) {
    if (typeof o?.model_id !== 'string' || o.model_id === '') throw invalid(`Missing value for required parameter 'models.model_id'.`);
    if (!Number.isSafeInteger(o.step)) throw invalid(`Invalid step ${String(o.step)} for model output '${o.model_id}': expected a 64-bit integer`);
  }
  await requireLoggedModels(
    ex,
    outputs.map((o) => o.model_id),
  );
  await ex.insertMany(
    'run_model_outputs',
    ['run_uuid', 'model_id', 'step'],
    outputs.map((o) => [runId, o.model_id, o.step]),
    'ON CONFLICT DO NOTHING',
  );
}

/** The model outputs of each run, by step then model id. */
export async function loadOutputs(ex: SqlExecutor, runIds: readonly string[]): Promise<Map<string, ModelOutput[]>> {
  const outputs = new Map<string, ModelOutput[]>();
  for (const part of chunks(runIds)) {
    for (const r of await ex.all<{ run_uuid: string; model_id: string; step: number }>(
      `SELECT run_uuid, model_id, step FROM run_model_outputs WHERE run_uuid IN (${marks(part.length)}) ORDER BY step, model_id`,
      part,
    )) {
      let list = outputs.get(r.run_uuid);
      if (list === undefined) outputs.set(r.run_uuid, (list = []));
      list.push({ model_id: r.model_id, step: Number(r.step) });
    }
  }
  return outputs;
}

function checkModelFields(m: Metric): void {
  for (const field of ['model_id', 'dataset_name', 'dataset_digest'] as const) {
    const value = m[field];
    if (value !== undefined && value !== null && typeof value !== 'string') {
      throw invalid(`Invalid ${field} ${JSON.stringify(value)} for metric '${m.key}': expected a string`);
    }
  }
  if (m.dataset_digest && !m.dataset_name) throw invalid(`Metric '${m.key}' has a dataset_digest but no dataset_name`);
}

/**
 * Copies the values of `metrics` that name a `model_id` onto those models (which must exist),
 * with the run that logged them. The caller has already written them as run metrics.
 */
export async function recordModelMetrics(ex: SqlExecutor, run: { run_uuid: string; experiment_id: number }, metrics: readonly Metric[]): Promise<void> {
  const linked = metrics.filter((m) => {
    checkModelFields(m);
    return typeof m.model_id === 'string' && m.model_id !== '';
  });
  if (linked.length === 0) return;
  // One row per point: PostgreSQL refuses an upsert that touches the same row twice.
  const points = new Map<string, Metric>();
  for (const m of linked) points.set(JSON.stringify([m.model_id, m.key, m.step ?? 0, m.timestamp, m.dataset_name ?? '', m.dataset_digest ?? '']), m);
  await requireLoggedModels(
    ex,
    linked.map((m) => m.model_id as string),
  );
  await ex.insertMany(
    'logged_model_metrics',
    ['model_id', 'key', 'value', 'is_nan', 'timestamp', 'step', 'run_id', 'experiment_id', 'dataset_name', 'dataset_digest'],
    [...points.values()].map((m) => {
      const nan = Number.isNaN(m.value);
      return [m.model_id, m.key, nan ? 0 : m.value, nan ? 1 : 0, m.timestamp, m.step ?? 0, run.run_uuid, run.experiment_id, m.dataset_name ?? '', m.dataset_digest ?? ''];
    }),
    `ON CONFLICT (model_id, key, step, timestamp, run_id, dataset_name, dataset_digest) DO UPDATE SET value = excluded.value, is_nan = excluded.is_nan`,
  );
}
