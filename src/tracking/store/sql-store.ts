/**
 * tracking/store/sql-store — the one SQL implementation of TrackingStore, shared by the SQLite
 * and PostgreSQL dialects through the small driver interface in driver.ts.
 *
 * Semantics follow MLflow's sqlalchemy stores (tracking and model registry): integer experiment
 * ids with "Default" as "0", 32-hex run ids, immutable params, metrics kept as full history plus
 * a latest_metrics row per (run, key) chosen by max step, then max timestamp, then max value;
 * soft delete/restore of experiments and runs; registry names cascading on rename. Every write
 * touching several rows runs in one transaction. Reads of a page of runs or models load their
 * tags/params/metrics in a few set-based queries (never one query per entity).
 */
import { randomUUID } from 'node:crypto';
import type { SqlDriver, SqlExecutor } from './driver.js';
import { alreadyExists, invalid, notFound } from './errors.js';
import { generateRunName } from './names.js';
import {
  checkMaxResults,
  decodePageToken,
  encodePageToken,
  likeToGlob,
  parseFilter,
  parseOrderBy,
  type Clause,
  type OrderBy,
} from './search.js';
import type {
  Actor,
  AliasEvent,
  DatasetInput,
  Experiment,
  LifecycleStage,
  LogBatch,
  Metric,
  ModelVersion,
  Page,
  Param,
  RegisteredModel,
  Run,
  RunInfo,
  RunStatus,
  SearchExperimentsQuery,
  SearchRegistryQuery,
  SearchRunsQuery,
  Tag,
  TrackingStore,
  ViewType,
} from './types.js';
import {
  parseVersion,
  validateAlias,
  validateBatch,
  validateDatasetInputs,
  validateExperimentName,
  validateModelName,
  validateRunName,
  validateRunStatus,
  validateTag,
  validateTags,
} from './validation.js';

/** The tag MLflow 3 marks prompts with in the model registry. */
const PROMPT_TAG = 'mlflow.prompt.is_prompt';

export const RUN_NAME_TAG = 'mlflow.runName';
export const PARENT_RUN_ID_TAG = 'mlflow.parentRunId';
export const DEFAULT_EXPERIMENT_ID = '0';
export const DEFAULT_EXPERIMENT_NAME = 'Default';

export const SEARCH_MAX_RESULTS_DEFAULT = 1000;
export const SEARCH_MAX_RESULTS_THRESHOLD = 50000;
export const REGISTERED_MODELS_MAX_RESULTS_DEFAULT = 100;
export const REGISTERED_MODELS_MAX_RESULTS_THRESHOLD = 1000;
export const MODEL_VERSIONS_MAX_RESULTS_DEFAULT = 10000;
export const MODEL_VERSIONS_MAX_RESULTS_THRESHOLD = 200000;

/** IN-lists are chunked so no statement carries too many parameters. */
const CHUNK = 500;

interface ExperimentRow {
  experiment_id: number;
  name: string;
  artifact_location: string;
  lifecycle_stage: LifecycleStage;
  creation_time: number;
  last_update_time: number;
}

