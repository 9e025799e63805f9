/**
 * tracking/store/sql-registry — the model registry in the SQL store: registered models, their
 * numbered versions, tags on both, and aliases, every move of which is recorded in the alias
 * history (which outlives deletions). A rename cascades to versions, tags, aliases and history.
 */
import type { SqlDriver, SqlExecutor } from '../../db/driver.js';
import { alreadyExists, invalid, notFound } from './errors.js';
import { checkMaxResults, decodePageToken, parseFilter, parseOrderBy } from './search.js';
import { collectKeyValues, chunks, dedupeTags, groupBy, marks, numericCondition, pageOf, stringCondition, type Fragment } from './sql-common.js';
import { modelIdOfSource, modelSourceLocation, requireLoggedModels } from './sql-model-links.js';
import { MODEL_STAGES, type Actor, type AliasEvent, type ModelStage, type ModelVersion, type Page, type RegisteredModel, type SearchRegistryQuery, type Tag } from './types.js';
import { canonicalStage, parseVersion, validateAlias, validateModelName, validateTag, validateTags } from './validation.js';

/** The tag MLflow 3 marks prompts with in the model registry. */
const PROMPT_TAG = 'mlflow.prompt.is_prompt';

export const REGISTERED_MODELS_MAX_RESULTS_DEFAULT = 100;
export const REGISTERED_MODELS_MAX_RESULTS_THRESHOLD = 1000;
export const MODEL_VERSIONS_MAX_RESULTS_DEFAULT = 10000;
export const MODEL_VERSIONS_MAX_RESULTS_THRESHOLD = 200000;

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
  model_id: string | null;
  status: ModelVersion['status'];
  status_message: string | null;
  current_stage: ModelStage;
}

/** The stages archive_existing_versions applies to (MLflow's DEFAULT_STAGES_FOR_GET_LATEST_VERSIONS). */
const ACTIVE_STAGES: readonly ModelStage[] = ['Staging', 'Production'];

