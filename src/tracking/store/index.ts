/**
 * tracking/store — Kiln's experiment-tracking and model-registry store.
 *
 * ## Opening
 *
 *     import { openStore } from './tracking/store/index.js';
 *     const store = await openStore('sqlite:///kiln-data/mlflow.db', { artifactRoot: 'mlflow-artifacts:' });
 *
 * URIs (MLflow's forms):
 *   - `sqlite:///relative/path.db`      relative to the working directory
 *   - `sqlite:////absolute/path.db`     absolute (four slashes, as in SQLAlchemy/MLflow)
 *   - `sqlite::memory:` (or `sqlite://`) an in-memory database, gone on close
 *   - `postgresql://user:pass@host:port/db` (also `postgres://`, `postgresql+psycopg2://`)
 *
 * `artifactRoot` is the prefix of new experiments' artifact locations: an experiment gets
 * `<artifactRoot>/<experiment_id>` and its runs `<location>/<run_id>/artifacts`. Any string
 * works: a path, `file:///...`, or `mlflow-artifacts:` (giving `mlflow-artifacts:/<id>`) when
 * the server proxies artifacts. Default: `<cwd>/mlruns`.
 *
 * ## Design
 *
 * One SQL implementation (sql-store.ts, composing one module per entity: sql-experiments,
 * sql-runs, sql-registry, sql-logged-models, joined by sql-model-links) over the database layer
 * in src/db, which the tuner's study storage shares: a small async driver (db/driver.ts) with two
 * dialects, db/sqlite.ts (better-sqlite3; WAL, busy_timeout 10 s, synchronous=NORMAL, BEGIN
 * IMMEDIATE for every write transaction; safe for several processes on one file) and
 * db/postgres.ts (pg Pool); db/migrations.ts versions the schema (`schema_version` table),
 * applied on every open under a cross-process lock. search.ts parses MLflow's filter/order_by grammar into clauses compiled to
 * parameterised SQL. Semantics and error messages follow MLflow's sqlalchemy stores; errors are
 * TrackingError with MLflow's codes (errors.ts).
 */
import { resolve } from 'node:path';
import { openDatabase } from '../../db/index.js';
import { SqlTrackingStore } from './sql-store.js';
import type { TrackingStore } from './types.js';

export * from './types.js';
export * from './errors.js';
export { SqlTrackingStore } from './sql-store.js';
export { parseFilter, parseOrderBy } from './search.js';
// The database layer lives in src/db (shared with the tuner's study storage); re-exported for
// the callers that open a tracking database by URI.
export { LATEST_SCHEMA_VERSION, openDatabase, parseStoreUri, type Dialect, type SqlDriver, type SqlExecutor } from '../../db/index.js';

export interface OpenStoreOptions {
  /** Prefix of new experiments' artifact locations (default `<cwd>/mlruns`). */
  artifactRoot?: string;
}

/** Opens (creating and migrating when needed) the tracking store at `uri`. */
export async function openStore(uri: string, options: OpenStoreOptions = {}): Promise<TrackingStore> {
  const driver = await openDatabase(uri);
  try {
    return await SqlTrackingStore.create(driver, options.artifactRoot ?? resolve('mlruns'));
  } catch (err) {
    await driver.close().catch(() => undefined);
    throw err;
  }
}