interface RunRow {
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

interface ModelRow {
  name: string;
  creation_time: number;
  last_updated_time: number;
  description: string | null;
  user_id: string | null;
}

interface VersionRow {
  name: string;
  version: number;
  creation_time: number;
  last_updated_time: number;
  description: string | null;
  user_id: string | null;
  source: string;
  run_id: string | null;
  run_link: string | null;
  status: ModelVersion['status'];
  status_message: string | null;
}

interface Fragment {
  sql: string;
  params: unknown[];
}

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function marks(n: number): string {
  return new Array(n).fill('?').join(', ');
}

function groupBy<T, K>(rows: readonly T[], key: (row: T) => K): Map<K, T[]> {
  const map = new Map<K, T[]>();
  for (const row of rows) {
    const k = key(row);
    let list = map.get(k);
    if (list === undefined) map.set(k, (list = []));
    list.push(row);
  }
  return map;
}

function lifecycleCondition(column: string, view: ViewType | undefined): string {
  switch (view ?? 'ACTIVE_ONLY') {
    case 'ACTIVE_ONLY':
      return `${column} = 'active'`;
    case 'DELETED_ONLY':
      return `${column} = 'deleted'`;
    case 'ALL':
      return `${column} IN ('active', 'deleted')`;
    default:
      throw invalid(`Invalid view type '${String(view)}'. Valid values are ['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL']`);
  }
}

/** Parses an experiment id; undefined when it is not an integer (so it cannot exist). */
function experimentIdNumber(id: unknown): number | undefined {
  const text = String(id);
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
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

const STRING_COMPARATORS = ['=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'];
const NUMERIC_COMPARATORS = ['=', '!=', '<', '<=', '>', '>='];

export class SqlTrackingStore implements TrackingStore {
  private constructor(
    private readonly db: SqlDriver,
    private readonly artifactRoot: string,
  ) {}

  /**
   * The store over a database whose schema is current (as `openDatabase` returns it); creates
   * the Default experiment when absent.
   */
  static async create(db: SqlDriver, artifactRoot: string): Promise<SqlTrackingStore> {
    const store = new SqlTrackingStore(db, artifactRoot.replace(/\/+$/, ''));
    const now = Date.now();
    await db.run(
      `INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
       VALUES (0, ?, ?, 'active', ?, ?) ON CONFLICT DO NOTHING`,
      [DEFAULT_EXPERIMENT_NAME, store.experimentLocation(DEFAULT_EXPERIMENT_ID), now, now],
    );
    return store;
  }

  private experimentLocation(experimentId: string): string {
    return `${this.artifactRoot}/${experimentId}`;
  }

  // ---------------------------------------------------------------- filters

  private like(column: string, comparator: 'LIKE' | 'ILIKE', pattern: string): Fragment {
    if (this.db.dialect === 'sqlite') {
      return comparator === 'LIKE'
        ? { sql: `${column} GLOB ?`, params: [likeToGlob(pattern)] }
        : { sql: `${column} LIKE ? ESCAPE '\\'`, params: [pattern] };
    }
    return { sql: `${column} ${comparator} ?`, params: [pattern] };
  }

  private stringCondition(column: string, clause: Clause, label: string): Fragment {
    if (!STRING_COMPARATORS.includes(clause.comparator)) {
      throw invalid(`Invalid comparator '${clause.comparator}' for ${label} '${clause.key}': not one of ${JSON.stringify(STRING_COMPARATORS)}`);
    }
    if (!clause.quoted) {
      throw invalid(
        `${label} value is either not quoted or unidentified quote types used for string value ${String(clause.value)}. Use either single or double quotes.`,
      );
    }
    const value = clause.value;
    switch (clause.comparator) {
      case 'IN':
      case 'NOT IN': {
        const list = value as string[];
        return { sql: `${column} ${clause.comparator} (${marks(list.length)})`, params: list };
      }
      case 'LIKE':
      case 'ILIKE':
        return this.like(column, clause.comparator, value as string);
      default:
        return { sql: `${column} ${clause.comparator} ?`, params: [value] };
    }
  }

  private numericCondition(column: string, clause: Clause, label: string): Fragment {
    if (!NUMERIC_COMPARATORS.includes(clause.comparator)) {
      throw invalid(`Invalid comparator '${clause.comparator}' for ${label} '${clause.key}': not one of ${JSON.stringify(NUMERIC_COMPARATORS)}`);
    }
    if (typeof clause.value !== 'number' || clause.quoted) {
      throw invalid(`Expected numeric value type for ${label}. Found '${String(clause.value)}'`);
    }
    return { sql: `${column} ${clause.comparator} ?`, params: [clause.value] };
  }

  // ---------------------------------------------------------------- experiments

  private async experimentRow(ex: SqlExecutor, experimentId: string): Promise<ExperimentRow> {
    const id = experimentIdNumber(experimentId);
    const row = id === undefined ? undefined : await ex.get<ExperimentRow>('SELECT * FROM experiments WHERE experiment_id = ?', [id]);
    if (row === undefined) throw notFound(`No Experiment with id=${experimentId} exists`);
    return row;
  }

  private async activeExperimentRow(ex: SqlExecutor, experimentId: string): Promise<ExperimentRow> {
    const row = await this.experimentRow(ex, experimentId);
    if (row.lifecycle_stage !== 'active') {
      throw invalid(`The experiment ${experimentId} must be in the 'active' state. Current state is ${row.lifecycle_stage}.`);
    }
    return row;
  }

  private async loadExperiments(ex: SqlExecutor, rows: ExperimentRow[]): Promise<Experiment[]> {
    const tags = new Map<number, Tag[]>();
    for (const part of chunks(rows.map((r) => r.experiment_id))) {
      const tagRows = await ex.all<{ experiment_id: number; key: string; value: string }>(
        `SELECT experiment_id, key, value FROM experiment_tags WHERE experiment_id IN (${marks(part.length)}) ORDER BY key`,
        part,
      );
      for (const t of tagRows) {
        const id = Number(t.experiment_id);
        if (!tags.has(id)) tags.set(id, []);
        tags.get(id)!.push({ key: t.key, value: t.value });
      }
    }
    return rows.map((row) => ({
      experiment_id: String(row.experiment_id),
      name: row.name,
      artifact_location: row.artifact_location,
      lifecycle_stage: row.lifecycle_stage,
      creation_time: row.creation_time,
      last_update_time: row.last_update_time,
      tags: tags.get(Number(row.experiment_id)) ?? [],
    }));
  }

  async createExperiment(input: { name: string; artifact_location?: string; tags?: Tag[] }): Promise<string> {
    const name = validateExperimentName(input?.name);
    const tags = validateTags(input.tags);
    try {
      return await this.db.transaction(async (tx) => {
        const existing = await tx.get('SELECT experiment_id FROM experiments WHERE name = ?', [name]);
        if (existing !== undefined) throw alreadyExists(`Experiment(name=${name}) already exists.`);
        const now = Date.now();
        const row = await tx.get<{ experiment_id: number }>(
          `INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, last_update_time)
           VALUES (?, ?, 'active', ?, ?) RETURNING experiment_id`,
          [name, input.artifact_location ?? '', now, now],
        );
        const id = String(row!.experiment_id);
        if (!input.artifact_location) {
          await tx.run('UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?', [this.experimentLocation(id), Number(id)]);
        }
        await tx.insertMany(
          'experiment_tags',
          ['experiment_id', 'key', 'value'],
          dedupeTags(tags).map((t) => [Number(id), t.key, t.value]),
        );
        return id;
      });
    } catch (err) {
      if (this.db.isUniqueViolation(err)) throw alreadyExists(`Experiment(name=${name}) already exists.`);
      throw err;
    }
  }

  async getExperiment(experimentId: string): Promise<Experiment> {
    const row = await this.experimentRow(this.db, experimentId);
    return (await this.loadExperiments(this.db, [row]))[0];
  }

  async getExperimentByName(name: string): Promise<Experiment> {
    const row = await this.db.get<ExperimentRow>('SELECT * FROM experiments WHERE name = ?', [name]);
    if (row === undefined) throw notFound(`Could not find experiment with name '${name}'`);
    return (await this.loadExperiments(this.db, [row]))[0];
  }

  async searchExperiments(query: SearchExperimentsQuery = {}): Promise<Page<Experiment>> {
    const limit = checkMaxResults(query.max_results, SEARCH_MAX_RESULTS_DEFAULT, SEARCH_MAX_RESULTS_THRESHOLD);
    const offset = decodePageToken(query.page_token);
    const where: string[] = [lifecycleCondition('e.lifecycle_stage', query.view_type)];
    const params: unknown[] = [];
    for (const clause of parseFilter(query.filter)) {
      let fragment: Fragment;
      if (clause.type === 'attribute') {
        if (clause.key === 'name') fragment = this.stringCondition('e.name', clause, 'attribute');
        else if (clause.key === 'creation_time' || clause.key === 'last_update_time') {
          fragment = this.numericCondition(`e.${clause.key}`, clause, 'attribute');
        } else {
          throw invalid(`Invalid attribute key '${clause.key}' specified. Valid keys are '["name", "creation_time", "last_update_time"]'`);
        }
      } else if (clause.type === 'tag') {
        const inner = this.stringCondition('t.value', clause, 'Tag');
        fragment = {
          sql: `EXISTS (SELECT 1 FROM experiment_tags t WHERE t.experiment_id = e.experiment_id AND t.key = ? AND ${inner.sql})`,
          params: [clause.key, ...inner.params],
        };
      } else {
        throw invalid(`Invalid entity type '${clause.type}' in experiment filter. Valid values are ['attribute', 'tag']`);
      }
      where.push(fragment.sql);
      params.push(...fragment.params);
    }
    const order: string[] = [];
    const seen = new Set<string>();
    for (const text of query.order_by ?? []) {
      const ob = parseOrderBy(text);
      const columns: Record<string, string> = {
        name: 'e.name',
        experiment_id: 'e.experiment_id',
        creation_time: 'e.creation_time',
        last_update_time: 'e.last_update_time',
      };
      if (ob.type !== 'attribute' || columns[ob.key] === undefined) {
        throw invalid(`Invalid order_by entity '${text}'. Valid keys are ${JSON.stringify(Object.keys(columns))}`);
      }
      order.push(`${columns[ob.key]} ${ob.ascending ? 'ASC' : 'DESC'}`);
      seen.add(ob.key);
    }
    if (!seen.has('creation_time')) order.push('e.creation_time DESC');
    if (!seen.has('experiment_id')) order.push('e.experiment_id ASC');
    const rows = await this.db.all<ExperimentRow>(
      `SELECT e.* FROM experiments e WHERE ${where.join(' AND ')} ORDER BY ${order.join(', ')} LIMIT ? OFFSET ?`,
      [...params, limit + 1, offset],
    );
    return this.page(await this.loadExperiments(this.db, rows.slice(0, limit)), rows.length > limit, offset + limit);
  }

  private page<T>(items: T[], more: boolean, nextOffset: number): Page<T> {
    return more ? { items, next_page_token: encodePageToken(nextOffset) } : { items };
  }

  async renameExperiment(experimentId: string, newName: string): Promise<void> {
    const name = validateExperimentName(newName);
    try {
      await this.db.transaction(async (tx) => {
        const row = await this.experimentRow(tx, experimentId);
        if (row.lifecycle_stage !== 'active') throw invalid('Cannot rename a non-active experiment.');
        const clash = await tx.get<{ experiment_id: number }>('SELECT experiment_id FROM experiments WHERE name = ?', [name]);
        if (clash !== undefined && Number(clash.experiment_id) !== Number(row.experiment_id)) {
          throw alreadyExists(`Experiment(name=${name}) already exists.`);
        }
        await tx.run('UPDATE experiments SET name = ?, last_update_time = ? WHERE experiment_id = ?', [name, Date.now(), row.experiment_id]);
      });
    } catch (err) {
      if (this.db.isUniqueViolation(err)) throw alreadyExists(`Experiment(name=${name}) already exists.`);
      throw err;
    }
  }

  async deleteExperiment(experimentId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const row = await this.experimentRow(tx, experimentId);
      if (row.lifecycle_stage !== 'active') throw notFound(`No Experiment with id=${experimentId} exists`);
      const now = Date.now();
      await tx.run(`UPDATE experiments SET lifecycle_stage = 'deleted', last_update_time = ? WHERE experiment_id = ?`, [now, row.experiment_id]);
      // As MLflow does: the experiment's runs are deleted with it.
      await tx.run(`UPDATE runs SET lifecycle_stage = 'deleted', deleted_time = ? WHERE experiment_id = ? AND lifecycle_stage = 'active'`, [
        now,
        row.experiment_id,
      ]);
    });
  }

