/**
 * tracking/store/search — MLflow's search filter and order_by grammar, parsed into clauses that
 * the store compiles to parameterised SQL.
 *
 *   filter     := clause (AND clause)*
 *   clause     := identifier comparator value
 *   identifier := [entity '.'] key            entity: metrics params tags attributes datasets
 *                                              (singular forms, `attr`, `run` also accepted);
 *                                              key may be `back quoted` or "double quoted"
 *   comparator := = | != | < | <= | > | >= | LIKE | ILIKE | IN | NOT IN
 *   value      := 'string' | "string" | number | '(' string (',' string)* ')'
 *   order_by   := identifier [ASC | DESC]
 *
 * A bare identifier (no entity) is an attribute, as in MLflow. MLflow has no OR for runs; OR is
 * rejected with INVALID_PARAMETER_VALUE, as is any syntax error (the message gives the position).
 */
import { invalid } from './errors.js';

export type EntityType = 'metric' | 'param' | 'tag' | 'attribute' | 'dataset';
export type Comparator = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'LIKE' | 'ILIKE' | 'IN' | 'NOT IN';

export interface Clause {
  type: EntityType;
  key: string;
  comparator: Comparator;
  value: string | number | string[];
  /** Whether the value was a quoted string (or a list of them). */
  quoted: boolean;
}

export interface OrderBy {
  type: EntityType;
  key: string;
  ascending: boolean;
}

const ENTITIES: Record<string, EntityType> = {
  metric: 'metric',
  metrics: 'metric',
  param: 'param',
  params: 'param',
  parameter: 'param',
  parameters: 'param',
  tag: 'tag',
  tags: 'tag',
  attribute: 'attribute',
  attributes: 'attribute',
  attr: 'attribute',
  run: 'attribute',
  dataset: 'dataset',
  datasets: 'dataset',
};

type Token =
  | { kind: 'ident'; pos: number; entity: string | null; key: string; text: string }
  | { kind: 'string'; pos: number; value: string; text: string }
  | { kind: 'number'; pos: number; value: number; text: string }
  | { kind: 'op'; pos: number; value: string; text: string }
  | { kind: 'punct'; pos: number; value: '(' | ')' | ','; text: string }
  | { kind: 'eof'; pos: number; text: string };

class SyntaxErr extends Error {
  constructor(
    message: string,
    readonly pos: number,
  ) {
    super(message);
  }
}

function readQuoted(src: string, start: number): { value: string; end: number } {
  const quote = src[start];
  let value = '';
  let i = start + 1;
  while (i < src.length) {
    const ch = src[i];
    if (ch === '\\' && i + 1 < src.length && quote !== '`') {
      value += src[i + 1];
      i += 2;
    } else if (ch === quote) {
      if (src[i + 1] === quote) {
        value += quote;
        i += 2;
      } else {
        return { value, end: i + 1 };
      }
    } else {
      value += ch;
      i++;
    }
  }
  throw new SyntaxErr(`unterminated ${quote} quote`, start);
}

