/**
 * tracking/store/sql-runs — runs in the SQL store and what is logged to them: 32-hex run ids,
 * immutable params, tags (mlflow.runName kept in step with the run's name), metrics kept as full
 * history plus a latest_metrics row per (run, key) chosen by max step, then max timestamp, then
 * max value; dataset inputs; soft delete and restore; and run search over all of these.
 *
 * A page of runs loads its metrics, params, tags and inputs in a few set-based queries, never
 * one query per run.
 */
import { randomUUID } from 'node:crypto';
import type { SqlDriver, SqlExecutor } from '../../db/driver.js';
import { invalid, notFound } from './errors.js';
import { generateRunName } from './names.js';
import { checkMaxResults, decodePageToken, parseFilter, parseOrderBy, type Clause, type OrderBy } from './search.js';
import {
  collectKeyValues,
  NUMERIC_COMPARATORS,
  SEARCH_MAX_RESULTS_DEFAULT,
  SEARCH_MAX_RESULTS_THRESHOLD,
  chunks,
  dedupeTags,
  pushTo,
  experimentIdNumber,
  lifecycleCondition,
  marks,
  numericCondition,
  pageOf,
  stringCondition,
  type Fragment,
} from './sql-common.js';
import type { SqlExperiments } from './sql-experiments.js';
import { linkOutputs, loadOutputs, recordModelMetrics } from './sql-model-links.js';
import type { DatasetInput, LifecycleStage, LogBatch, Metric, ModelOutput, Page, Param, Run, RunInfo, RunStatus, SearchRunsQuery, Tag } from './types.js';
import { validateBatch, validateDatasetInputs, validateRunName, validateRunStatus, validateTag, validateTags } from './validation.js';
import { LOGGED_MODELS_TAG, loggedModelSummary, parseModelHistory } from './model-history.js';

export const RUN_NAME_TAG = 'mlflow.runName';
export const PARENT_RUN_ID_TAG = 'mlflow.parentRunId';

export interface RunRow {
  run_uuid: string;
  name: string;
  experiment_id: number;
  user_id: string;
  status: RunStatus;
  start_time: number;
  end_time: number | null;
  artifact_uri: string;
  lifecycle_stage: LifecycleStage;
}

interface MetricRow {
  run_uuid?: string;
  key: string;
  value: number;
  is_nan: number;
  timestamp: number;
  step: number;
}

/** Order in which MLflow picks the latest metric: step, then timestamp, then value. */
function isNewer(a: MetricRow, b: MetricRow): boolean {
  if (a.step !== b.step) return a.step > b.step;
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp;
  return a.value > b.value;
}

function toMetric(row: MetricRow): Metric {
  return { key: row.key, value: Number(row.is_nan) ? NaN : row.value, timestamp: row.timestamp, step: row.step };
}

function runInfo(row: RunRow): RunInfo {
  const info: RunInfo = {
    run_id: row.run_uuid,
    run_uuid: row.run_uuid,
    run_name: row.name,
    experiment_id: String(row.experiment_id),
    user_id: row.user_id,
    status: row.status,
    start_time: row.start_time,
    artifact_uri: row.artifact_uri,
    lifecycle_stage: row.lifecycle_stage,
  };
  if (row.end_time !== null && row.end_time !== undefined) info.end_time = row.end_time;
  return info;
}

const RUN_ATTRIBUTES: Record<string, { column: string; numeric: boolean }> = {
  run_id: { column: 'r.run_uuid', numeric: false },
  run_name: { column: 'r.name', numeric: false },
  status: { column: 'r.status', numeric: false },
  user_id: { column: 'r.user_id', numeric: false },
  artifact_uri: { column: 'r.artifact_uri', numeric: false },
  lifecycle_stage: { column: 'r.lifecycle_stage', numeric: false },
  start_time: { column: 'r.start_time', numeric: true },
  end_time: { column: 'r.end_time', numeric: true },
  created: { column: 'r.start_time', numeric: true },
};

