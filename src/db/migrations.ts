/**
 * db/migrations — versioned schema migrations, run on every open.
 *
 * `schema_version` holds one row per applied version. Migrations run inside the driver's
 * migrate(): one transaction under a cross-process lock (SQLite's write lock via BEGIN IMMEDIATE,
 * a PostgreSQL advisory lock), so two processes opening a fresh database at once apply each
 * migration exactly once, and reopening an up-to-date database changes nothing.
 */
import type { Dialect, SqlDriver, SqlExecutor } from './driver.js';

interface Types {
  /** 64-bit integer. */
  int: string;
  /** IEEE double. */
  real: string;
  /** Auto-numbered 64-bit primary key. */
  autoId: string;
  /** Deletes all but one copy of each identical metric point. */
  dedupeMetrics: string;
}

const TYPES: Record<Dialect, Types> = {
  sqlite: {
    int: 'INTEGER',
    real: 'REAL',
    autoId: 'INTEGER PRIMARY KEY',
    dedupeMetrics: 'DELETE FROM metrics WHERE rowid NOT IN (SELECT MIN(rowid) FROM metrics GROUP BY run_uuid, key, step, timestamp, value, is_nan)',
  },
  postgres: {
    int: 'BIGINT',
    real: 'DOUBLE PRECISION',
    autoId: 'BIGSERIAL PRIMARY KEY',
    dedupeMetrics: `DELETE FROM metrics a USING metrics b WHERE a.ctid > b.ctid AND a.run_uuid = b.run_uuid AND a.key = b.key
      AND a.step = b.step AND a.timestamp = b.timestamp AND a.value = b.value AND a.is_nan = b.is_nan`,
  },
};