const KEY_CHAR = /[\w.\-/:]/;

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i];
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const start = i;
    if (ch === "'" || ch === '"') {
      const { value, end } = readQuoted(src, i);
      tokens.push({ kind: 'string', pos: start, value, text: src.slice(start, end) });
      i = end;
    } else if (ch === '`') {
      // A whole identifier in back quotes: `metrics.val acc` is unusual, but `run_name` isn't.
      const { value, end } = readQuoted(src, i);
      tokens.push({ kind: 'ident', pos: start, entity: null, key: value, text: src.slice(start, end) });
      i = end;
    } else if (/[0-9]/.test(ch) || ((ch === '-' || ch === '+' || ch === '.') && /[0-9.]/.test(src[i + 1] ?? ''))) {
      const m = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/.exec(src.slice(i));
      if (m === null) throw new SyntaxErr(`invalid number`, i);
      tokens.push({ kind: 'number', pos: start, value: Number(m[0]), text: m[0] });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(ch)) {
      let j = i;
      while (j < src.length && /\w/.test(src[j])) j++;
      const head = src.slice(i, j);
      if (src[j] === '.') {
        j++;
        let key: string;
        if (src[j] === '`' || src[j] === '"') {
          const q = readQuoted(src, j);
          key = q.value;
          j = q.end;
        } else {
          const keyStart = j;
          while (j < src.length && KEY_CHAR.test(src[j])) j++;
          key = src.slice(keyStart, j);
          if (key === '') throw new SyntaxErr(`expected a key after '${head}.'`, j);
        }
        tokens.push({ kind: 'ident', pos: start, entity: head, key, text: src.slice(start, j) });
      } else {
        tokens.push({ kind: 'ident', pos: start, entity: null, key: head, text: head });
      }
      i = j;
    } else if (ch === '(' || ch === ')' || ch === ',') {
      tokens.push({ kind: 'punct', pos: start, value: ch, text: ch });
      i++;
    } else {
      const two = src.slice(i, i + 2);
      if (two === '!=' || two === '<=' || two === '>=' || two === '<>' || two === '==') {
        tokens.push({ kind: 'op', pos: start, value: two === '<>' ? '!=' : two === '==' ? '=' : two, text: two });
        i += 2;
      } else if (ch === '=' || ch === '<' || ch === '>') {
        tokens.push({ kind: 'op', pos: start, value: ch, text: ch });
        i++;
      } else {
        throw new SyntaxErr(`unexpected character '${ch}'`, i);
      }
    }
  }
  tokens.push({ kind: 'eof', pos: src.length, text: '<end>' });
  return tokens;
}

function isWord(token: Token, word: string): boolean {
  return token.kind === 'ident' && token.entity === null && token.key.toUpperCase() === word && !token.text.startsWith('`');
}

function entityOf(token: Extract<Token, { kind: 'ident' }>): EntityType {
  if (token.entity === null) return 'attribute';
  const entity = ENTITIES[token.entity.toLowerCase()];
  if (entity === undefined) {
    throw new SyntaxErr(
      `invalid entity type '${token.entity}'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']`,
      token.pos,
    );
  }
  return entity;
}

function describe(token: Token): string {
  return token.kind === 'eof' ? 'end of input' : `'${token.text}'`;
}

/** Parses a filter string; empty or blank means no clauses. */
export function parseFilter(filter: string | undefined): Clause[] {
  if (filter === undefined || filter.trim() === '') return [];
  try {
    const tokens = tokenize(filter);
    const clauses: Clause[] = [];
    let i = 0;
    for (;;) {
      const ident = tokens[i++];
      if (ident.kind !== 'ident' || isWord(ident, 'AND') || isWord(ident, 'OR')) {
        throw new SyntaxErr(`expected an identifier such as metrics.<key>, got ${describe(ident)}`, ident.pos);
      }
      const type = entityOf(ident);
      const opToken = tokens[i++];
      let comparator: Comparator;
      if (opToken.kind === 'op') comparator = opToken.value as Comparator;
      else if (isWord(opToken, 'LIKE')) comparator = 'LIKE';
      else if (isWord(opToken, 'ILIKE')) comparator = 'ILIKE';
      else if (isWord(opToken, 'IN')) comparator = 'IN';
      else if (isWord(opToken, 'NOT') && isWord(tokens[i], 'IN')) {
        comparator = 'NOT IN';
        i++;
      } else {
        throw new SyntaxErr(`expected a comparator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN), got ${describe(opToken)}`, opToken.pos);
      }
      const valueToken = tokens[i++];
      let value: Clause['value'];
      let quoted: boolean;
      if (comparator === 'IN' || comparator === 'NOT IN') {
        if (valueToken.kind !== 'punct' || valueToken.value !== '(') {
          throw new SyntaxErr(`expected '(' to start the ${comparator} list, got ${describe(valueToken)}`, valueToken.pos);
        }
        const list: string[] = [];
        for (;;) {
          const item = tokens[i++];
          if (item.kind !== 'string') throw new SyntaxErr(`expected a quoted string in the ${comparator} list, got ${describe(item)}`, item.pos);
          list.push(item.value);
          const sep = tokens[i++];
          if (sep.kind === 'punct' && sep.value === ')') break;
          if (sep.kind !== 'punct' || sep.value !== ',') throw new SyntaxErr(`expected ',' or ')' in the ${comparator} list, got ${describe(sep)}`, sep.pos);
        }
        value = list;
        quoted = true;
      } else if (valueToken.kind === 'string') {
        value = valueToken.value;
        quoted = true;
      } else if (valueToken.kind === 'number') {
        value = valueToken.value;
        quoted = false;
      } else if (valueToken.kind === 'ident' && valueToken.entity === null && !isWord(valueToken, 'AND')) {
        // An unquoted word: kept so the validator can say "not quoted".
        value = valueToken.key;
        quoted = false;
      } else {
        throw new SyntaxErr(`expected a value (a quoted string or a number), got ${describe(valueToken)}`, valueToken.pos);
      }
      clauses.push({ type, key: ident.key, comparator, value, quoted });
      const next = tokens[i++];
      if (next.kind === 'eof') break;
      if (isWord(next, 'OR')) throw new SyntaxErr(`OR is not supported; join clauses with AND`, next.pos);
      if (!isWord(next, 'AND')) throw new SyntaxErr(`expected AND or the end of the filter, got ${describe(next)}`, next.pos);
    }
    return clauses;
  } catch (err) {
    if (err instanceof SyntaxErr) {
      throw invalid(`Error on parsing filter '${filter}': ${err.message} at position ${err.pos}`);
    }
    throw err;
  }
}

