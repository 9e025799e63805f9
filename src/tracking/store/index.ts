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
 * sql-runs, sql-registry, sql-logged-models, joined by sql-model-links) over a small async
 * driver (driver.ts) with two dialects:
 * sqlite.ts (better-sqlite3; WAL, busy_timeout 10 s, synchronous=NORMAL, BEGIN IMMEDIATE for
 * every write transaction; safe for several processes on one file) and postgres.ts (pg Pool).
 * migrations.ts versions the schema (`schema_version` table), applied on every open under a
 * cross-process lock. search.ts parses MLflow's filter/order_by grammar into clauses compiled to
 * parameterised SQL. Semantics and error messages follow MLflow's sqlalchemy stores; errors are
 * TrackingError with MLflow's codes (errors.ts).
 */
import { resolve } from 'node:path';
import type { SqlDriver } from './driver.js';
import { migrate } from './migrations.js';
import { SqlTrackingStore } from './sql-store.js';
import type { TrackingStore } from './types.js';

export * from './types.js';
export * from './errors.js';
export { SqlTrackingStore } from './sql-store.js';
export { parseFilter, parseOrderBy } from './search.js';
export { LATEST_SCHEMA_VERSION } from './migrations.js';
export type { Dialect, SqlDriver, SqlExecutor } from './driver.js';

export interface OpenStoreOptions {
  /** Prefix of new experiments' artifact locations (default `<cwd>/mlruns`). */
  artifactRoot?: string;
}

/** Parses a store URI into a dialect and its target (a file path, ':memory:' or a connection string). */
export function parseStoreUri(uri: string): { dialect: 'sqlite'; path: string } | { dialect: 'postgres'; connectionString: string } {
  if (typeof uri !== 'string' || uri === '') throw new Error('store URI is empty; use sqlite:///path.db or postgresql://user:pass@host:port/db');
  if (uri === 'sqlite::memory:' || uri === 'sqlite://' || uri === 'sqlite:///:memory:') return { dialect: 'sqlite', path: ':memory:' };
  if (uri.startsWith('sqlite:///')) {
    const rest = uri.slice('sqlite:///'.length);
    if (rest === '') throw new Error(`store URI '${uri}' has no database path`);
    // sqlite:////abs → '/abs'; sqlite:///rel → 'rel' (relative to the working directory).
    return { dialect: 'sqlite', path: resolve(rest) };
  }
  const scheme = /^([a-z0-9+]+):\/\//i.exec(uri)?.[1]?.toLowerCase();
  if (scheme === 'postgresql' || scheme === 'postgres' || scheme?.startsWith('postgresql+')) {
    return { dialect: 'postgres', connectionString: uri.replace(/^[^:]+:/, 'postgresql:') };
  }
  throw new Error(`unsupported store URI '${uri}': use sqlite:///relative.db, sqlite:////absolute.db, sqlite::memory: or postgresql://user:pass@host:port/db`);
}

async function connect(uri: string): Promise<SqlDriver> {
  const target = parseStoreUri(uri);
  let driver: SqlDriver;
  if (target.dialect === 'sqlite') {
    const { SqliteDriver } = await import('./sqlite.js');
    driver = await SqliteDriver.open(target.path);
  } else {
    const { PostgresDriver } = await import('./postgres.js');
    driver = await PostgresDriver.open(target.connectionString);
  }
  try {
    await migrate(driver);
  } catch (err) {
    await driver.close().catch(() => undefined);
    throw err;
  }
  return driver;
}

/**
 * One connection per database per process. better-sqlite3 is synchronous: were the tracking
 * store and the tuner's study storage to hold two connections to one file, a write on one while
 * the other sat inside a transaction (across an await) would block the whole process for the
 * busy timeout. Sharing the connection puts both behind its transaction mutex instead.
 */
const shared = new Map<string, { driver: Promise<SqlDriver>; users: number }>();

function sharedKey(uri: string): string | null {
  const target = parseStoreUri(uri);
  if (target.dialect === 'sqlite') return target.path === ':memory:' ? null : `sqlite:${target.path}`;
  return `postgres:${target.connectionString}`;
}

/** A handle on a shared connection: closing it closes the connection when no one else uses it. */
function handle(key: string, driver: SqlDriver): SqlDriver {
  let closed = false;
  return Object.assign(Object.create(driver) as SqlDriver, {
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      const entry = shared.get(key);
      if (entry === undefined) return;
      entry.users -= 1;
      if (entry.users === 0) {
        shared.delete(key);
        await driver.close();
      }
    },
  });
}

/**
 * Opens the database at `uri`, bringing its schema (tracking, registry and the tuner's studies)
 * to the newest version. Handles on the same database within a process share one connection.
 * For areas that keep tables in the tracking database (the tuner); most callers want openStore.
 */
export async function openDatabase(uri: string): Promise<SqlDriver> {
  const key = sharedKey(uri);
  if (key === null) return connect(uri);
  let entry = shared.get(key);
  if (entry === undefined) {
    entry = { driver: connect(uri), users: 0 };
    shared.set(key, entry);
    entry.driver.catch(() => shared.delete(key));
  }
  entry.users += 1;
  try {
    return handle(key, await entry.driver);
  } catch (err) {
    entry.users -= 1;
    throw err;
  }
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
