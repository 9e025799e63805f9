/**
 * tracking/store/sql-logged-models — MLflow 3's logged models in the SQL store.
 *
 * A logged model belongs to an experiment: id `m-<32 hex>`, artifacts under
 * `<experiment location>/models/<id>/artifacts`, created LOGGED_MODEL_PENDING and finalized
 * READY or UPLOAD_FAILED; mutable tags, immutable params, and the metric values runs log against
 * it. Delete is soft (every call then treats the model as absent), as in MLflow's SQL store.
 * Search compiles MLflow's filter grammar to parameterised SQL; a metric clause tests the latest
 * value (by step, then timestamp, then value) of each dataset the metric was measured on, and
 * matches when any of them passes. Links to runs and model versions live in sql-model-links.
 */
import { randomUUID } from 'node:crypto';
import type { SqlDriver, SqlExecutor } from '../../db/driver.js';
import { invalid, notFound } from './errors.js';
import { generateRunName } from './names.js';
import { checkMaxResults, decodePageToken, parseFilter, parseOrderBy, type Clause } from './search.js';
import {
  collectKeyValues,
  NUMERIC_COMPARATORS,
  chunks,
  dedupeTags,
  pushTo,
  experimentIdNumber,
  marks,
  numericCondition,
  pageOf,
  stringCondition,
  type Fragment,
} from './sql-common.js';
import type { SqlExperiments } from './sql-experiments.js';
import { linkOutputs, modelNotFound } from './sql-model-links.js';
import type {
  CreateLoggedModelInput,
  LoggedModel,
  LoggedModelStatus,
  Metric,
  Page,
  Param,
  SearchLoggedModelsQuery,
  Tag,
} from './types.js';
import { validateLoggedModelName, validateParams, validateTag, validateTags } from './validation.js';

export const LOGGED_MODELS_MAX_RESULTS_DEFAULT = 50;
export const LOGGED_MODELS_MAX_RESULTS_THRESHOLD = 1000;

export const LOGGED_MODEL_STATUSES: readonly LoggedModelStatus[] = ['LOGGED_MODEL_PENDING', 'LOGGED_MODEL_READY', 'LOGGED_MODEL_UPLOAD_FAILED'];
const FINAL_STATUSES: readonly LoggedModelStatus[] = ['LOGGED_MODEL_READY', 'LOGGED_MODEL_UPLOAD_FAILED'];

interface LoggedModelRow {
  model_id: string;
  experiment_id: number;
  name: string;
  artifact_location: string;
  creation_timestamp_ms: number;
  last_updated_timestamp_ms: number;
  status: LoggedModelStatus;
  status_message: string | null;
  model_type: string | null;
  source_run_id: string | null;
}

interface ModelMetricRow {
  model_id: string;
  key: string;
  value: number;
  is_nan: number;
  timestamp: number;
  step: number;
  run_id: string;
  dataset_name: string;
  dataset_digest: string;
}

/** Filterable and sortable attributes: wire name → column. */
const ATTRIBUTES: Record<string, { column: string; numeric: boolean }> = {
  name: { column: 'm.name', numeric: false },
  model_id: { column: 'm.model_id', numeric: false },
  model_type: { column: 'm.model_type', numeric: false },
  status: { column: 'm.status', numeric: false },
  source_run_id: { column: 'm.source_run_id', numeric: false },
  creation_timestamp: { column: 'm.creation_timestamp_ms', numeric: true },
  creation_timestamp_ms: { column: 'm.creation_timestamp_ms', numeric: true },
  creation_time: { column: 'm.creation_timestamp_ms', numeric: true },
  last_updated_timestamp: { column: 'm.last_updated_timestamp_ms', numeric: true },
  last_updated_timestamp_ms: { column: 'm.last_updated_timestamp_ms', numeric: true },
};

/** `status = 'READY'` means LOGGED_MODEL_READY (MLflow's Python enum names); FAILED is UPLOAD_FAILED. */
function fullStatus(value: string): string {
  const upper = value.toUpperCase();
  if (upper === 'FAILED') return 'LOGGED_MODEL_UPLOAD_FAILED';
  return upper.startsWith('LOGGED_MODEL_') ? upper : `LOGGED_MODEL_${upper}`;
}