export class SqlRuns {
  constructor(
    private readonly db: SqlDriver,
    private readonly experiments: SqlExperiments,
  ) {}

  /** The run's row, in any lifecycle stage; RESOURCE_DOES_NOT_EXIST when absent. */
  async runRow(ex: SqlExecutor, runId: string): Promise<RunRow> {
    const row = typeof runId === 'string' ? await ex.get<RunRow>('SELECT * FROM runs WHERE run_uuid = ?', [runId]) : undefined;
    if (row === undefined) throw notFound(`Run with id=${runId} not found`);
    return row;
  }

  async activeRunRow(ex: SqlExecutor, runId: string): Promise<RunRow> {
    const row = await this.runRow(ex, runId);
    if (row.lifecycle_stage !== 'active') {
      throw invalid(`The run ${runId} must be in the 'active' state. Current state is ${row.lifecycle_stage}.`);
    }
    return row;
  }

  /** Builds full Run objects for a page of rows: six set-based queries per 500 runs (metrics, params, tags, inputs and their tags, model outputs). */
  private async loadRuns(ex: SqlExecutor, rows: RunRow[]): Promise<Run[]> {
    const metrics = new Map<string, Metric[]>();
    const params = new Map<string, Param[]>();
    const tags = new Map<string, Tag[]>();
    const inputs = new Map<string, DatasetInput[]>();
    for (const part of chunks(rows.map((r) => r.run_uuid))) {
      const inList = `(${marks(part.length)})`;
      for (const m of await ex.all<MetricRow & { run_uuid: string }>(
        `SELECT run_uuid, key, value, is_nan, timestamp, step FROM latest_metrics WHERE run_uuid IN ${inList} ORDER BY key`,
        part,
      )) {
        pushTo(metrics, m.run_uuid, toMetric(m));
      }
      await collectKeyValues(ex, 'params', 'run_uuid', part, params);
      await collectKeyValues(ex, 'tags', 'run_uuid', part, tags);
      const inputRows = await ex.all<{
        run_uuid: string;
        input_uuid: string;
        name: string;
        digest: string;
        source_type: string;
        source: string;
        dataset_schema: string | null;
        dataset_profile: string | null;
      }>(
        `SELECT i.run_uuid, i.input_uuid, d.name, d.digest, d.source_type, d.source, d.dataset_schema, d.dataset_profile
         FROM run_inputs i JOIN datasets d ON d.dataset_uuid = i.dataset_uuid
         WHERE i.run_uuid IN ${inList} ORDER BY d.name, d.digest`,
        part,
      );
      if (inputRows.length > 0) {
        const inputTags = new Map<string, Tag[]>();
        for (const ip of chunks(inputRows.map((r) => r.input_uuid))) await collectKeyValues(ex, 'input_tags', 'input_uuid', ip, inputTags);
        for (const r of inputRows) {
          const dataset: DatasetInput['dataset'] = { name: r.name, digest: r.digest, source_type: r.source_type, source: r.source };
          if (r.dataset_schema !== null) dataset.schema = r.dataset_schema;
          if (r.dataset_profile !== null) dataset.profile = r.dataset_profile;
          pushTo(inputs, r.run_uuid, { tags: inputTags.get(r.input_uuid) ?? [], dataset });
        }
      }
    }
    const outputs = await loadOutputs(
      ex,
      rows.map((r) => r.run_uuid),
    );
    return rows.map((row) => ({
      info: runInfo(row),
      data: { metrics: metrics.get(row.run_uuid) ?? [], params: params.get(row.run_uuid) ?? [], tags: tags.get(row.run_uuid) ?? [] },
      inputs: { dataset_inputs: inputs.get(row.run_uuid) ?? [] },
      outputs: { model_outputs: outputs.get(row.run_uuid) ?? [] },
    }));
  }