/** Parses one order_by entry: `metrics.acc DESC`, `name`, `attributes.start_time ASC`. */
export function parseOrderBy(clause: string): OrderBy {
  try {
    const tokens = tokenize(clause);
    const ident = tokens[0];
    if (ident.kind !== 'ident') throw new SyntaxErr(`expected an identifier, got ${describe(ident)}`, ident.pos);
    let ascending = true;
    let i = 1;
    if (isWord(tokens[i], 'ASC')) i++;
    else if (isWord(tokens[i], 'DESC')) {
      ascending = false;
      i++;
    }
    if (tokens[i].kind !== 'eof') throw new SyntaxErr(`expected ASC, DESC or the end, got ${describe(tokens[i])}`, tokens[i].pos);
    return { type: entityOf(ident), key: ident.key, ascending };
  } catch (err) {
    if (err instanceof SyntaxErr) throw invalid(`Invalid order_by clause '${clause}': ${err.message} at position ${err.pos}`);
    throw err;
  }
}

/** Converts a SQL LIKE pattern (with `\` escapes) to a case-sensitive SQLite GLOB pattern. */
export function likeToGlob(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\' && i + 1 < pattern.length) {
      const next = pattern[++i];
      out += next === '*' || next === '?' || next === '[' ? `[${next}]` : next;
    } else if (ch === '%') out += '*';
    else if (ch === '_') out += '?';
    else if (ch === '*' || ch === '?' || ch === '[') out += `[${ch}]`;
    else out += ch;
  }
  return out;
}

/** Opaque page tokens: base64 of {"offset": n}. */
export function encodePageToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset }), 'utf8').toString('base64');
}

export function decodePageToken(token: string | undefined): number {
  if (token === undefined || token === '') return 0;
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9+/=_-]+$/.test(token)) throw new Error('not base64');
    parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
  } catch {
    throw invalid(`Invalid page token, could not base64-decode: '${token}'`);
  }
  const offset = (parsed as { offset?: unknown } | null)?.offset;
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) {
    throw invalid(`Invalid page token, decoded value=${JSON.stringify(parsed)}`);
  }
  return offset;
}

/** Validates max_results against MLflow's limits; returns the effective value. */
export function checkMaxResults(value: number | undefined, fallback: number, cap: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw invalid(`Invalid value for request parameter max_results. It must be a positive integer, but got value ${String(value)}`);
  }
  if (value > cap) {
    throw invalid(`Invalid value for request parameter max_results. It must be at most ${cap}, but got value ${value}`);
  }
  return value;
}