/** Models that pass `dataset` restrictions: `(f.dataset_name = ? AND f.dataset_digest = ?) OR …`. */
function datasetCondition(datasets: SearchLoggedModelsQuery['datasets'], alias: string): Fragment {
  if (datasets === undefined || datasets.length === 0) return { sql: '1 = 1', params: [] };
  const parts: string[] = [];
  const params: unknown[] = [];
  for (const d of datasets) {
    if (typeof d?.dataset_name !== 'string' || d.dataset_name === '') throw invalid(`Missing value for required parameter 'datasets.dataset_name'.`);
    if (d.dataset_digest) {
      parts.push(`(${alias}.dataset_name = ? AND ${alias}.dataset_digest = ?)`);
      params.push(d.dataset_name, d.dataset_digest);
    } else {
      parts.push(`${alias}.dataset_name = ?`);
      params.push(d.dataset_name);
    }
  }
  return { sql: `(${parts.join(' OR ')})`, params };
}

/** `f` is the latest point of its (model, key, dataset) series: no point beats it. */
const LATEST = `NOT EXISTS (SELECT 1 FROM logged_model_metrics g
  WHERE g.model_id = f.model_id AND g.key = f.key AND g.dataset_name = f.dataset_name AND g.dataset_digest = f.dataset_digest
    AND (g.step > f.step OR (g.step = f.step AND (g.timestamp > f.timestamp OR (g.timestamp = f.timestamp AND g.value > f.value)))))`;

export class SqlLoggedModels {
  constructor(
    private readonly db: SqlDriver,
    private readonly experiments: SqlExperiments,
  ) {}

  /** An active model's row; RESOURCE_DOES_NOT_EXIST when absent or deleted. */
  private async modelRow(ex: SqlExecutor, modelId: string): Promise<LoggedModelRow> {
    const row =
      typeof modelId === 'string'
        ? await ex.get<LoggedModelRow>(`SELECT * FROM logged_models WHERE model_id = ? AND lifecycle_stage = 'active'`, [modelId])
        : undefined;
    if (row === undefined) throw modelNotFound(String(modelId));
    return row;
  }

  private async touch(ex: SqlExecutor, modelId: string): Promise<void> {
    await ex.run('UPDATE logged_models SET last_updated_timestamp_ms = ? WHERE model_id = ?', [Date.now(), modelId]);
  }

  /** Full models for a page of rows: four set-based queries per 500 models. */
  private async load(ex: SqlExecutor, rows: LoggedModelRow[]): Promise<LoggedModel[]> {
    const tags = new Map<string, Tag[]>();
    const params = new Map<string, Param[]>();
    const metrics = new Map<string, Metric[]>();
    const registrations = new Map<string, { name: string; version: string }[]>();
    for (const part of chunks(rows.map((r) => r.model_id))) {
      const inList = `(${marks(part.length)})`;
      await collectKeyValues(ex, 'logged_model_tags', 'model_id', part, tags);
      await collectKeyValues(ex, 'logged_model_params', 'model_id', part, params);
      for (const m of await ex.all<ModelMetricRow>(
        `SELECT model_id, key, value, is_nan, timestamp, step, run_id, dataset_name, dataset_digest FROM logged_model_metrics
         WHERE model_id IN ${inList} ORDER BY key, step, timestamp, dataset_name, dataset_digest`,
        part,
      )) {
        pushTo(metrics, m.model_id, toModelMetric(m));
      }
      for (const v of await ex.all<{ model_id: string; name: string; version: number }>(
        `SELECT model_id, name, version FROM model_versions WHERE model_id IN ${inList} ORDER BY name, version`,
        part,
      )) {
        pushTo(registrations, v.model_id, { name: v.name, version: String(v.version) });
      }
    }
    return rows.map((r) => toLoggedModel(r, tags.get(r.model_id) ?? [], registrations.get(r.model_id) ?? [], params.get(r.model_id) ?? [], metrics.get(r.model_id) ?? []));
  }