  async createRun(input: { experiment_id: string; user_id?: string; start_time?: number; tags?: Tag[]; run_name?: string }): Promise<Run> {
    const tags = dedupeTags(validateTags(input?.tags));
    validateRunName(input.run_name);
    const nameTag = tags.find((t) => t.key === RUN_NAME_TAG)?.value;
    if (input.run_name && nameTag !== undefined && nameTag !== input.run_name) {
      throw invalid(
        `Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='${input.run_name}', mlflow.runName='${nameTag}').`,
      );
    }
    const runName = input.run_name || nameTag || generateRunName();
    if (input.start_time !== undefined && input.start_time !== null && !Number.isSafeInteger(input.start_time)) {
      throw invalid(`Invalid start_time ${String(input.start_time)}: expected epoch milliseconds`);
    }
    const runId = randomUUID().replace(/-/g, '');
    return this.db.transaction(async (tx) => {
      const experiment = await this.experiments.experimentRow(tx, input.experiment_id);
      if (experiment.lifecycle_stage !== 'active') {
        throw invalid(`Could not create run under non-active experiment with id ${input.experiment_id}.`);
      }
      const row: RunRow = {
        run_uuid: runId,
        name: runName,
        experiment_id: Number(experiment.experiment_id),
        user_id: input.user_id ?? '',
        status: 'RUNNING',
        start_time: input.start_time ?? Date.now(),
        end_time: null,
        artifact_uri: `${experiment.artifact_location}/${runId}/artifacts`,
        lifecycle_stage: 'active',
      };
      await tx.run(
        `INSERT INTO runs (run_uuid, name, experiment_id, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage)
         VALUES (?, ?, ?, ?, ?, ?, NULL, ?, 'active')`,
        [row.run_uuid, row.name, row.experiment_id, row.user_id, row.status, row.start_time, row.artifact_uri],
      );
      const allTags = [...tags.filter((t) => t.key !== RUN_NAME_TAG), { key: RUN_NAME_TAG, value: runName }];
      await tx.insertMany(
        'tags',
        ['run_uuid', 'key', 'value'],
        allTags.map((t) => [runId, t.key, t.value]),
      );
      return (await this.loadRuns(tx, [row]))[0];
    });
  }

  async getRun(runId: string): Promise<Run> {
    const row = await this.runRow(this.db, runId);
    return (await this.loadRuns(this.db, [row]))[0];
  }

  async updateRun(runId: string, update: { status?: RunStatus; end_time?: number; run_name?: string }): Promise<RunInfo> {
    if (update.status !== undefined && update.status !== null) validateRunStatus(update.status);
    validateRunName(update.run_name);
    if (update.end_time !== undefined && update.end_time !== null && !Number.isSafeInteger(update.end_time)) {
      throw invalid(`Invalid end_time ${String(update.end_time)}: expected epoch milliseconds`);
    }
    return this.db.transaction(async (tx) => {
      const row = await this.activeRunRow(tx, runId);
      if (update.status) row.status = update.status;
      if (update.end_time !== undefined && update.end_time !== null) row.end_time = update.end_time;
      if (update.run_name) {
        row.name = update.run_name;
        await tx.run('INSERT INTO tags (run_uuid, key, value) VALUES (?, ?, ?) ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value', [
          runId,
          RUN_NAME_TAG,
          update.run_name,
        ]);
      }
      await tx.run('UPDATE runs SET status = ?, end_time = ?, name = ? WHERE run_uuid = ?', [row.status, row.end_time, row.name, runId]);
      return runInfo(row);
    });
  }

