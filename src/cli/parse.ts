/**
 * cli/parse — flag value parsers that fail with an error naming the flag: hyperparameters
 * (KILN_ERR_INVALID_HYPERPARAMETER, named as the training configuration names them) and every
 * other option (KILN_ERR_INVALID_OPTION, named as `--flag`). All of them are usage errors.
 */
import { InvalidHyperparameterError } from '../common/errors.js';
import { parseStoreUri } from '../tracking/store/index.js';
import { CliError, InvalidOptionError } from './errors.js';

export function parseNumber(field: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new InvalidHyperparameterError(field, `expected a number, got "${text}"`);
  return value;
}

export function parseInteger(field: string, text: string): number {
  const value = parseNumber(field, text);
  if (!Number.isInteger(value)) throw new InvalidHyperparameterError(field, `expected an integer, got "${text}"`);
  return value;
}

/** "128,64,32" → [128, 64, 32]; an empty string is an empty list. */
export function parseIntegerList(field: string, text: string): number[] {
  if (text.trim() === '') return [];
  return text.split(',').map((part, i) => parseInteger(`${field}[${i}]`, part.trim()));
}

/** A number-valued option (not a hyperparameter) within [min, max]. */
export function optionNumber(flag: string, text: string, range: { min?: number; max?: number } = {}): number {
  const value = Number(text);
  const { min = -Infinity, max = Infinity } = range;
  if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
    const bounds = Number.isFinite(min) && Number.isFinite(max) ? ` in [${min}, ${max}]` : Number.isFinite(min) ? ` >= ${min}` : Number.isFinite(max) ? ` <= ${max}` : '';
    throw new InvalidOptionError(flag, `expected a number${bounds}, got "${text}"`);
  }
  return value;
}

/** An integer-valued option (not a hyperparameter) within [min, max]. */
export function optionInteger(flag: string, text: string, range: { min?: number; max?: number } = {}): number {
  const value = optionNumber(flag, text, range);
  if (!Number.isInteger(value)) throw new InvalidOptionError(flag, `expected an integer, got "${text}"`);
  return value;
}

/** A TCP port: 0 (any free one) to 65535. */
export function parsePort(flag: string, text: string): number {
  if (!/^\s*\d+\s*$/.test(text) || Number(text) > 65535) throw new InvalidOptionError(flag, `expected a port number from 0 to 65535 (0 picks a free one), got "${text}"`);
  return Number(text);
}

/** One of `choices`, or a usage error listing them. */
export function parseChoice<T extends string>(flag: string, text: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(text)) return text as T;
  throw new InvalidOptionError(flag, `expected ${choices.slice(0, -1).join(', ')} or ${choices[choices.length - 1]}, got "${text}"`);
}

/** "600/60" → 600 requests per 60 s; undefined or "" → no limit. `source` names the flag or variable it came from. */
export function parseRateLimit(text: string | undefined, source = '--rate-limit'): { max: number; windowMs: number } | undefined {
  if (text === undefined || text === '') return undefined;
  const match = /^(\d+)\/(\d+(?:\.\d+)?)s?$/.exec(text.trim());
  if (!match || Number(match[1]) < 1 || Number(match[2]) <= 0) throw new InvalidOptionError(source, `expected <max requests>/<window seconds> like 600/60, got "${text}"`);
  return { max: Number(match[1]), windowMs: Number(match[2]) * 1000 };
}

/** Credentials in a URI are not repeated in an error message. */
const withoutCredentials = (uri: string): string => uri.replace(/\/\/[^@/]*@/, '//***@');

const STORE_FORMS = 'sqlite:///relative/path.db, sqlite:////absolute/path.db, sqlite::memory: (SQLite), postgresql://user:pass@host:port/db (PostgreSQL)';
const TRACKING_FORMS = `http://host:port or https://host:port (a tracking server, e.g. kiln server), ${STORE_FORMS}`;

function validStoreUri(uri: string): boolean {
  try {
    parseStoreUri(uri);
    return true;
  } catch {
    return false;
  }
}

function validServerUrl(uri: string): boolean {
  if (!/^https?:\/\//i.test(uri)) return false;
  try {
    return new URL(uri).hostname !== '';
  } catch {
    return false;
  }
}

/**
 * Checks a tracking URI before anything starts; `source` says where it came from (the flag or the
 * environment variable). Accepted schemes: http, https, sqlite, postgresql.
 */
export function checkTrackingUri(uri: string, source: string): void {
  if (validServerUrl(uri) || (!/^https?:/i.test(uri) && validStoreUri(uri))) return;
  throw new CliError('KILN_ERR_INVALID_TRACKING_URI', `invalid tracking URI "${withoutCredentials(uri)}" (from ${source}): expected one of ${TRACKING_FORMS}`, {
    hint: 'the schemes are http, https, sqlite and postgresql; leave the URI out to use the embedded store <home>/tracking.db',
  });
}

/** Checks the tracking URI a command will use: the flag, else $KILN_TRACKING_URI, else $MLFLOW_TRACKING_URI (none: the embedded store). */
export function checkTrackingUriSources(flag: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env): void {
  const sources: [string, string | undefined][] = [
    ['--tracking-uri', flag],
    ['$KILN_TRACKING_URI', env.KILN_TRACKING_URI],
    ['$MLFLOW_TRACKING_URI', env.MLFLOW_TRACKING_URI],
  ];
  const found = sources.find(([, value]) => value);
  if (found) checkTrackingUri(found[1]!, found[0]);
}

/** Checks a database URI (`--backend-store-uri`, `--storage`): sqlite or postgresql only. */
export function checkStoreUri(uri: string, source: string): void {
  if (validStoreUri(uri)) return;
  throw new CliError('KILN_ERR_INVALID_TRACKING_URI', `invalid store URI "${withoutCredentials(uri)}" (from ${source}): expected one of ${STORE_FORMS}`, {
    hint: /^https?:/i.test(uri) ? `${source} names a database, not a server: a server URL belongs in --tracking-uri` : 'the schemes are sqlite and postgresql',
  });
}
