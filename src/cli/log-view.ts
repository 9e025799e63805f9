/**
 * cli/log-view — what `kiln logs` shows of one log line: the filters (service, lowest level, run
 * id, request id, since) parsed from the flags and applied to a parsed line, and the readable
 * form of a line (time, level, service, message, then its context as key=value).
 */
import { SERVICE_LOG_FILES, type KilnService } from '../observability/logging.js';
import { InvalidOptionError } from './errors.js';
import { optionInteger } from './parse.js';

export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LevelName = (typeof LEVELS)[number];
export const SERVICES = Object.keys(SERVICE_LOG_FILES) as KilnService[];

export type LogEntry = Record<string, unknown>;

export interface LogQuery {
  services: KilnService[] | null;
  /** Lowest level shown. */
  level: LevelName | null;
  /** A run id, or its first characters. */
  run: string | null;
  /** A request id, exactly. */
  request: string | null;
  /** Lines before this time (ms since the epoch) are left out. */
  since: number | null;
  /** Only the last N matching lines already written (follow mode then shows every new one). */
  lines: number | null;
}

export interface LogQueryFlags {
  service?: string;
  level?: string;
  run?: string;
  request?: string;
  since?: string;
  lines?: string;
}

const DURATION_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const ISO_TIME = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * `--since`: a duration back from `now` (90s, 15m, 2h, 7d) or an ISO 8601 date or time; a time
 * without an offset is UTC, like the times in the log files.
 */
export function parseSince(text: string, now: number): number {
  const duration = /^(\d+(?:\.\d+)?)([smhd])$/.exec(text.trim());
  if (duration) return now - Number(duration[1]) * DURATION_MS[duration[2]!]!;
  const iso = ISO_TIME.exec(text.trim());
  const time = iso ? Date.parse(`${iso[1]}T${iso[2] ?? '00:00'}${iso[3] ?? 'Z'}`) : Number.NaN;
  if (Number.isNaN(time)) throw new InvalidOptionError('--since', `expected a duration like 90s, 15m, 2h or 7d, or an ISO 8601 time like 2026-12-01T09:30, got "${text}"`);
  return time;
}

function parseServices(text: string): KilnService[] {
  const names = text.split(',').map((name) => name.trim()).filter((name) => name !== '');
  const unknown = names.filter((name) => !(SERVICES as string[]).includes(name));
  if (names.length === 0 || unknown.length > 0) throw new InvalidOptionError('--service', `expected ${SERVICES.join(', ')} (or several, comma-separated), got "${text}"`);
  return names as KilnService[];
}

function parseLevel(text: string): LevelName {
  if ((LEVELS as readonly string[]).includes(text)) return text as LevelName;
  throw new InvalidOptionError('--level', `expected one of ${LEVELS.join(', ')} (that level and above are shown), got "${text}"`);
}

export function parseLogQuery(flags: LogQueryFlags, now: number = Date.now()): LogQuery {
  return {
    services: flags.service !== undefined ? parseServices(flags.service) : null,
    level: flags.level !== undefined ? parseLevel(flags.level) : null,
    run: flags.run || null,
    request: flags.request || null,
    since: flags.since !== undefined ? parseSince(flags.since, now) : null,
    lines: flags.lines !== undefined ? optionInteger('--lines', flags.lines, { min: 0 }) : null,
  };
}

/** The line parsed, or null when it is not a JSON object (a torn or foreign line). */
export function parseLogLine(line: string): LogEntry | null {
  if (!line.startsWith('{')) return null;
  try {
    const entry: unknown = JSON.parse(line);
    return typeof entry === 'object' && entry !== null && !Array.isArray(entry) ? (entry as LogEntry) : null;
  } catch {
    return null;
  }
}

const levelRank = (level: unknown): number => LEVELS.indexOf(level as LevelName);

export function matches(query: LogQuery, entry: LogEntry): boolean {
  if (query.services && !(query.services as unknown[]).includes(entry.service)) return false;
  if (query.level && levelRank(entry.level) < levelRank(query.level)) return false;
  if (query.run && !(typeof entry.run_id === 'string' && entry.run_id.startsWith(query.run))) return false;
  if (query.request && entry.request_id !== query.request) return false;
  if (query.since !== null) {
    const time = typeof entry.time === 'string' ? Date.parse(entry.time) : Number.NaN;
    if (!(time >= query.since)) return false;
  }
  return true;
}

export type Paint = (sgr: string, text: string) => string;

const LEVEL_SGR: Record<string, string> = { trace: '90', debug: '90', info: '32', warn: '33', error: '31', fatal: '35' };
/** Shown in the fixed columns or the request summary, not repeated as key=value. */
const SHOWN = new Set(['time', 'level', 'service', 'message', 'pid', 'hostname', 'req', 'res', 'responseTime', 'err']);

interface RequestFields {
  req?: { method?: string; url?: string };
  res?: { statusCode?: number };
  responseTime?: number;
}

function requestSummary(entry: LogEntry): string {
  const { req, res, responseTime } = entry as RequestFields;
  if (!req && !res) return '';
  const parts = [req?.method, req?.url, res?.statusCode, typeof responseTime === 'number' ? `${responseTime.toFixed(1)} ms` : undefined];
  return parts.filter((part) => part !== undefined).join(' ');
}

const showValue = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

/** One entry as the terminal shows it: time level service message [request] key=value…, then an error's stack. */
export function formatEntry(entry: LogEntry, paint: Paint): string {
  const level = typeof entry.level === 'string' ? entry.level : 'info';
  const err = entry.err as { type?: string; message?: string; stack?: string } | undefined;
  let message = typeof entry.message === 'string' ? entry.message : '';
  if (err?.message && !message.includes(err.message)) message = message ? `${message}: ${err.message}` : err.message;
  const request = requestSummary(entry);
  const context = Object.entries(entry)
    .filter(([key]) => !SHOWN.has(key))
    .map(([key, value]) => `${key}=${showValue(value)}`)
    .join(' ');
  const head = [
    paint('90', typeof entry.time === 'string' ? entry.time : '-'),
    paint(LEVEL_SGR[level] ?? '0', level.toUpperCase().padEnd(5)),
    paint('36', String(entry.service ?? '-').padEnd(8)),
    message,
  ].join(' ');
  const tail = [request, context ? paint('90', context) : ''].filter((part) => part !== '').join('  ');
  const stack = err?.stack && (level === 'error' || level === 'fatal') ? `\n${paint('90', err.stack.split('\n').slice(1).join('\n'))}` : '';
  return `${head}${tail ? `  ${tail}` : ''}${stack}`;
}
