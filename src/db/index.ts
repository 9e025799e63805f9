/**
 * db — the SQL layer under both the tracking store (tracking/store) and the tuner's study
 * storage (tune/storage/sql): store URIs, one shared connection per database per process, the
 * two dialects (sqlite.ts, postgres.ts) behind one small driver interface (driver.ts), and the
 * schema migrations of every table both areas keep in that database (migrations.ts). It knows
 * no entity: tracking and tuning build their stores on top of it.
 *
 * URIs (MLflow's forms): `sqlite:///relative.db`, `sqlite:////absolute.db`, `sqlite::memory:`
 * (or `sqlite://`), `postgresql://user:pass@host:port/db` (also `postgres://`, `postgresql+…://`).
 *
 * @example
 * const db = await openDatabase('sqlite:///kiln-data/tracking.db'); // migrated to the newest schema
 * const rows = await db.all('SELECT name FROM studies');
 */
import { resolve } from 'node:path';
import type { SqlDriver } from './driver.js';
import { migrate } from './migrations.js';

export { LATEST_SCHEMA_VERSION } from './migrations.js';
export type { Dialect, Row, SqlDriver, SqlExecutor } from './driver.js';

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
 * The tracking store and the tuner's study storage both open theirs here.
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
