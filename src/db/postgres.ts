/**
 * db/postgres — the PostgreSQL dialect over a pg Pool.
 *
 * `?` placeholders are rewritten to `$1..$n` (outside string literals); int8 columns are parsed
 * to JS numbers (epoch milliseconds and ids fit in 2^53); float8 keeps NaN and ±Infinity.
 * Migrations run under a transaction-scoped advisory lock so concurrent openers serialise.
 */
import pg from 'pg';
import type { Row, SqlDriver, SqlExecutor } from './driver.js';

const INT8_OID = 20;
const MIGRATION_LOCK_KEY = 4_242_001;
const ROWS_PER_INSERT = 500;

const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return (value: string) => (value === null ? null : Number(value));
    return pg.types.getTypeParser(oid, format);
  },
} as unknown as pg.CustomTypesConfig;

const converted = new Map<string, string>();

/** Rewrites `?` to `$n`, leaving quoted literals and identifiers alone. */
export function toPgPlaceholders(sql: string): string {
  const hit = converted.get(sql);
  if (hit !== undefined) return hit;
  let out = '';
  let n = 0;
  let quote: string | null = null;
  for (const ch of sql) {
    if (quote !== null) {
      if (ch === quote) quote = null;
      out += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
    } else if (ch === '?') {
      out += `$${++n}`;
    } else {
      out += ch;
    }
  }
  if (converted.size > 2000) converted.clear();
  converted.set(sql, out);
  return out;
}

interface Queryable {
  query(text: string, values?: unknown[]): Promise<pg.QueryResult>;
}

class PgExecutor implements SqlExecutor {
  readonly dialect = 'postgres' as const;

  constructor(protected readonly target: Queryable) {}

  protected async query(sql: string, params: readonly unknown[]): Promise<pg.QueryResult> {
    return this.target.query(toPgPlaceholders(sql), params as unknown[]);
  }

  async all<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.query(sql, params)).rows as T[];
  }

  async get<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    return (await this.query(sql, params)).rows[0] as T | undefined;
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<number> {
    return (await this.query(sql, params)).rowCount ?? 0;
  }

  async insertMany(table: string, columns: readonly string[], rows: readonly (readonly unknown[])[], suffix = ''): Promise<void> {
    for (let start = 0; start < rows.length; start += ROWS_PER_INSERT) {
      const chunk = rows.slice(start, start + ROWS_PER_INSERT);
      const tuple = `(${columns.map(() => '?').join(', ')})`;
      const sql = `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${chunk.map(() => tuple).join(', ')} ${suffix}`;
      await this.query(sql, chunk.flat());
    }
  }
}

export class PostgresDriver extends PgExecutor implements SqlDriver {
  private constructor(private readonly pool: pg.Pool) {
    super(pool);
  }

  static async open(connectionString: string): Promise<PostgresDriver> {
    const pool = new pg.Pool({ connectionString, types, max: 10 });
    // A dropped idle connection must not crash the process.
    pool.on('error', () => undefined);
    try {
      await pool.query('SELECT 1');
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new PostgresDriver(pool);
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      try {
        const result = await fn(new PgExecutor(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    } finally {
      client.release();
    }
  }

  migrate(fn: (tx: SqlExecutor) => Promise<void>): Promise<void> {
    return this.transaction(async (tx) => {
      await tx.run(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
      await fn(tx);
    });
  }

  isUniqueViolation(err: unknown): boolean {
    return (err as { code?: unknown } | null)?.code === '23505';
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