interface Migration {
  version: number;
  description: string;
  statements(t: Types): string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'tracking and registry schema',
    statements: (t) => [
      `CREATE TABLE experiments (
        experiment_id ${t.autoId},
        name TEXT NOT NULL UNIQUE,
        artifact_location TEXT NOT NULL,
        lifecycle_stage TEXT NOT NULL DEFAULT 'active',
        creation_time ${t.int} NOT NULL,
        last_update_time ${t.int} NOT NULL
      )`,
      `CREATE TABLE experiment_tags (
        experiment_id ${t.int} NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (experiment_id, key)
      )`,
      `CREATE TABLE runs (
        run_uuid TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        experiment_id ${t.int} NOT NULL,
        user_id TEXT NOT NULL,
        status TEXT NOT NULL,
        start_time ${t.int} NOT NULL,
        end_time ${t.int},
        artifact_uri TEXT NOT NULL,
        lifecycle_stage TEXT NOT NULL DEFAULT 'active',
        deleted_time ${t.int}
      )`,
      'CREATE INDEX runs_experiment_stage_start ON runs (experiment_id, lifecycle_stage, start_time)',
      `CREATE TABLE tags (
        run_uuid TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (run_uuid, key)
      )`,
      `CREATE TABLE params (
        run_uuid TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (run_uuid, key)
      )`,
      'CREATE INDEX params_key_value ON params (key, value)',
      // NaN is stored as value 0 with is_nan 1 (SQLite turns NaN into NULL); ±Infinity is kept.
      `CREATE TABLE metrics (
        run_uuid TEXT NOT NULL,
        key TEXT NOT NULL,
        value ${t.real} NOT NULL,
        is_nan INTEGER NOT NULL DEFAULT 0,
        timestamp ${t.int} NOT NULL,
        step ${t.int} NOT NULL
      )`,
      // Covering index: history reads never touch the table.
      'CREATE INDEX metrics_run_key_step_time ON metrics (run_uuid, key, step, timestamp, value, is_nan)',
      `CREATE TABLE latest_metrics (
        run_uuid TEXT NOT NULL,
        key TEXT NOT NULL,
        value ${t.real} NOT NULL,
        is_nan INTEGER NOT NULL DEFAULT 0,
        timestamp ${t.int} NOT NULL,
        step ${t.int} NOT NULL,
        PRIMARY KEY (run_uuid, key)
      )`,
      'CREATE INDEX latest_metrics_key_value ON latest_metrics (key, value)',
      `CREATE TABLE datasets (
        dataset_uuid TEXT PRIMARY KEY,
        experiment_id ${t.int} NOT NULL,
        name TEXT NOT NULL,
        digest TEXT NOT NULL,
        source_type TEXT NOT NULL,
        source TEXT NOT NULL,
        dataset_schema TEXT,
        dataset_profile TEXT,
        UNIQUE (experiment_id, name, digest)
      )`,
      `CREATE TABLE run_inputs (
        input_uuid TEXT PRIMARY KEY,
        dataset_uuid TEXT NOT NULL,
        run_uuid TEXT NOT NULL,
        UNIQUE (run_uuid, dataset_uuid)
      )`,
      `CREATE TABLE input_tags (
        input_uuid TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (input_uuid, key)
      )`,
      `CREATE TABLE registered_models (
        name TEXT PRIMARY KEY,
        creation_time ${t.int} NOT NULL,
        last_updated_time ${t.int} NOT NULL,
        description TEXT,
        user_id TEXT,
        last_version ${t.int} NOT NULL DEFAULT 0
      )`,
      `CREATE TABLE registered_model_tags (
        name TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (name, key)
      )`,
      `CREATE TABLE model_versions (
        name TEXT NOT NULL,
        version ${t.int} NOT NULL,
        creation_time ${t.int} NOT NULL,
        last_updated_time ${t.int} NOT NULL,
        description TEXT,
        user_id TEXT,
        source TEXT NOT NULL,
        run_id TEXT,
        run_link TEXT,
        status TEXT NOT NULL,
        status_message TEXT,
        PRIMARY KEY (name, version)
      )`,
      'CREATE INDEX model_versions_run ON model_versions (run_id)',
      `CREATE TABLE model_version_tags (
        name TEXT NOT NULL,
        version ${t.int} NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (name, version, key)
      )`,
      `CREATE TABLE registered_model_aliases (
        name TEXT NOT NULL,
        alias TEXT NOT NULL,
        version ${t.int} NOT NULL,
        PRIMARY KEY (name, alias)
      )`,
      `CREATE TABLE alias_history (
        id ${t.autoId},
        name TEXT NOT NULL,
        alias TEXT NOT NULL,
        from_version ${t.int},
        to_version ${t.int},
        user_id TEXT NOT NULL,
        timestamp ${t.int} NOT NULL,
        reason TEXT
      )`,
      'CREATE INDEX alias_history_name_alias ON alias_history (name, alias, id)',
    ],
  },
  {
    // A client that retries a log-batch whose answer it lost sends the same points again; as in
    // MLflow, an identical point (run, key, step, timestamp, value) is stored once.
    version: 2,
    description: 'identical metric points are stored once',
    statements: (t) => [
      t.dedupeMetrics,
      'DROP INDEX metrics_run_key_step_time',
      'CREATE UNIQUE INDEX metrics_point ON metrics (run_uuid, key, step, timestamp, value, is_nan)',
    ],
  },
  {
    // The tuner's studies live beside the runs they produce, so every worker that reaches the
    // tracking database (SQLite on one machine, PostgreSQL on several) shares them.
    version: 3,
    description: 'tuning studies and trials',
    statements: (t) => [
      `CREATE TABLE studies (
        study_id ${t.autoId},
        name TEXT NOT NULL UNIQUE,
        direction TEXT NOT NULL,
        created_at ${t.int} NOT NULL
      )`,
      `CREATE TABLE study_attrs (
        study_id ${t.int} NOT NULL REFERENCES studies (study_id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        value_json TEXT NOT NULL,
        PRIMARY KEY (study_id, kind, key)
      )`,
      `CREATE TABLE trials (
        trial_id ${t.autoId},
        study_id ${t.int} NOT NULL REFERENCES studies (study_id) ON DELETE CASCADE,
        number ${t.int} NOT NULL,
        state TEXT NOT NULL,
        value ${t.real},
        datetime_start ${t.int},
        datetime_complete ${t.int},
        heartbeat ${t.int},
        UNIQUE (study_id, number)
      )`,
      'CREATE INDEX trials_study_state ON trials (study_id, state)',
      `CREATE TABLE trial_params (
        trial_id ${t.int} NOT NULL REFERENCES trials (trial_id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        internal_value ${t.real} NOT NULL,
        distribution_json TEXT NOT NULL,
        PRIMARY KEY (trial_id, name)
      )`,
      `CREATE TABLE trial_intermediate_values (
        trial_id ${t.int} NOT NULL REFERENCES trials (trial_id) ON DELETE CASCADE,
        step ${t.int} NOT NULL,
        value ${t.real},
        is_nan ${t.int} NOT NULL DEFAULT 0,
        PRIMARY KEY (trial_id, step)
      )`,
      `CREATE TABLE trial_attrs (
        trial_id ${t.int} NOT NULL REFERENCES trials (trial_id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        value_json TEXT NOT NULL,
        PRIMARY KEY (trial_id, kind, key)
      )`,
    ],
  },
  {
    // MLflow 3's logged models: a model is an entity of its experiment with its own params,
    // tags and metrics (each value also names the run that logged it and, optionally, the
    // dataset), produced by runs (run_model_outputs) and registered as model versions
    // (model_versions.model_id). Missing dataset names/digests are '' so the uniqueness of a
    // metric point holds (NULLs would all differ).
    version: 4,
    description: 'MLflow 3 logged models',
    statements: (t) => [
      `CREATE TABLE logged_models (
        model_id TEXT PRIMARY KEY,
        experiment_id ${t.int} NOT NULL,
        name TEXT NOT NULL,
        artifact_location TEXT NOT NULL,
        creation_timestamp_ms ${t.int} NOT NULL,
        last_updated_timestamp_ms ${t.int} NOT NULL,
        status TEXT NOT NULL,
        status_message TEXT,
        model_type TEXT,
        source_run_id TEXT,
        lifecycle_stage TEXT NOT NULL DEFAULT 'active'
      )`,
      'CREATE INDEX logged_models_experiment ON logged_models (experiment_id, lifecycle_stage, creation_timestamp_ms)',
      `CREATE TABLE logged_model_tags (
        model_id TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (model_id, key)
      )`,
      `CREATE TABLE logged_model_params (
        model_id TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (model_id, key)
      )`,
      `CREATE TABLE logged_model_metrics (
        model_id TEXT NOT NULL,
        key TEXT NOT NULL,
        value ${t.real} NOT NULL,
        is_nan ${t.int} NOT NULL DEFAULT 0,
        timestamp ${t.int} NOT NULL,
        step ${t.int} NOT NULL,
        run_id TEXT NOT NULL,
        experiment_id ${t.int} NOT NULL,
        dataset_name TEXT NOT NULL DEFAULT '',
        dataset_digest TEXT NOT NULL DEFAULT ''
      )`,
      'CREATE UNIQUE INDEX logged_model_metrics_point ON logged_model_metrics (model_id, key, step, timestamp, run_id, dataset_name, dataset_digest)',
      `CREATE TABLE run_model_outputs (
        run_uuid TEXT NOT NULL,
        model_id TEXT NOT NULL,
        step ${t.int} NOT NULL,
        PRIMARY KEY (run_uuid, model_id, step)
      )`,
      'ALTER TABLE model_versions ADD COLUMN model_id TEXT',
      'CREATE INDEX model_versions_model_id ON model_versions (model_id)',
    ],
  },
  {
    // MLflow 2's (deprecated, still served) model version stages: None, Staging, Production,
    // Archived. Existing versions start at 'None', which is what Kiln always reported.
    version: 5,
    description: 'model version stages',
    statements: () => ["ALTER TABLE model_versions ADD COLUMN current_stage TEXT NOT NULL DEFAULT 'None'"],
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/** Brings the schema to the newest version; returns the versions applied (empty when current). */
export async function migrate(driver: SqlDriver, afterwards?: (tx: SqlExecutor) => Promise<void>): Promise<number[]> {
  const applied: number[] = [];
  await driver.migrate(async (tx: SqlExecutor) => {
    const t = TYPES[tx.dialect];
    await tx.run(`CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at ${t.int} NOT NULL)`);
    const row = await tx.get<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_version');
    const current = row?.v ?? 0;
    if (current > LATEST_SCHEMA_VERSION) {
      throw new Error(
        `tracking store schema is at version ${current}, newer than this Kiln understands (${LATEST_SCHEMA_VERSION}); upgrade Kiln`,
      );
    }
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      for (const statement of migration.statements(t)) await tx.run(statement);
      await tx.run('INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)', [
        migration.version,
        migration.description,
        Date.now(),
      ]);
      applied.push(migration.version);
    }
    if (afterwards !== undefined) await afterwards(tx);
  });
  return applied;
}