export class SqlRegistry {
  constructor(private readonly db: SqlDriver) {}

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
        current_stage: r.current_stage ?? 'None',
        source: r.source,
        status: r.status,
        tags: tags.get(k) ?? [],
        aliases: aliases.get(k) ?? [],
      };
      if (r.user_id !== null && r.user_id !== undefined) mv.user_id = r.user_id;
      if (r.description !== null && r.description !== undefined) mv.description = r.description;
      if (r.run_id !== null && r.run_id !== undefined) mv.run_id = r.run_id;
      if (r.run_link !== null && r.run_link !== undefined) mv.run_link = r.run_link;
      if (r.model_id !== null && r.model_id !== undefined) mv.model_id = r.model_id;
      if (r.status_message !== null && r.status_message !== undefined) mv.status_message = r.status_message;
      return mv;
    });
  }

  private async loadModels(ex: SqlExecutor, rows: ModelRow[]): Promise<RegisteredModel[]> {
    const tags = new Map<string, Tag[]>();
    const aliases = new Map<string, { alias: string; version: string }[]>();
    const latest = new Map<string, ModelVersion[]>();
    for (const part of chunks(rows.map((r) => r.name))) {
      const inList = `(${marks(part.length)})`;
      await collectKeyValues(ex, 'registered_model_tags', 'name', part, tags);
      for (const a of await ex.all<{ name: string; alias: string; version: number }>(
        `SELECT name, alias, version FROM registered_model_aliases WHERE name IN ${inList} ORDER BY alias`,
        part,
      )) {
        if (!aliases.has(a.name)) aliases.set(a.name, []);
        aliases.get(a.name)!.push({ alias: a.alias, version: String(a.version) });
      }
      // MLflow's latest_versions: the newest version of each stage.
      const versionRows = await ex.all<VersionRow>(
        `SELECT v.* FROM model_versions v
         JOIN (SELECT name, current_stage, MAX(version) AS version FROM model_versions WHERE name IN ${inList} GROUP BY name, current_stage) m
           ON m.name = v.name AND m.current_stage = v.current_stage AND m.version = v.version`,
        part,
      );
      for (const mv of await this.loadVersions(ex, versionRows)) {
        if (!latest.has(mv.name)) latest.set(mv.name, []);
        latest.get(mv.name)!.push(mv);
      }
    }
    for (const list of latest.values()) list.sort((a, b) => MODEL_STAGES.indexOf(a.current_stage) - MODEL_STAGES.indexOf(b.current_stage));
    return rows.map((r) => {
      const model: RegisteredModel = {
        name: r.name,
        creation_timestamp: r.creation_time,
        last_updated_timestamp: r.last_updated_time,
        latest_versions: latest.get(r.name) ?? [],
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
        const inner = stringCondition(this.db.dialect, 't.value', clause, 'Tag');
        f =
          kind === 'model'
            ? { sql: `EXISTS (SELECT 1 FROM registered_model_tags t WHERE t.name = m.name AND t.key = ? AND ${inner.sql})`, params: [clause.key, ...inner.params] }
            : {
                sql: `EXISTS (SELECT 1 FROM model_version_tags t WHERE t.name = v.name AND t.version = v.version AND t.key = ? AND ${inner.sql})`,
                params: [clause.key, ...inner.params],
              };
      } else if (clause.type === 'attribute' && clause.key === 'name') {
        f = stringCondition(this.db.dialect, `${alias}.name`, clause, 'Attribute');
      } else if (kind === 'version' && clause.type === 'attribute' && (clause.key === 'run_id' || clause.key === 'source_path' || clause.key === 'source')) {
        f = stringCondition(this.db.dialect, clause.key === 'run_id' ? 'v.run_id' : 'v.source', clause, 'Attribute');
      } else if (kind === 'version' && clause.type === 'attribute' && (clause.key === 'version_number' || clause.key === 'version')) {
        f = numericCondition('v.version', clause, 'version_number');
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
    return pageOf(await this.loadModels(this.db, rows.slice(0, q.limit)), rows.length > q.limit, q.offset + q.limit);
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
    input: { name: string; source: string; run_id?: string; tags?: Tag[]; run_link?: string; description?: string; model_id?: string },
    actor: Actor = {},
  ): Promise<ModelVersion> {
    const name = validateModelName(input?.name);
    if (typeof input.source !== 'string' || input.source === '') throw invalid(`Missing value for required parameter 'source'.`);
    const tags = dedupeTags(validateTags(input.tags));
    // MLflow 3 registers a logged model by `models:/m-…`, with or without model_id beside it.
    const modelId = input.model_id || modelIdOfSource(input.source) || null;
    if (input.model_id && modelIdOfSource(input.source) !== undefined && modelIdOfSource(input.source) !== input.model_id) {
      throw invalid(`model_id '${input.model_id}' differs from the logged model named by source '${input.source}'`);
    }
    return this.db.transaction(async (tx) => {
      await this.modelRow(tx, name);
      if (modelId !== null) await requireLoggedModels(tx, [modelId]);
      const now = Date.now();
      const bumped = await tx.get<{ last_version: number }>(
        'UPDATE registered_models SET last_version = last_version + 1, last_updated_time = ? WHERE name = ? RETURNING last_version',
        [now, name],
      );
      const version = Number(bumped!.last_version);
      await tx.run(
        `INSERT INTO model_versions (name, version, creation_time, last_updated_time, description, user_id, source, run_id, run_link, model_id, status, status_message)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'READY', NULL)`,
        [name, version, now, now, input.description ?? null, actor.user_id ?? null, input.source, input.run_id || null, input.run_link || null, modelId],
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
    return pageOf(await this.loadVersions(this.db, rows.slice(0, q.limit)), rows.length > q.limit, q.offset + q.limit);
  }

  /** The version's source; for a registered logged model (`models:/m-…`), where its files are. */
  async getModelVersionDownloadUri(name: string, version: string): Promise<string> {
    const source = (await this.versionRow(this.db, name, version)).source;
    return (await modelSourceLocation(this.db, source)) ?? source;
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

  async transitionModelVersionStage(name: string, version: string, stage: string, archiveExisting: boolean): Promise<ModelVersion> {
    const target = canonicalStage(stage);
    // MLflow answers this with INTERNAL_ERROR (500), a bare MlflowException; it is the caller's
    // mistake, so Kiln says INVALID_PARAMETER_VALUE (400).
    if (archiveExisting && !ACTIVE_STAGES.includes(target)) {
      throw invalid(
        `Model version transition cannot archive existing model versions because '${stage}' is not an Active stage. Valid stages are ['Staging', 'Production']`,
      );
    }
    return this.db.transaction(async (tx) => {
      const row = await this.versionRow(tx, name, version);
      const now = Date.now();
      if (archiveExisting) {
        await tx.run(
          "UPDATE model_versions SET current_stage = 'Archived', last_updated_time = ? WHERE name = ? AND version <> ? AND current_stage = ?",
          [now, name, row.version, target],
        );
      }
      await tx.run('UPDATE model_versions SET current_stage = ?, last_updated_time = ? WHERE name = ? AND version = ?', [target, now, name, row.version]);
      await tx.run('UPDATE registered_models SET last_updated_time = ? WHERE name = ?', [now, name]);
      return (await this.loadVersions(tx, [await this.versionRow(tx, name, version)]))[0];
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
}