  async createLoggedModel(input: CreateLoggedModelInput): Promise<LoggedModel> {
    const name = validateLoggedModelName(input?.name) ?? generateRunName();
    const tags = dedupeTags(validateTags(input.tags));
    const params = validateParams(input.params);
    for (const field of ['model_type', 'source_run_id'] as const) {
      const value = input[field];
      if (value !== undefined && value !== null && typeof value !== 'string') throw invalid(`Invalid ${field} ${JSON.stringify(value)}: expected a string`);
    }
    const modelId = `m-${randomUUID().replace(/-/g, '')}`;
    return this.db.transaction(async (tx) => {
      const experiment = await this.experiments.experimentRow(tx, input.experiment_id);
      if (experiment.lifecycle_stage !== 'active') {
        throw invalid(`The experiment ${input.experiment_id} must be in the 'active' state. Current state is ${experiment.lifecycle_stage}.`);
      }
      const runId = input.source_run_id || null;
      if (runId !== null && (await tx.get('SELECT run_uuid FROM runs WHERE run_uuid = ?', [runId])) === undefined) {
        throw notFound(`Run with id=${runId} not found (source_run_id of the logged model)`);
      }
      const now = Date.now();
      await tx.run(
        `INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, creation_timestamp_ms, last_updated_timestamp_ms, status, model_type, source_run_id)
         VALUES (?, ?, ?, ?, ?, ?, 'LOGGED_MODEL_PENDING', ?, ?)`,
        [modelId, experiment.experiment_id, name, `${experiment.artifact_location}/models/${modelId}/artifacts`, now, now, input.model_type || null, runId],
      );
      await tx.insertMany(
        'logged_model_tags',
        ['model_id', 'key', 'value'],
        tags.map((t) => [modelId, t.key, t.value]),
      );
      await tx.insertMany(
        'logged_model_params',
        ['model_id', 'key', 'value'],
        params.map((p) => [modelId, p.key, p.value]),
        'ON CONFLICT DO NOTHING',
      );
      // The run that produced the model lists it among its outputs, as MLflow's clients link it.
      if (runId !== null) await linkOutputs(tx, runId, [{ model_id: modelId, step: 0 }]);
      return (await this.load(tx, [await this.modelRow(tx, modelId)]))[0];
    });
  }

  async getLoggedModel(modelId: string): Promise<LoggedModel> {
    return (await this.load(this.db, [await this.modelRow(this.db, modelId)]))[0];
  }

  async finalizeLoggedModel(modelId: string, status: LoggedModelStatus): Promise<LoggedModel> {
    if (!FINAL_STATUSES.includes(status)) {
      throw invalid(`Invalid status '${String(status)}' to finalize logged model '${modelId}': use one of ${JSON.stringify(FINAL_STATUSES)}`);
    }
    return this.db.transaction(async (tx) => {
      await this.modelRow(tx, modelId);
      await tx.run('UPDATE logged_models SET status = ?, last_updated_timestamp_ms = ? WHERE model_id = ?', [status, Date.now(), modelId]);
      return (await this.load(tx, [await this.modelRow(tx, modelId)]))[0];
    });
  }