  async restoreExperiment(experimentId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const row = await this.experimentRow(tx, experimentId);
      if (row.lifecycle_stage === 'active') throw invalid('Cannot restore an active experiment.');
      await tx.run(`UPDATE experiments SET lifecycle_stage = 'active', last_update_time = ? WHERE experiment_id = ?`, [Date.now(), row.experiment_id]);
      await tx.run(`UPDATE runs SET lifecycle_stage = 'active', deleted_time = NULL WHERE experiment_id = ? AND lifecycle_stage = 'deleted'`, [
        row.experiment_id,
      ]);
    });
  }

  async setExperimentTag(experimentId: string, tag: Tag): Promise<void> {
    validateTag(tag);
    await this.db.transaction(async (tx) => {
      const row = await this.activeExperimentRow(tx, experimentId);
      await tx.run(
        'INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?) ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value',
        [row.experiment_id, tag.key, tag.value],
      );
    });
  }

  // ---------------------------------------------------------------- runs

  private async runRow(ex: SqlExecutor, runId: string): Promise<RunRow> {
    const row = typeof runId === 'string' ? await ex.get<RunRow>('SELECT * FROM runs WHERE run_uuid = ?', [runId]) : undefined;
    if (row === undefined) throw notFound(`Run with id=${runId} not found`);
    return row;
  }

  private async activeRunRow(ex: SqlExecutor, runId: string): Promise<RunRow> {
    const row = await this.runRow(ex, runId);
    if (row.lifecycle_stage !== 'active') {
      throw invalid(`The run ${runId} must be in the 'active' state. Current state is ${row.lifecycle_stage}.`);
    }
    return row;
  }

  private static runInfo(row: RunRow): RunInfo {
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

  /** Builds full Run objects for a page of rows: five set-based queries per 500 runs. */
  private async loadRuns(ex: SqlExecutor, rows: RunRow[]): Promise<Run[]> {
    const metrics = new Map<string, Metric[]>();
    const params = new Map<string, Param[]>();
    const tags = new Map<string, Tag[]>();
    const inputs = new Map<string, DatasetInput[]>();
    const push = <T>(map: Map<string, T[]>, id: string, item: T) => {
      let list = map.get(id);
      if (list === undefined) map.set(id, (list = []));
      list.push(item);
    };
    for (const part of chunks(rows.map((r) => r.run_uuid))) {
      const inList = `(${marks(part.length)})`;
      for (const m of await ex.all<MetricRow & { run_uuid: string }>(
        `SELECT run_uuid, key, value, is_nan, timestamp, step FROM latest_metrics WHERE run_uuid IN ${inList} ORDER BY key`,
        part,
      )) {
        push(metrics, m.run_uuid, toMetric(m));
      }
      for (const p of await ex.all<{ run_uuid: string; key: string; value: string }>(
        `SELECT run_uuid, key, value FROM params WHERE run_uuid IN ${inList} ORDER BY key`,
        part,
      )) {
        push(params, p.run_uuid, { key: p.key, value: p.value });
      }
      for (const t of await ex.all<{ run_uuid: string; key: string; value: string }>(
        `SELECT run_uuid, key, value FROM tags WHERE run_uuid IN ${inList} ORDER BY key`,
        part,
      )) {
        push(tags, t.run_uuid, { key: t.key, value: t.value });
      }
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
        for (const ip of chunks(inputRows.map((r) => r.input_uuid))) {
          for (const t of await ex.all<{ input_uuid: string; key: string; value: string }>(
            `SELECT input_uuid, key, value FROM input_tags WHERE input_uuid IN (${marks(ip.length)}) ORDER BY key`,
            ip,
          )) {
            push(inputTags, t.input_uuid, { key: t.key, value: t.value });
          }
        }
        for (const r of inputRows) {
          const dataset: DatasetInput['dataset'] = { name: r.name, digest: r.digest, source_type: r.source_type, source: r.source };
          if (r.dataset_schema !== null) dataset.schema = r.dataset_schema;
          if (r.dataset_profile !== null) dataset.profile = r.dataset_profile;
          push(inputs, r.run_uuid, { tags: inputTags.get(r.input_uuid) ?? [], dataset });
        }
      }
    }
    return rows.map((row) => ({
      info: SqlTrackingStore.runInfo(row),
      data: { metrics: metrics.get(row.run_uuid) ?? [], params: params.get(row.run_uuid) ?? [], tags: tags.get(row.run_uuid) ?? [] },
      inputs: { dataset_inputs: inputs.get(row.run_uuid) ?? [] },
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
      const experiment = await this.experimentRow(tx, input.experiment_id);
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
      return SqlTrackingStore.runInfo(row);
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
      await this.activeRunRow(tx, runId);
      if (params.length > 0) await this.logParams(tx, runId, params);
      if (metrics.length > 0) await this.logMetrics(tx, runId, metrics);
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
    return this.page(items.slice(0, limit), items.length > limit, offset + limit);
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
        const inner = this.stringCondition('f.value', clause, clause.type === 'param' ? 'Parameter' : 'Tag');
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
        return attr.numeric ? this.numericCondition(attr.column, clause, 'attribute') : this.stringCondition(attr.column, clause, 'Attribute');
      }
      case 'dataset': {
        const columns: Record<string, string> = { name: 'd.name', digest: 'd.digest' };
        if (clause.key === 'context') {
          const inner = this.stringCondition('it.value', clause, 'Dataset');
          return {
            sql: `EXISTS (SELECT 1 FROM run_inputs i JOIN input_tags it ON it.input_uuid = i.input_uuid WHERE i.run_uuid = r.run_uuid AND it.key = 'mlflow.data.context' AND ${inner.sql})`,
            params: inner.params,
          };
        }
        if (columns[clause.key] === undefined) throw invalid(`Invalid dataset key '${clause.key}' specified. Valid keys are '["name", "digest", "context"]'`);
        const inner = this.stringCondition(columns[clause.key], clause, 'Dataset');
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
    return this.page(await this.loadRuns(this.db, rows.slice(0, limit)), rows.length > limit, offset + limit);
  }

  // ---------------------------------------------------------------- registered models

  private async modelRow(ex: SqlExecutor, name: string): Promise<ModelRow> {
    const row = typeof name === 'string' ? await ex.get<ModelRow>('SELECT * FROM registered_models WHERE name = ?', [name]) : undefined;
    if (row === undefined) throw notFound(`Registered Model with name=${name} not found`);
    return row;
  }

  private async versionRow(ex: SqlExecutor, name: string, version: string): Promise<VersionRow> {
    const v = parseVersion(version);
    const row = await ex.get<VersionRow>('SELECT * FROM model_versions WHERE name = ? AND version = ?', [name, v]);
    if (row === undefined) throw notFound(`Model Version (name=${name}, version=${version}) not found`);
    return row;
  }

  private async loadVersions(ex: SqlExecutor, rows: VersionRow[]): Promise<ModelVersion[]> {
    const tags = new Map<string, Tag[]>();
    const aliases = new Map<string, string[]>();
    const byName = groupBy(rows, (r) => r.name);
    for (const [name, list] of byName) {
      for (const part of chunks(list.map((r) => Number(r.version)))) {
        for (const t of await ex.all<{ version: number; key: string; value: string }>(
          `SELECT version, key, value FROM model_version_tags WHERE name = ? AND version IN (${marks(part.length)}) ORDER BY key`,
          [name, ...part],
        )) {
          const k = `${name}\u0000${Number(t.version)}`;
          if (!tags.has(k)) tags.set(k, []);
          tags.get(k)!.push({ key: t.key, value: t.value });
        }
        for (const a of await ex.all<{ version: number; alias: string }>(
          `SELECT version, alias FROM registered_model_aliases WHERE name = ? AND version IN (${marks(part.length)}) ORDER BY alias`,
          [name, ...part],
        )) {
          const k = `${name}\u0000${Number(a.version)}`;
          if (!aliases.has(k)) aliases.set(k, []);
          aliases.get(k)!.push(a.alias);
        }
      }
    }
    return rows.map((r) => {
      const k = `${r.name}\u0000${Number(r.version)}`;
      const mv: ModelVersion = {
        name: r.name,
        version: String(r.version),
        creation_timestamp: r.creation_time,
        last_updated_timestamp: r.last_updated_time,
        current_stage: 'None',
        source: r.source,
        status: r.status,
        tags: tags.get(k) ?? [],
        aliases: aliases.get(k) ?? [],
      };
      if (r.user_id !== null && r.user_id !== undefined) mv.user_id = r.user_id;
      if (r.description !== null && r.description !== undefined) mv.description = r.description;
      if (r.run_id !== null && r.run_id !== undefined) mv.run_id = r.run_id;
      if (r.run_link !== null && r.run_link !== undefined) mv.run_link = r.run_link;
      if (r.status_message !== null && r.status_message !== undefined) mv.status_message = r.status_message;
      return mv;
    });
  }

  private async loadModels(ex: SqlExecutor, rows: ModelRow[]): Promise<RegisteredModel[]> {
    const tags = new Map<string, Tag[]>();
    const aliases = new Map<string, { alias: string; version: string }[]>();
    const latest = new Map<string, ModelVersion>();
    for (const part of chunks(rows.map((r) => r.name))) {
      const inList = `(${marks(part.length)})`;
      for (const t of await ex.all<{ name: string; key: string; value: string }>(
        `SELECT name, key, value FROM registered_model_tags WHERE name IN ${inList} ORDER BY key`,
        part,
      )) {
        if (!tags.has(t.name)) tags.set(t.name, []);
        tags.get(t.name)!.push({ key: t.key, value: t.value });
      }
      for (const a of await ex.all<{ name: string; alias: string; version: number }>(
        `SELECT name, alias, version FROM registered_model_aliases WHERE name IN ${inList} ORDER BY alias`,
        part,
      )) {
        if (!aliases.has(a.name)) aliases.set(a.name, []);
        aliases.get(a.name)!.push({ alias: a.alias, version: String(a.version) });
      }
      const versionRows = await ex.all<VersionRow>(
        `SELECT v.* FROM model_versions v
         JOIN (SELECT name, MAX(version) AS version FROM model_versions WHERE name IN ${inList} GROUP BY name) m
           ON m.name = v.name AND m.version = v.version`,
        part,
      );
      for (const mv of await this.loadVersions(ex, versionRows)) latest.set(mv.name, mv);
    }
    return rows.map((r) => {
      const model: RegisteredModel = {
        name: r.name,
        creation_timestamp: r.creation_time,
        last_updated_timestamp: r.last_updated_time,
        latest_versions: latest.has(r.name) ? [latest.get(r.name)!] : [],
        tags: tags.get(r.name) ?? [],
        aliases: aliases.get(r.name) ?? [],
      };
      if (r.user_id !== null && r.user_id !== undefined) model.user_id = r.user_id;
      if (r.description !== null && r.description !== undefined) model.description = r.description;
      return model;
    });
  }

  async createRegisteredModel(input: { name: string; tags?: Tag[]; description?: string }, actor: Actor = {}): Promise<RegisteredModel> {
    const name = validateModelName(input?.name);
    const tags = dedupeTags(validateTags(input.tags));
    try {
      return await this.db.transaction(async (tx) => {
        if ((await tx.get('SELECT name FROM registered_models WHERE name = ?', [name])) !== undefined) {
          throw alreadyExists(`Registered Model (name=${name}) already exists.`);
        }
        const now = Date.now();
        await tx.run(
          'INSERT INTO registered_models (name, creation_time, last_updated_time, description, user_id, last_version) VALUES (?, ?, ?, ?, ?, 0)',
          [name, now, now, input.description ?? null, actor.user_id ?? null],
        );
        await tx.insertMany(
          'registered_model_tags',
          ['name', 'key', 'value'],
          tags.map((t) => [name, t.key, t.value]),
        );
        return (await this.loadModels(tx, [await this.modelRow(tx, name)]))[0];
      });
    } catch (err) {
      if (this.db.isUniqueViolation(err)) throw alreadyExists(`Registered Model (name=${name}) already exists.`);
      throw err;
    }
  }

  async getRegisteredModel(name: string): Promise<RegisteredModel> {
    return (await this.loadModels(this.db, [await this.modelRow(this.db, name)]))[0];
  }

  async renameRegisteredModel(name: string, newName: string): Promise<RegisteredModel> {
    const target = validateModelName(newName);
    try {
      return await this.db.transaction(async (tx) => {
        await this.modelRow(tx, name);
        if (target !== name) {
          if ((await tx.get('SELECT name FROM registered_models WHERE name = ?', [target])) !== undefined) {
            throw alreadyExists(`Registered Model (name=${target}) already exists.`);
          }
          const now = Date.now();
          await tx.run('UPDATE registered_models SET name = ?, last_updated_time = ? WHERE name = ?', [target, now, name]);
          for (const table of ['registered_model_tags', 'model_version_tags', 'registered_model_aliases', 'alias_history']) {
            await tx.run(`UPDATE ${table} SET name = ? WHERE name = ?`, [target, name]);
          }
          await tx.run('UPDATE model_versions SET name = ?, last_updated_time = ? WHERE name = ?', [target, now, name]);
        }
        return (await this.loadModels(tx, [await this.modelRow(tx, target)]))[0];
      });
    } catch (err) {
      if (this.db.isUniqueViolation(err)) throw alreadyExists(`Registered Model (name=${target}) already exists.`);
      throw err;
    }
  }

  async updateRegisteredModel(name: string, description: string): Promise<RegisteredModel> {
    return this.db.transaction(async (tx) => {
      await this.modelRow(tx, name);
      await tx.run('UPDATE registered_models SET description = ?, last_updated_time = ? WHERE name = ?', [description ?? null, Date.now(), name]);
      return (await this.loadModels(tx, [await this.modelRow(tx, name)]))[0];
    });
  }

  async deleteRegisteredModel(name: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.modelRow(tx, name);
      const now = Date.now();
      // The alias history outlives the model: record each alias going away.
      for (const a of await tx.all<{ alias: string; version: number }>('SELECT alias, version FROM registered_model_aliases WHERE name = ?', [name])) {
        await tx.run(
          'INSERT INTO alias_history (name, alias, from_version, to_version, user_id, timestamp, reason) VALUES (?, ?, ?, NULL, ?, ?, ?)',
          [name, a.alias, a.version, '', now, 'registered model deleted'],
        );
      }
      for (const table of ['registered_model_aliases', 'model_version_tags', 'model_versions', 'registered_model_tags', 'registered_models']) {
        await tx.run(`DELETE FROM ${table} WHERE name = ?`, [name]);
      }
    });
  }

  private registryQuery(
    query: SearchRegistryQuery,
    kind: 'model' | 'version',
  ): { where: string[]; params: unknown[]; order: string[]; limit: number; offset: number } {
    const limit =
      kind === 'model'
        ? checkMaxResults(query.max_results, REGISTERED_MODELS_MAX_RESULTS_DEFAULT, REGISTERED_MODELS_MAX_RESULTS_THRESHOLD)
        : checkMaxResults(query.max_results, MODEL_VERSIONS_MAX_RESULTS_DEFAULT, MODEL_VERSIONS_MAX_RESULTS_THRESHOLD);
    const offset = decodePageToken(query.page_token);
    const alias = kind === 'model' ? 'm' : 'v';
    const where: string[] = [];
    const params: unknown[] = [];
    for (const clause of parseFilter(query.filter)) {
      let f: Fragment;
      if (kind === 'model' && clause.type === 'tag' && clause.key === PROMPT_TAG && clause.comparator === '!=') {
        // Every MLflow 3 client sends `tag.mlflow.prompt.is_prompt != 'true'` to leave prompts out;
        // MLflow keeps the models that have no such tag at all, and so does Kiln.
        f = { sql: `NOT EXISTS (SELECT 1 FROM registered_model_tags t WHERE t.name = m.name AND t.key = ? AND t.value = ?)`, params: [clause.key, String(clause.value)] };
      } else if (clause.type === 'tag') {
        const inner = this.stringCondition('t.value', clause, 'Tag');
        f =
          kind === 'model'
            ? { sql: `EXISTS (SELECT 1 FROM registered_model_tags t WHERE t.name = m.name AND t.key = ? AND ${inner.sql})`, params: [clause.key, ...inner.params] }
            : {
                sql: `EXISTS (SELECT 1 FROM model_version_tags t WHERE t.name = v.name AND t.version = v.version AND t.key = ? AND ${inner.sql})`,
                params: [clause.key, ...inner.params],
              };
      } else if (clause.type === 'attribute' && clause.key === 'name') {
        f = this.stringCondition(`${alias}.name`, clause, 'Attribute');
      } else if (kind === 'version' && clause.type === 'attribute' && (clause.key === 'run_id' || clause.key === 'source_path' || clause.key === 'source')) {
        f = this.stringCondition(clause.key === 'run_id' ? 'v.run_id' : 'v.source', clause, 'Attribute');
      } else if (kind === 'version' && clause.type === 'attribute' && (clause.key === 'version_number' || clause.key === 'version')) {
        f = this.numericCondition('v.version', clause, 'version_number');
      } else {
        const valid = kind === 'model' ? '["name", "tags.<key>"]' : '["name", "run_id", "source_path", "version_number", "tags.<key>"]';
        throw invalid(`Invalid filter key '${clause.type === 'attribute' ? clause.key : `${clause.type}s.${clause.key}`}'. Valid keys are ${valid}`);
      }
      where.push(f.sql);
      params.push(...f.params);
    }
    const columns: Record<string, string> =
      kind === 'model'
        ? { name: 'm.name', timestamp: 'm.last_updated_time', last_updated_timestamp: 'm.last_updated_time', creation_timestamp: 'm.creation_time' }
        : {
            name: 'v.name',
            version_number: 'v.version',
            timestamp: 'v.last_updated_time',
            last_updated_timestamp: 'v.last_updated_time',
            creation_timestamp: 'v.creation_time',
          };
    const order: string[] = [];
    const used = new Set<string>();
    for (const text of query.order_by ?? []) {
      const ob = parseOrderBy(text);
      const column = ob.type === 'attribute' ? columns[ob.key] : undefined;
      if (column === undefined) throw invalid(`Invalid order by key '${text}' specified. Valid keys are ${JSON.stringify(Object.keys(columns))}`);
      order.push(`${column} ${ob.ascending ? 'ASC' : 'DESC'}`);
      used.add(column);
    }
    if (!used.has(`${alias}.name`)) order.push(`${alias}.name ASC`);
    if (kind === 'version' && !used.has('v.version')) order.push('v.version DESC');
    return { where, params, order, limit, offset };
  }

  async searchRegisteredModels(query: SearchRegistryQuery = {}): Promise<Page<RegisteredModel>> {
    const q = this.registryQuery(query, 'model');
    const rows = await this.db.all<ModelRow>(
      `SELECT m.* FROM registered_models m ${q.where.length ? `WHERE ${q.where.join(' AND ')}` : ''} ORDER BY ${q.order.join(', ')} LIMIT ? OFFSET ?`,
      [...q.params, q.limit + 1, q.offset],
    );
    return this.page(await this.loadModels(this.db, rows.slice(0, q.limit)), rows.length > q.limit, q.offset + q.limit);
  }

  async setRegisteredModelTag(name: string, tag: Tag): Promise<void> {
    validateTag(tag);
    await this.db.transaction(async (tx) => {
      await this.modelRow(tx, name);
      await tx.run('INSERT INTO registered_model_tags (name, key, value) VALUES (?, ?, ?) ON CONFLICT (name, key) DO UPDATE SET value = excluded.value', [
        name,
        tag.key,
        tag.value,
      ]);
    });
  }

  async deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.modelRow(tx, name);
      await tx.run('DELETE FROM registered_model_tags WHERE name = ? AND key = ?', [name, key]);
    });
  }

  // ---------------------------------------------------------------- model versions

  async createModelVersion(
    input: { name: string; source: string; run_id?: string; tags?: Tag[]; run_link?: string; description?: string },
    actor: Actor = {},
  ): Promise<ModelVersion> {
    const name = validateModelName(input?.name);
    if (typeof input.source !== 'string' || input.source === '') throw invalid(`Missing value for required parameter 'source'.`);
    const tags = dedupeTags(validateTags(input.tags));
    return this.db.transaction(async (tx) => {
      await this.modelRow(tx, name);
      const now = Date.now();
      const bumped = await tx.get<{ last_version: number }>(
        'UPDATE registered_models SET last_version = last_version + 1, last_updated_time = ? WHERE name = ? RETURNING last_version',
        [now, name],
      );
      const version = Number(bumped!.last_version);
      await tx.run(
        `INSERT INTO model_versions (name, version, creation_time, last_updated_time, description, user_id, source, run_id, run_link, status, status_message)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'READY', NULL)`,
        [name, version, now, now, input.description ?? null, actor.user_id ?? null, input.source, input.run_id || null, input.run_link || null],
      );
      await tx.insertMany(
        'model_version_tags',
        ['name', 'version', 'key', 'value'],
        tags.map((t) => [name, version, t.key, t.value]),
      );
      return (await this.loadVersions(tx, [await this.versionRow(tx, name, String(version))]))[0];
    });
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersion> {
    return (await this.loadVersions(this.db, [await this.versionRow(this.db, name, version)]))[0];
  }

  async updateModelVersion(name: string, version: string, description: string): Promise<ModelVersion> {
    return this.db.transaction(async (tx) => {
      const row = await this.versionRow(tx, name, version);
      await tx.run('UPDATE model_versions SET description = ?, last_updated_time = ? WHERE name = ? AND version = ?', [
        description ?? null,
        Date.now(),
        name,
        row.version,
      ]);
      return (await this.loadVersions(tx, [await this.versionRow(tx, name, version)]))[0];
    });
  }

  async deleteModelVersion(name: string, version: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const row = await this.versionRow(tx, name, version);
      const now = Date.now();
      for (const a of await tx.all<{ alias: string }>('SELECT alias FROM registered_model_aliases WHERE name = ? AND version = ?', [name, row.version])) {
        await tx.run(
          'INSERT INTO alias_history (name, alias, from_version, to_version, user_id, timestamp, reason) VALUES (?, ?, ?, NULL, ?, ?, ?)',
          [name, a.alias, row.version, '', now, 'model version deleted'],
        );
      }
      await tx.run('DELETE FROM registered_model_aliases WHERE name = ? AND version = ?', [name, row.version]);
      await tx.run('DELETE FROM model_version_tags WHERE name = ? AND version = ?', [name, row.version]);
      await tx.run('DELETE FROM model_versions WHERE name = ? AND version = ?', [name, row.version]);
      await tx.run('UPDATE registered_models SET last_updated_time = ? WHERE name = ?', [now, name]);
    });
  }

  async searchModelVersions(query: SearchRegistryQuery = {}): Promise<Page<ModelVersion>> {
    const q = this.registryQuery(query, 'version');
    const rows = await this.db.all<VersionRow>(
      `SELECT v.* FROM model_versions v ${q.where.length ? `WHERE ${q.where.join(' AND ')}` : ''} ORDER BY ${q.order.join(', ')} LIMIT ? OFFSET ?`,
      [...q.params, q.limit + 1, q.offset],
    );
    return this.page(await this.loadVersions(this.db, rows.slice(0, q.limit)), rows.length > q.limit, q.offset + q.limit);
  }

  async getModelVersionDownloadUri(name: string, version: string): Promise<string> {
    return (await this.versionRow(this.db, name, version)).source;
  }

  async setModelVersionTag(name: string, version: string, tag: Tag): Promise<void> {
    validateTag(tag);
    await this.db.transaction(async (tx) => {
      const row = await this.versionRow(tx, name, version);
      await tx.run(
        'INSERT INTO model_version_tags (name, version, key, value) VALUES (?, ?, ?, ?) ON CONFLICT (name, version, key) DO UPDATE SET value = excluded.value',
        [name, row.version, tag.key, tag.value],
      );
    });
  }

  async deleteModelVersionTag(name: string, version: string, key: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const row = await this.versionRow(tx, name, version);
      await tx.run('DELETE FROM model_version_tags WHERE name = ? AND version = ? AND key = ?', [name, row.version, key]);
    });
  }

  // ---------------------------------------------------------------- aliases

  async setRegisteredModelAlias(name: string, alias: string, version: string, actor: Actor = {}): Promise<void> {
    validateAlias(alias);
    await this.db.transaction(async (tx) => {
      const row = await this.versionRow(tx, name, version);
      const before = await tx.get<{ version: number }>('SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?', [name, alias]);
      await tx.run(
        'INSERT INTO registered_model_aliases (name, alias, version) VALUES (?, ?, ?) ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version',
        [name, alias, row.version],
      );
      await tx.run(
        'INSERT INTO alias_history (name, alias, from_version, to_version, user_id, timestamp, reason) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [name, alias, before?.version ?? null, row.version, actor.user_id ?? '', Date.now(), actor.reason ?? null],
      );
    });
  }

  async deleteRegisteredModelAlias(name: string, alias: string, actor: Actor = {}): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.modelRow(tx, name);
      const before = await tx.get<{ version: number }>('SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?', [name, alias]);
      if (before === undefined) return;
      await tx.run('DELETE FROM registered_model_aliases WHERE name = ? AND alias = ?', [name, alias]);
      await tx.run(
        'INSERT INTO alias_history (name, alias, from_version, to_version, user_id, timestamp, reason) VALUES (?, ?, ?, NULL, ?, ?, ?)',
        [name, alias, before.version, actor.user_id ?? '', Date.now(), actor.reason ?? null],
      );
    });
  }

  async getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    await this.modelRow(this.db, name);
    const row = await this.db.get<{ version: number }>('SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?', [name, alias]);
    if (row === undefined) throw notFound(`Registered model alias ${alias} not found.`);
    return this.getModelVersion(name, String(row.version));
  }

  async getAliasHistory(name: string, alias?: string): Promise<AliasEvent[]> {
    await this.modelRow(this.db, name);
    const rows = await this.db.all<{
      name: string;
      alias: string;
      from_version: number | null;
      to_version: number | null;
      user_id: string;
      timestamp: number;
      reason: string | null;
    }>(
      `SELECT name, alias, from_version, to_version, user_id, timestamp, reason FROM alias_history WHERE name = ?${alias !== undefined ? ' AND alias = ?' : ''} ORDER BY id`,
      alias !== undefined ? [name, alias] : [name],
    );
    return rows.map((r) => {
      const event: AliasEvent = {
        name: r.name,
        alias: r.alias,
        from_version: r.from_version === null ? null : String(r.from_version),
        to_version: r.to_version === null ? null : String(r.to_version),
        user_id: r.user_id,
        timestamp: r.timestamp,
      };
      if (r.reason !== null) event.reason = r.reason;
      return event;
    });
  }

  async close(): Promise<void> {
    await this.db.close();
  }
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

/** Last value wins for a repeated key (one row per key, as the upserts need). */
function dedupeTags(tags: Tag[]): Tag[] {
  const map = new Map<string, string>();
  for (const t of tags) map.set(t.key, t.value);
  return [...map].map(([key, value]) => ({ key, value }));
}
