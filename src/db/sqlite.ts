/**
 * db/sqlite — the SQLite dialect over better-sqlite3.
 *
 * WAL journal, synchronous=NORMAL (durable across process crashes; a power cut may lose the
 * newest commits), busy_timeout 10 s so several processes can share one file, and every write
 * transaction opened with BEGIN IMMEDIATE so writers queue on the lock instead of failing with
 * SQLITE_BUSY on upgrade. better-sqlite3 is synchronous; an async mutex keeps one transaction at a
 * time on the connection.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Mutex, type Row, type SqlDriver, type SqlExecutor } from './driver.js';

type Statement = Database.Statement<unknown[]>;

const BUSY_RETRY_MS = 30_000;

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

class SqliteExecutor implements SqlExecutor {
  readonly dialect = 'sqlite' as const;
  constructor(
    readonly db: Database.Database,
    private readonly cache: Map<string, Statement>,
  ) {}

  prepare(sql: string): Statement {
    let stmt = this.cache.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare(sql);
      if (this.cache.size > 500) this.cache.clear();
      this.cache.set(sql, stmt);
    }
    return stmt;
  }

  async all<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.prepare(sql).all(...params) as T[];
  }

  async get<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    return this.prepare(sql).get(...params) as T | undefined;
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<number> {
    const stmt = this.prepare(sql);
    if (!stmt.reader) return stmt.run(...params).changes;
    stmt.all(...params);
    return 0;
  }

  async insertMany(table: string, columns: readonly string[], rows: readonly (readonly unknown[])[], suffix = ''): Promise<void> {
    if (rows.length === 0) return;
    const stmt = this.prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ${suffix}`);
    for (const row of rows) stmt.run(...row);
  }
}

export class SqliteDriver extends SqliteExecutor implements SqlDriver {
  private readonly mutex = new Mutex();

  private readonly inner: SqliteExecutor;

  private constructor(db: Database.Database) {
    const cache = new Map<string, Statement>();
    super(db, cache);
    this.inner = new SqliteExecutor(db, cache);
  }

  static async open(path: string): Promise<SqliteDriver> {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path);
    // busy_timeout first: switching to WAL needs a lock another process may hold.
    db.pragma('busy_timeout = 10000');
    const deadline = Date.now() + BUSY_RETRY_MS;
    for (;;) {
      try {
        if (path !== ':memory:') db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        db.pragma('foreign_keys = OFF');
        break;
      } catch (err) {
        if (!isBusy(err) || Date.now() > deadline) {
          db.close();
          throw err;
        }
        await sleep(20);
      }
    }
    return new SqliteDriver(db);
  }

  override async all<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.mutex.lock(() => super.all<T>(sql, params));
  }

  override async get<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    return this.mutex.lock(() => super.get<T>(sql, params));
  }

  override async run(sql: string, params: readonly unknown[] = []): Promise<number> {
    return this.mutex.lock(() => super.run(sql, params));
  }

  override async insertMany(table: string, columns: readonly string[], rows: readonly (readonly unknown[])[], suffix = ''): Promise<void> {
    return this.transaction((tx) => tx.insertMany(table, columns, rows, suffix));
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.mutex.lock(async () => {
      const inner = this.inner;
      await this.begin();
      try {
        const result = await fn(inner);
        this.db.exec('COMMIT');
        return result;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    });
  }

  migrate(fn: (tx: SqlExecutor) => Promise<void>): Promise<void> {
    // BEGIN IMMEDIATE takes SQLite's write lock: a second process opening at the same time
    // waits here, then sees the schema already at the newest version.
    return this.transaction(fn);
  }

  /** BEGIN IMMEDIATE, retrying past busy_timeout for a long-held lock. */
  private async begin(): Promise<void> {
    const deadline = Date.now() + BUSY_RETRY_MS;
    for (;;) {
      try {
        this.db.exec('BEGIN IMMEDIATE');
        return;
      } catch (err) {
        if (!isBusy(err) || Date.now() > deadline) throw err;
        await sleep(10);
      }
    }
  }

  isUniqueViolation(err: unknown): boolean {
    const code = (err as { code?: unknown } | null)?.code;
    return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
  }

  async close(): Promise<void> {
    await this.mutex.lock(async () => {
      if (this.db.open) this.db.close();
    });
  }
}