  async deleteLoggedModel(modelId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.modelRow(tx, modelId);
      await tx.run(`UPDATE logged_models SET lifecycle_stage = 'deleted', last_updated_timestamp_ms = ? WHERE model_id = ?`, [Date.now(), modelId]);
    });
  }

  async setLoggedModelTags(modelId: string, tags: Tag[]): Promise<LoggedModel> {
    const unique = dedupeTags(validateTags(tags));
    return this.db.transaction(async (tx) => {
      await this.modelRow(tx, modelId);
      await tx.insertMany(
        'logged_model_tags',
        ['model_id', 'key', 'value'],
        unique.map((t) => [modelId, t.key, t.value]),
        'ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value',
      );
      await this.touch(tx, modelId);
      return (await this.load(tx, [await this.modelRow(tx, modelId)]))[0];
    });
  }

  async deleteLoggedModelTag(modelId: string, key: string): Promise<void> {
    validateTag({ key, value: '' });
    await this.db.transaction(async (tx) => {
      await this.modelRow(tx, modelId);
      const changed = await tx.run('DELETE FROM logged_model_tags WHERE model_id = ? AND key = ?', [modelId, key]);
      if (changed === 0) throw notFound(`No tag with key '${key}' found for logged model with ID '${modelId}'.`);
      await this.touch(tx, modelId);
    });
  }

  async logLoggedModelParams(modelId: string, params: Param[]): Promise<void> {
    const wanted = validateParams(params);
    await this.db.transaction(async (tx) => {
      await this.modelRow(tx, modelId);
      if (wanted.length === 0) return;
      const existing = new Map<string, string>();
      for (const part of chunks(wanted.map((p) => p.key))) {
        for (const r of await tx.all<{ key: string; value: string }>(
          `SELECT key, value FROM logged_model_params WHERE model_id = ? AND key IN (${marks(part.length)})`,
          [modelId, ...part],
        )) {
          existing.set(r.key, r.value);
        }
      }
      const changed = wanted.filter((p) => existing.has(p.key) && existing.get(p.key) !== p.value);
      if (changed.length > 0) {
        const detail = changed.map((p) => ({ key: p.key, old_value: existing.get(p.key), new_value: p.value }));
        throw invalid(`Changing param values is not allowed. Params were already logged='${JSON.stringify(detail)}' for logged model ID='${modelId}'.`);
      }
      await tx.insertMany(
        'logged_model_params',
        ['model_id', 'key', 'value'],
        wanted.filter((p) => !existing.has(p.key)).map((p) => [modelId, p.key, p.value]),
        'ON CONFLICT DO NOTHING',
      );
      await this.touch(tx, modelId);
    });
  }

  // ---------------------------------------------------------------- search

  private clause(clause: Clause, datasets: SearchLoggedModelsQuery['datasets']): Fragment {
    const dialect = this.db.dialect;
    switch (clause.type) {
      case 'attribute': {
        const attr = ATTRIBUTES[clause.key];
        if (attr === undefined) {
          throw invalid(`Invalid attribute key '${clause.key}' in a logged model filter. Valid keys are ${JSON.stringify(Object.keys(ATTRIBUTES))}`);
        }
        if (attr.numeric) return numericCondition(attr.column, clause, 'attribute');
        const value = clause.key !== 'status' ? clause.value : Array.isArray(clause.value) ? clause.value.map(fullStatus) : fullStatus(String(clause.value));
        return stringCondition(dialect, attr.column, { ...clause, value }, 'Attribute');
      }
      case 'metric': {
        if (!NUMERIC_COMPARATORS.includes(clause.comparator)) {
          throw invalid(`Invalid comparator '${clause.comparator}' for metric '${clause.key}': not one of ${JSON.stringify(NUMERIC_COMPARATORS)}`);
        }
        if (typeof clause.value !== 'number' || clause.quoted) throw invalid(`Expected numeric value type for metric. Found '${String(clause.value)}'`);
        const test = clause.comparator === '!=' ? '(f.is_nan = 1 OR f.value != ?)' : `(f.is_nan = 0 AND f.value ${clause.comparator} ?)`;
        const only = datasetCondition(datasets, 'f');
        return {
          sql: `EXISTS (SELECT 1 FROM logged_model_metrics f WHERE f.model_id = m.model_id AND f.key = ? AND ${only.sql} AND ${test} AND ${LATEST})`,
          params: [clause.key, ...only.params, clause.value],
        };
      }
      case 'param':
      case 'tag': {
        const table = clause.type === 'param' ? 'logged_model_params' : 'logged_model_tags';
        const inner = stringCondition(dialect, 'f.value', clause, clause.type === 'param' ? 'Parameter' : 'Tag');
        return { sql: `EXISTS (SELECT 1 FROM ${table} f WHERE f.model_id = m.model_id AND f.key = ? AND ${inner.sql})`, params: [clause.key, ...inner.params] };
      }
      case 'dataset':
        throw invalid(
          `Filtering logged models on '${clause.type}s.${clause.key}' is not supported: pass the 'datasets' field ([{dataset_name, dataset_digest}]) to restrict metrics.* clauses to those datasets.`,
        );
    }
  }

  /** ORDER BY terms (and their parameters) for MLflow's order_by messages; model_id breaks ties. */
  private order(orderBy: SearchLoggedModelsQuery['order_by']): Fragment {
    const terms: string[] = [];
    const params: unknown[] = [];
    let hasCreation = false;
    for (const o of orderBy ?? []) {
      if (typeof o?.field_name !== 'string' || o.field_name === '') throw invalid(`Missing value for required parameter 'order_by.field_name'.`);
      const ob = parseOrderBy(o.field_name);
      const dir = o.ascending === false ? 'DESC' : 'ASC';
      if (ob.type === 'metric') {
        const only = datasetCondition(o.dataset_name ? [{ dataset_name: o.dataset_name, dataset_digest: o.dataset_digest }] : undefined, 'f');
        const latest = `(SELECT f.value FROM logged_model_metrics f WHERE f.model_id = m.model_id AND f.key = ? AND f.is_nan = 0 AND ${only.sql} ORDER BY f.step DESC, f.timestamp DESC, f.value DESC LIMIT 1)`;
        // Models without the metric sort last in either direction.
        terms.push(`${latest} IS NULL ASC`, `${latest} ${dir}`);
        params.push(ob.key, ...only.params, ob.key, ...only.params);
      } else if (ob.type === 'attribute' && ATTRIBUTES[ob.key] !== undefined) {
        if (o.dataset_name) throw invalid(`order_by '${o.field_name}': dataset_name may only be given when ordering by a metric`);
        const column = ATTRIBUTES[ob.key].column;
        if (column === 'm.creation_timestamp_ms') hasCreation = true;
        terms.push(`${column} ${dir}`);
      } else {
        throw invalid(
          `Invalid order_by field '${o.field_name}' for logged models: use metrics.<key> or one of ${JSON.stringify(Object.keys(ATTRIBUTES))} (params and tags cannot be ordered by).`,
        );
      }
    }
    if (!hasCreation) terms.push('m.creation_timestamp_ms DESC');
    terms.push('m.model_id ASC');
    return { sql: terms.join(', '), params };
  }

  async searchLoggedModels(query: SearchLoggedModelsQuery): Promise<Page<LoggedModel>> {
    const limit = checkMaxResults(query.max_results, LOGGED_MODELS_MAX_RESULTS_DEFAULT, LOGGED_MODELS_MAX_RESULTS_THRESHOLD);
    const offset = decodePageToken(query.page_token);
    if (!Array.isArray(query.experiment_ids) || query.experiment_ids.length === 0) {
      throw invalid('experiment_ids must name at least one experiment to search logged models in');
    }
    const where: string[] = [`m.lifecycle_stage = 'active'`];
    const whereParams: unknown[] = [];
    for (const clause of parseFilter(query.filter)) {
      const f = this.clause(clause, query.datasets);
      where.push(f.sql);
      whereParams.push(...f.params);
    }
    const order = this.order(query.order_by);
    const ids = query.experiment_ids.map(experimentIdNumber).filter((n): n is number => n !== undefined);
    if (ids.length === 0) return { items: [] };
    const rows = await this.db.all<LoggedModelRow>(
      `SELECT m.* FROM logged_models m WHERE m.experiment_id IN (${marks(ids.length)}) AND ${where.join(' AND ')} ORDER BY ${order.sql} LIMIT ? OFFSET ?`,
      [...ids, ...whereParams, ...order.params, limit + 1, offset],
    );
    return pageOf(await this.load(this.db, rows.slice(0, limit)), rows.length > limit, offset + limit);
  }
}

