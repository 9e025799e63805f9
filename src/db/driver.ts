/**
 * db/driver — the small async SQL driver interface the tracking store and the study storage speak.
 *
 * SQL text uses `?` placeholders in both dialects (the PostgreSQL driver rewrites them to `$n`);
 * user values always travel as parameters, never inside the SQL text.
 */
export type Dialect = 'sqlite' | 'postgres';

export type Row = Record<string, unknown>;

export interface SqlExecutor {
  readonly dialect: Dialect;
  all<T = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  get<T = Row>(sql: string, params?: readonly unknown[]): Promise<T | undefined>;
  /** Runs a statement; resolves to the number of rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  /**
   * Inserts many rows into `table`; `suffix` (e.g. an ON CONFLICT clause) follows the VALUES.
   * SQLite loops one prepared statement; PostgreSQL sends multi-row INSERTs.
   */
  insertMany(table: string, columns: readonly string[], rows: readonly (readonly unknown[])[], suffix?: string): Promise<void>;
}

export interface SqlDriver extends SqlExecutor {
  /** Runs `fn` in one write transaction (BEGIN IMMEDIATE on SQLite); commits, or rolls back on throw. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Runs the schema migrations under the dialect's cross-process lock. */
  migrate(fn: (tx: SqlExecutor) => Promise<void>): Promise<void>;
  isUniqueViolation(err: unknown): boolean;
  close(): Promise<void>;
}

/** Serialises async sections on one connection. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  lock<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