  async deleteRun(runId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.runRow(tx, runId);
      await tx.run(`UPDATE runs SET lifecycle_stage = 'deleted', deleted_time = ? WHERE run_uuid = ?`, [Date.now(), runId]);
    });
  }

  async restoreRun(runId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.runRow(tx, runId);
      await tx.run(`UPDATE runs SET lifecycle_stage = 'active', deleted_time = NULL WHERE run_uuid = ?`, [runId]);
    });
  }

  async logBatch(runId: string, batch: LogBatch): Promise<void> {
    const { metrics, params, tags } = validateBatch(batch ?? {});
    await this.db.transaction(async (tx) => {
      const run = await this.activeRunRow(tx, runId);
      if (params.length > 0) await this.logParams(tx, runId, params);
      if (metrics.length > 0) {
        await this.logMetrics(tx, runId, metrics);
        await recordModelMetrics(tx, run, metrics);
      }
      if (tags.length > 0) {
        const unique = dedupeTags(tags);
        await tx.insertMany(
          'tags',
          ['run_uuid', 'key', 'value'],
          unique.map((t) => [runId, t.key, t.value]),
          'ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value',
        );
        const name = unique.find((t) => t.key === RUN_NAME_TAG);
        if (name !== undefined) await tx.run('UPDATE runs SET name = ? WHERE run_uuid = ?', [name.value, runId]);
      }
    });
  }

  private async logParams(tx: SqlExecutor, runId: string, params: Param[]): Promise<void> {
    const wanted = new Map<string, string>();
    for (const p of params) wanted.set(p.key, p.value);
    const keys = [...wanted.keys()];
    const existing = new Map<string, string>();
    for (const part of chunks(keys)) {
      for (const r of await tx.all<{ key: string; value: string }>(
        `SELECT key, value FROM params WHERE run_uuid = ? AND key IN (${marks(part.length)})`,
        [runId, ...part],
      )) {
        existing.set(r.key, r.value);
      }
    }
    const changed = keys
      .filter((k) => existing.has(k) && existing.get(k) !== wanted.get(k))
      .map((k) => ({ key: k, old_value: existing.get(k), new_value: wanted.get(k) }));
    if (changed.length > 0) {
      throw invalid(
        `Changing param values is not allowed. Params were already logged='${JSON.stringify(changed)}' for run ID='${runId}'.`,
      );
    }
    const fresh = keys.filter((k) => !existing.has(k));
    await tx.insertMany(
      'params',
      ['run_uuid', 'key', 'value'],
      fresh.map((k) => [runId, k, wanted.get(k)]),
      'ON CONFLICT (run_uuid, key) DO NOTHING',
    );
    if (tx.dialect === 'postgres' && fresh.length > 0) {
      // Under READ COMMITTED a concurrent writer may have inserted one of these keys first
      // (DO NOTHING skipped ours): re-read so a different value still fails the batch.
      for (const part of chunks(fresh)) {
        for (const r of await tx.all<{ key: string; value: string }>(
          `SELECT key, value FROM params WHERE run_uuid = ? AND key IN (${marks(part.length)})`,
          [runId, ...part],
        )) {
          if (r.value !== wanted.get(r.key)) {
            throw invalid(
              `Changing param values is not allowed. Params were already logged='${JSON.stringify([{ key: r.key, old_value: r.value, new_value: wanted.get(r.key) }])}' for run ID='${runId}'.`,
            );
          }
        }
      }
    }
  }

  private async logMetrics(tx: SqlExecutor, runId: string, metrics: Metric[]): Promise<void> {
    const rows: unknown[][] = new Array(metrics.length);
    const latest = new Map<string, MetricRow>();
    for (let i = 0; i < metrics.length; i++) {
      const m = metrics[i];
      const nan = Number.isNaN(m.value);
      const row: MetricRow = { key: m.key, value: nan ? 0 : m.value, is_nan: nan ? 1 : 0, timestamp: m.timestamp, step: m.step ?? 0 };
      rows[i] = [runId, row.key, row.value, row.is_nan, row.timestamp, row.step];
      const best = latest.get(row.key);
      if (best === undefined || isNewer(row, best)) latest.set(row.key, row);
    }
    await tx.insertMany('metrics', ['run_uuid', 'key', 'value', 'is_nan', 'timestamp', 'step'], rows, 'ON CONFLICT DO NOTHING');
    await tx.insertMany(
      'latest_metrics',
      ['run_uuid', 'key', 'value', 'is_nan', 'timestamp', 'step'],
      [...latest.values()].map((r) => [runId, r.key, r.value, r.is_nan, r.timestamp, r.step]),
      `ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value, is_nan = excluded.is_nan, timestamp = excluded.timestamp, step = excluded.step
       WHERE excluded.step > latest_metrics.step
          OR (excluded.step = latest_metrics.step AND (excluded.timestamp > latest_metrics.timestamp
          OR (excluded.timestamp = latest_metrics.timestamp AND excluded.value > latest_metrics.value)))`,
    );
  }

  async recordLoggedModel(runId: string, model: Record<string, unknown>): Promise<void> {
    const summary = loggedModelSummary(model);
    await this.db.transaction(async (tx) => {
      await this.activeRunRow(tx, runId);
      const before = await tx.get<{ value: string }>('SELECT value FROM tags WHERE run_uuid = ? AND key = ?', [runId, LOGGED_MODELS_TAG]);
      const tag = { key: LOGGED_MODELS_TAG, value: JSON.stringify([...parseModelHistory(before?.value), summary]) };
      // MLflow validates the grown list as any tag: past 8000 characters the call is refused.
      validateTag(tag);
      await tx.run('INSERT INTO tags (run_uuid, key, value) VALUES (?, ?, ?) ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value', [
        runId,
        tag.key,
        tag.value,
      ]);
    });
  }

  async deleteTag(runId: string, key: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.activeRunRow(tx, runId);
      const changed = await tx.run('DELETE FROM tags WHERE run_uuid = ? AND key = ?', [runId, key]);
      if (changed === 0) throw notFound(`No tag with name: ${key} in run with id ${runId}`);
    });
  }

  async getMetricHistory(runId: string, key: string, page: { max_results?: number; page_token?: string } = {}): Promise<Page<Metric>> {
    await this.runRow(this.db, runId);
    const paged = page.max_results !== undefined && page.max_results !== null;
    const limit = paged ? checkMaxResults(page.max_results, 0, Number.MAX_SAFE_INTEGER) : undefined;
    const offset = decodePageToken(page.page_token);
    const window = limit === undefined ? (offset === 0 ? '' : this.db.dialect === 'sqlite' ? ' LIMIT -1 OFFSET ?' : ' OFFSET ?') : ' LIMIT ? OFFSET ?';
    const args = limit === undefined ? (offset === 0 ? [runId, key] : [runId, key, offset]) : [runId, key, limit + 1, offset];
    // Long histories are the UI's hot path: the database packs the points into one JSON array
    // (both SQLite and PostgreSQL print doubles round-trip exact), which costs a fraction of
    // materialising one driver row object per point.
    const points = `SELECT value, is_nan, timestamp, step FROM metrics WHERE run_uuid = ? AND key = ? ORDER BY step, timestamp, value${window}`;
    const sql =
      this.db.dialect === 'sqlite'
        ? `SELECT json_group_array(json_array(value, is_nan, timestamp, step)) AS points FROM (${points})`
        : `SELECT COALESCE(json_agg(json_build_array(p.value, p.is_nan, p.timestamp, p.step))::text, '[]') AS points FROM (${points}) p`;
    const row = await this.db.get<{ points: string }>(sql, args);
    const packed = JSON.parse(row?.points ?? '[]') as [number | string, number, number | string, number | string][];
    const items: Metric[] = new Array(packed.length);
    for (let i = 0; i < packed.length; i++) {
      const [value, isNan, timestamp, step] = packed[i];
      // PostgreSQL's json prints ±Infinity as strings; SQLite as 9e999, which parses to ±Infinity.
      items[i] = { key, value: isNan ? Number.NaN : Number(value), timestamp: Number(timestamp), step: Number(step) };
    }
    if (limit === undefined) return { items };
    return pageOf(items.slice(0, limit), items.length > limit, offset + limit);
  }

  async logInputs(runId: string, datasets: DatasetInput[]): Promise<void> {
    validateDatasetInputs(datasets ?? []);
    await this.db.transaction(async (tx) => {
      const run = await this.activeRunRow(tx, runId);
      for (const input of datasets ?? []) {
        const d = input.dataset;
        await tx.run(
          `INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, source_type, source, dataset_schema, dataset_profile)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (experiment_id, name, digest) DO NOTHING`,
          [randomUUID().replace(/-/g, ''), run.experiment_id, d.name, d.digest, d.source_type, d.source, d.schema ?? null, d.profile ?? null],
        );
        const dataset = await tx.get<{ dataset_uuid: string }>('SELECT dataset_uuid FROM datasets WHERE experiment_id = ? AND name = ? AND digest = ?', [
          run.experiment_id,
          d.name,
          d.digest,
        ]);
        await tx.run('INSERT INTO run_inputs (input_uuid, dataset_uuid, run_uuid) VALUES (?, ?, ?) ON CONFLICT (run_uuid, dataset_uuid) DO NOTHING', [
          randomUUID().replace(/-/g, ''),
          dataset!.dataset_uuid,
          runId,
        ]);
        const link = await tx.get<{ input_uuid: string }>('SELECT input_uuid FROM run_inputs WHERE run_uuid = ? AND dataset_uuid = ?', [
          runId,
          dataset!.dataset_uuid,
        ]);
        await tx.insertMany(
          'input_tags',
          ['input_uuid', 'key', 'value'],
          dedupeTags(input.tags ?? []).map((t) => [link!.input_uuid, t.key, t.value]),
          'ON CONFLICT (input_uuid, key) DO UPDATE SET value = excluded.value',
        );
      }
    });
  }

  /** MLflow 3's runs/outputs: the logged models this run produced, at which step. */
  async logOutputs(runId: string, models: ModelOutput[]): Promise<void> {
    if (!Array.isArray(models)) throw invalid('models must be a list of {model_id, step}');
    await this.db.transaction(async (tx) => {
      await this.activeRunRow(tx, runId);
      await linkOutputs(tx, runId, models);
    });
  }

  // ---------------------------------------------------------------- run search

  private runClause(clause: Clause): Fragment {
    switch (clause.type) {
      case 'metric': {
        if (!NUMERIC_COMPARATORS.includes(clause.comparator)) {
          throw invalid(`Invalid comparator '${clause.comparator}' for metric '${clause.key}': not one of ${JSON.stringify(NUMERIC_COMPARATORS)}`);
        }
        if (typeof clause.value !== 'number' || clause.quoted) throw invalid(`Expected numeric value type for metric. Found '${String(clause.value)}'`);
        // NaN compares unequal to everything (it is stored as 0 with is_nan = 1).
        const test = clause.comparator === '!=' ? '(f.is_nan = 1 OR f.value != ?)' : `(f.is_nan = 0 AND f.value ${clause.comparator} ?)`;
        return {
          sql: `EXISTS (SELECT 1 FROM latest_metrics f WHERE f.run_uuid = r.run_uuid AND f.key = ? AND ${test})`,
          params: [clause.key, clause.value],
        };
      }
      case 'param':
      case 'tag': {
        const table = clause.type === 'param' ? 'params' : 'tags';
        const inner = stringCondition(this.db.dialect, 'f.value', clause, clause.type === 'param' ? 'Parameter' : 'Tag');
        return {
          sql: `EXISTS (SELECT 1 FROM ${table} f WHERE f.run_uuid = r.run_uuid AND f.key = ? AND ${inner.sql})`,
          params: [clause.key, ...inner.params],
        };
      }
      case 'attribute': {
        const attr = RUN_ATTRIBUTES[clause.key];
        if (attr === undefined) {
          throw invalid(`Invalid attribute key '${clause.key}' specified. Valid keys are '${JSON.stringify(Object.keys(RUN_ATTRIBUTES))}'`);
        }
        return attr.numeric ? numericCondition(attr.column, clause, 'attribute') : stringCondition(this.db.dialect, attr.column, clause, 'Attribute');
      }
      case 'dataset': {
        const columns: Record<string, string> = { name: 'd.name', digest: 'd.digest' };
        if (clause.key === 'context') {
          const inner = stringCondition(this.db.dialect, 'it.value', clause, 'Dataset');
          return {
            sql: `EXISTS (SELECT 1 FROM run_inputs i JOIN input_tags it ON it.input_uuid = i.input_uuid WHERE i.run_uuid = r.run_uuid AND it.key = 'mlflow.data.context' AND ${inner.sql})`,
            params: inner.params,
          };
        }
        if (columns[clause.key] === undefined) throw invalid(`Invalid dataset key '${clause.key}' specified. Valid keys are '["name", "digest", "context"]'`);
        const inner = stringCondition(this.db.dialect, columns[clause.key], clause, 'Dataset');
        return {
          sql: `EXISTS (SELECT 1 FROM run_inputs i JOIN datasets d ON d.dataset_uuid = i.dataset_uuid WHERE i.run_uuid = r.run_uuid AND ${inner.sql})`,
          params: inner.params,
        };
      }
    }
  }

  async searchRuns(query: SearchRunsQuery): Promise<Page<Run>> {
    const limit = checkMaxResults(query.max_results, SEARCH_MAX_RESULTS_DEFAULT, SEARCH_MAX_RESULTS_THRESHOLD);
    const offset = decodePageToken(query.page_token);
    const clauses = parseFilter(query.filter);
    const where: string[] = [lifecycleCondition('r.lifecycle_stage', query.run_view_type)];
    const whereParams: unknown[] = [];
    for (const clause of clauses) {
      const f = this.runClause(clause);
      where.push(f.sql);
      whereParams.push(...f.params);
    }
    const joins: string[] = [];
    const joinParams: unknown[] = [];
    const order: string[] = [];
    let hasStartTime = false;
    (query.order_by ?? []).forEach((text, i) => {
      const ob: OrderBy = parseOrderBy(text);
      const dir = ob.ascending ? 'ASC' : 'DESC';
      const alias = `o${i}`;
      if (ob.type === 'metric' || ob.type === 'param' || ob.type === 'tag') {
        const table = ob.type === 'metric' ? 'latest_metrics' : ob.type === 'param' ? 'params' : 'tags';
        joins.push(`LEFT JOIN ${table} ${alias} ON ${alias}.run_uuid = r.run_uuid AND ${alias}.key = ?`);
        joinParams.push(ob.key);
        // Runs without the key sort last in either direction; NaN after numbers.
        order.push(`(${alias}.value IS NULL) ASC`);
        if (ob.type === 'metric') order.push(`${alias}.is_nan ASC`);
        order.push(`${alias}.value ${dir}`);
      } else if (ob.type === 'attribute') {
        const attr = RUN_ATTRIBUTES[ob.key];
        if (attr === undefined) throw invalid(`Invalid order_by attribute '${ob.key}'. Valid keys are ${JSON.stringify(Object.keys(RUN_ATTRIBUTES))}`);
        if (attr.column === 'r.start_time') hasStartTime = true;
        if (attr.column === 'r.end_time') order.push('(r.end_time IS NULL) ASC');
        order.push(`${attr.column} ${dir}`);
      } else {
        throw invalid(`Invalid order_by entity type '${ob.type}' in '${text}'`);
      }
    });
    if (!hasStartTime) order.push('r.start_time DESC');
    order.push('r.run_uuid ASC');

    const ids = (query.experiment_ids ?? []).map(experimentIdNumber).filter((n): n is number => n !== undefined);
    if (ids.length === 0) return { items: [] };
    const sql =
      `SELECT r.* FROM runs r ${joins.join(' ')} WHERE r.experiment_id IN (${marks(ids.length)}) AND ${where.join(' AND ')} ` +
      `ORDER BY ${order.join(', ')} LIMIT ? OFFSET ?`;
    const rows = await this.db.all<RunRow>(sql, [...joinParams, ...ids, ...whereParams, limit + 1, offset]);
    return pageOf(await this.loadRuns(this.db, rows.slice(0, limit)), rows.length > limit, offset + limit);
  }
}