function toModelMetric(r: ModelMetricRow): Metric {
  const metric: Metric = {
    key: r.key,
    value: Number(r.is_nan) ? Number.NaN : r.value,
    timestamp: Number(r.timestamp),
    step: Number(r.step),
    model_id: r.model_id,
    run_id: r.run_id,
  };
  if (r.dataset_name !== '') metric.dataset_name = r.dataset_name;
  if (r.dataset_digest !== '') metric.dataset_digest = r.dataset_digest;
  return metric;
}

function toLoggedModel(
  r: LoggedModelRow,
  tags: Tag[],
  registrations: { name: string; version: string }[],
  params: Param[],
  metrics: Metric[],
): LoggedModel {
  const model: LoggedModel = {
    info: {
      model_id: r.model_id,
      experiment_id: String(r.experiment_id),
      name: r.name,
      creation_timestamp_ms: Number(r.creation_timestamp_ms),
      last_updated_timestamp_ms: Number(r.last_updated_timestamp_ms),
      artifact_uri: r.artifact_location,
      status: r.status,
      tags,
      registrations,
    },
    data: { params, metrics },
  };
  if (r.model_type !== null) model.info.model_type = r.model_type;
  if (r.source_run_id !== null) model.info.source_run_id = r.source_run_id;
  if (r.status_message !== null) model.info.status_message = r.status_message;
  return model;
}
