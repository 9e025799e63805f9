/**
 * tracking/store/sql-common — the SQL building blocks every entity of the SQL store shares:
 * chunked IN-lists, lifecycle (view type) conditions, MLflow's string and numeric filter
 * comparators compiled to parameterised fragments, pages, and the search limits.
 *
 * Kept apart so that each entity file (sql-experiments, sql-runs, sql-registry, ...) states only
 * its own semantics; the dialect differences of filtering (LIKE on SQLite) live here, once.
 */
import type { Dialect, SqlExecutor } from '../../db/driver.js';
import { invalid } from './errors.js';
import { encodePageToken, likeToGlob, type Clause } from './search.js';
import type { Page, Tag, ViewType } from './types.js';

export const SEARCH_MAX_RESULTS_DEFAULT = 1000;
export const SEARCH_MAX_RESULTS_THRESHOLD = 50000;

/** IN-lists are chunked so no statement carries too many parameters. */
const CHUNK = 500;

export interface Fragment {
  sql: string;
  params: unknown[];
}

export function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function marks(n: number): string {
  return new Array(n).fill('?').join(', ');
}

/** Appends `item` to the list `map` holds under `key`, starting the list when there is none. */
export function pushTo<K, T>(map: Map<K, T[]>, key: K, item: T): void {
  let list = map.get(key);
  if (list === undefined) map.set(key, (list = []));
  list.push(item);
}

/**
 * The (key, value) rows of `table` whose `owner` column is in `ids` (one chunk), ordered by key,
 * appended per owner to `into`: the tags and params of experiments, runs, dataset inputs,
 * registered and logged models. `ownerOf` turns the column's value into the map's key (a driver
 * may return an integer id as a string). `table` and `owner` are the store's own names, never input.
 */
export async function collectKeyValues<K>(ex: SqlExecutor, table: string, owner: string, ids: readonly K[], into: Map<K, Tag[]>, ownerOf: (value: unknown) => K = (value) => value as K): Promise<void> {
  const rows = await ex.all<{ owner: unknown; key: string; value: string }>(`SELECT ${owner} AS owner, key, value FROM ${table} WHERE ${owner} IN (${marks(ids.length)}) ORDER BY key`, [...ids]);
  for (const row of rows) pushTo(into, ownerOf(row.owner), { key: row.key, value: row.value });
}

export function groupBy<T, K>(rows: readonly T[], key: (row: T) => K): Map<K, T[]> {
  const map = new Map<K, T[]>();
  for (const row of rows) pushTo(map, key(row), row);
  return map;
}

export function lifecycleCondition(column: string, view: ViewType | undefined): string {
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
export function experimentIdNumber(id: unknown): number | undefined {
  const text = String(id);
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

export const STRING_COMPARATORS = ['=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'];
export const NUMERIC_COMPARATORS = ['=', '!=', '<', '<=', '>', '>='];

function like(dialect: Dialect, column: string, comparator: 'LIKE' | 'ILIKE', pattern: string): Fragment {
  if (dialect === 'sqlite') {
    return comparator === 'LIKE'
      ? { sql: `${column} GLOB ?`, params: [likeToGlob(pattern)] }
      : { sql: `${column} LIKE ? ESCAPE '\\'`, params: [pattern] };
  }
  return { sql: `${column} ${comparator} ?`, params: [pattern] };
}

export function stringCondition(dialect: Dialect, column: string, clause: Clause, label: string): Fragment {
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
      return like(dialect, column, clause.comparator, value as string);
    default:
      return { sql: `${column} ${clause.comparator} ?`, params: [value] };
  }
}

export function numericCondition(column: string, clause: Clause, label: string): Fragment {
  if (!NUMERIC_COMPARATORS.includes(clause.comparator)) {
    throw invalid(`Invalid comparator '${clause.comparator}' for ${label} '${clause.key}': not one of ${JSON.stringify(NUMERIC_COMPARATORS)}`);
  }
  if (typeof clause.value !== 'number' || clause.quoted) {
    throw invalid(`Expected numeric value type for ${label}. Found '${String(clause.value)}'`);
  }
  return { sql: `${column} ${clause.comparator} ?`, params: [clause.value] };
}

/** A page of `items`; a token for the next one when the query found more. */
export function pageOf<T>(items: T[], more: boolean, nextOffset: number): Page<T> {
  return more ? { items, next_page_token: encodePageToken(nextOffset) } : { items };
}

/** Last value wins for a repeated key (one row per key, as the upserts need). */
export function dedupeTags(tags: Tag[]): Tag[] {
  const map = new Map<string, string>();
  for (const t of tags) map.set(t.key, t.value);
  return [...map].map(([key, value]) => ({ key, value }));
}
