/**
 * tracking/store/sql-experiments — experiments in the SQL store: integer ids with "Default" as
 * "0", artifact locations under the store's artifact root, tags, search, soft delete and restore
 * (which carry the experiment's runs with them, as MLflow does).
 *
 * The other entities reach an experiment's row through `experimentRow` (runs are created under
 * one, logged models too).
 */
import type { SqlDriver, SqlExecutor } from '../../db/driver.js';
import { alreadyExists, invalid, notFound } from './errors.js';
import { checkMaxResults, decodePageToken, parseFilter, parseOrderBy } from './search.js';
import {
  collectKeyValues,
  SEARCH_MAX_RESULTS_DEFAULT,
  SEARCH_MAX_RESULTS_THRESHOLD,
  chunks,
  dedupeTags,
  experimentIdNumber,
  lifecycleCondition,
  numericCondition,
  pageOf,
  stringCondition,
  type Fragment,
} from './sql-common.js';
import type { Experiment, LifecycleStage, Page, SearchExperimentsQuery, Tag } from './types.js';
import { validateExperimentName, validateTag, validateTags } from './validation.js';

export const DEFAULT_EXPERIMENT_ID = '0';
export const DEFAULT_EXPERIMENT_NAME = 'Default';

export interface ExperimentRow {
  experiment_id: number;
  name: string;
  artifact_location: string;
  lifecycle_stage: LifecycleStage;
  creation_time: number;
  last_update_time: number;
}

export class SqlExperiments {
  constructor(
    private readonly db: SqlDriver,
    private readonly artifactRoot: string,
  ) {}

  /** Creates the Default experiment ("0") when absent. */
  async ensureDefault(): Promise<void> {
    const now = Date.now();
    await this.db.run(
      `INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
       VALUES (0, ?, ?, 'active', ?, ?) ON CONFLICT DO NOTHING`,
      [DEFAULT_EXPERIMENT_NAME, this.experimentLocation(DEFAULT_EXPERIMENT_ID), now, now],
    );
  }

  private experimentLocation(experimentId: string): string {
    return `${this.artifactRoot}/${experimentId}`;
  }

  /** The experiment's row, in any lifecycle stage; RESOURCE_DOES_NOT_EXIST when absent. */
  async experimentRow(ex: SqlExecutor, experimentId: string): Promise<ExperimentRow> {
    const id = experimentIdNumber(experimentId);
    const row = id === undefined ? undefined : await ex.get<ExperimentRow>('SELECT * FROM experiments WHERE experiment_id = ?', [id]);
    if (row === undefined) throw notFound(`No Experiment with id=${experimentId} exists`);
    return row;
  }

  async activeExperimentRow(ex: SqlExecutor, experimentId: string): Promise<ExperimentRow> {
    const row = await this.experimentRow(ex, experimentId);
    if (row.lifecycle_stage !== 'active') {
      throw invalid(`The experiment ${experimentId} must be in the 'active' state. Current state is ${row.lifecycle_stage}.`);
    }
    return row;
  }

  private async loadExperiments(ex: SqlExecutor, rows: ExperimentRow[]): Promise<Experiment[]> {
    const tags = new Map<number, Tag[]>();
    for (const part of chunks(rows.map((r) => r.experiment_id))) {
      await collectKeyValues(ex, 'experiment_tags', 'experiment_id', part, tags, Number);
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
        if (clause.key === 'name') fragment = stringCondition(this.db.dialect, 'e.name', clause, 'attribute');
        else if (clause.key === 'creation_time' || clause.key === 'last_update_time') {
          fragment = numericCondition(`e.${clause.key}`, clause, 'attribute');
        } else {
          throw invalid(`Invalid attribute key '${clause.key}' specified. Valid keys are '["name", "creation_time", "last_update_time"]'`);
        }
      } else if (clause.type === 'tag') {
        const inner = stringCondition(this.db.dialect, 't.value', clause, 'Tag');
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
    return pageOf(await this.loadExperiments(this.db, rows.slice(0, limit)), rows.length > limit, offset + limit);
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

  async deleteExperimentTag(experimentId: string, key: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      // MLflow checks the experiment is active, as for set-experiment-tag.
      const row = await this.activeExperimentRow(tx, experimentId);
      const changed = await tx.run('DELETE FROM experiment_tags WHERE experiment_id = ? AND key = ?', [row.experiment_id, key]);
      if (changed === 0) throw notFound(`No tag with name: ${key} in experiment with id ${experimentId}`);
    });
  }
}
