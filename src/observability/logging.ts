/**
 * observability/logging — Kiln's structured logs: pino JSON lines in a log folder (default
 * `./Logs`), a readable echo on the terminal, secrets scrubbed before any byte is written.
 *
 * Files (each a RotatingFile: daily, 30 days kept, size-capped):
 *   server_log.log     the training and tuning service (kiln train / tune / start's study)
 *   api_log.log        the prediction API (kiln serve, kiln start's API), with each request's
 *                      start and completion (request_id, route, status, response time)
 *   tracking_log.log   the tracking server and registry (kiln server, kiln start's server)
 *   system_log.log     warnings and errors of every service: the critical system issues
 *   app_combined.log   everything
 *
 * Every line is one JSON object: {"time" (ISO 8601), "level" (label), "service", "pid",
 * "message", …context} where context is whatever the caller bound (run_id, study, trial,
 * request_id, …). One LogSink per process owns the files; each service gets its logger from it,
 * so `kiln start`, which runs three services in one process, writes each to its own file and all
 * of them to the shared ones.
 */
import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pino, type DestinationStream, type Level, type Logger, type StreamEntry } from 'pino';
import type { Callback, EpochMetrics, TrainingContext } from '../train/callbacks.js';
import { RotatingFile, type RotatingFileOptions } from './rotating-file.js';

export type KilnService = 'trainer' | 'api' | 'tracking';
export type { Logger } from 'pino';

export const SERVICE_LOG_FILES: Readonly<Record<KilnService, string>> = {
  trainer: 'server_log.log',
  api: 'api_log.log',
  tracking: 'tracking_log.log',
};
export const SYSTEM_LOG_FILE = 'system_log.log';
export const COMBINED_LOG_FILE = 'app_combined.log';

/** Environment variables whose values are secrets: never written to a log, wherever they appear. */
const SECRET_ENV = [
  'KILN_SERVER_TOKEN',
  'KILN_SERVER_PASSWORD',
  'KILN_TRACKING_TOKEN',
  'KILN_TRACKING_PASSWORD',
  'MLFLOW_TRACKING_TOKEN',
  'MLFLOW_TRACKING_PASSWORD',
  'PGPASSWORD',
  'GF_SECURITY_ADMIN_PASSWORD',
];

/** Keys whose values pino replaces before serialising (structured context). */
export const REDACTED_PATHS = [
  'password',
  'token',
  'authorization',
  'secret',
  'cookie',
  '*.password',
  '*.token',
  '*.authorization',
  '*.secret',
  '*.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'headers.authorization',
  'headers.cookie',
];

const REDACTED = '[REDACTED]';

/**
 * Scrubs secrets out of one serialised line: credentials in URLs, Bearer/Basic credentials,
 * `password=`/`token=` pairs, and the values of the secret environment variables. It runs on the
 * final text, so free-form messages and error stacks are covered as well as structured fields.
 */
export function scrubSecrets(line: string, secrets: readonly string[] = []): string {
  let out = line
    .replace(/\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{4,}/gi, `$1$2${REDACTED}`)
    .replace(/(\/\/[^\s:@/"'\\]+):[^\s@/"'\\]+@/g, `$1:${REDACTED}@`)
    .replace(/\b((?:password|passwd|pwd|token|secret|api[_-]?key|access[_-]?token)=)[^&\s"'\\]+/gi, `$1${REDACTED}`);
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join(REDACTED);
  return out;
}

export interface LogSinkOptions {
  /** Folder of the log files; null writes no files (terminal only). */
  dir: string | null;
  /** Where the readable echo goes (stdout, or stderr under --json); null: none. */
  terminal?: NodeJS.WritableStream | null;
  /** Timestamps, levels and context on the terminal (default: the terminal is a TTY). */
  pretty?: boolean;
  /** ANSI colours in the pretty echo (default: pretty, unless $NO_COLOR is set or TERM is dumb). */
  colour?: boolean;
  /** Lowest level logged (default info; $KILN_LOG_LEVEL). */
  level?: Level;
  /** Rotation settings of every file (tests inject a clock). */
  rotation?: Omit<RotatingFileOptions, 'dir' | 'file'>;
  /** Clock of the `time` field (default Date.now). */
  now?: () => number;
  /** Environment read for secret values (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
}

/** The resolved log folder: the flag, else $KILN_LOG_DIR, else ./Logs in the working directory. */
export function resolveLogDir(flag?: string, env: Readonly<Record<string, string | undefined>> = process.env): string {
  return flag ?? (env.KILN_LOG_DIR || join(process.cwd(), 'Logs'));
}

const LEVEL_COLOURS: Record<string, string> = { trace: '90', debug: '90', info: '32', warn: '33', error: '31', fatal: '35' };
const SHOWN_KEYS_SKIPPED = new Set(['time', 'level', 'service', 'pid', 'hostname', 'message', 'req', 'res', 'request_id', 'responseTime']);

/** The terminal echo: the message as the CLI has always printed it; on a TTY with time, level and context. */
class TerminalStream implements DestinationStream {
  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly pretty: boolean,
    private readonly colour: boolean,
  ) {}

  write(line: string): void {
    // Per-request lines belong in the files; the terminal shows them only when something failed.
    if (line.includes('"request_id":') && /"level":"(info|debug|trace)"/.test(line)) return;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.out.write(line);
      return;
    }
    const level = String(entry.level);
    let message = typeof entry.message === 'string' ? entry.message : '';
    const err = entry.err as { message?: string } | undefined;
    if (err?.message && !message.includes(err.message)) message = message ? `${message}: ${err.message}` : err.message;
    if (!this.pretty) {
      this.out.write(`${message}\n`);
      return;
    }
    const context = Object.entries(entry)
      .filter(([key]) => !SHOWN_KEYS_SKIPPED.has(key) && key !== 'err')
      .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
      .join(' ');
    const time = typeof entry.time === 'string' ? entry.time.slice(11, 19) : '';
    const paint = (sgr: string, text: string): string => (this.colour ? `\x1b[${sgr}m${text}\x1b[0m` : text);
    this.out.write(`${paint('90', time)} ${paint(LEVEL_COLOURS[level] ?? '0', level.toUpperCase().padEnd(5))} ${paint('36', String(entry.service))} ${message}${context ? ` ${paint('90', context)}` : ''}\n`);
  }
}

/** Scrubs every line before it reaches the wrapped destination. */
class ScrubbingStream implements DestinationStream {
  constructor(
    private readonly inner: { write(line: string): unknown },
    private readonly scrub: (line: string) => string,
  ) {}

  write(line: string): void {
    this.inner.write(this.scrub(line));
  }
}

/** scrubSecrets, remembering the last line: a multistream hands the same line to every file in turn. */
function memoizedScrub(secrets: readonly string[]): (line: string) => string {
  let input = '';
  let output = '';
  return (line: string) => {
    if (line !== input) {
      input = line;
      output = scrubSecrets(line, secrets);
    }
    return output;
  };
}

/** The log files and terminal of one process; hands out one logger per service. */
export class LogSink {
  readonly dir: string | null;
  private readonly files = new Map<string, RotatingFile>();
  private readonly terminal: TerminalStream | null;
  private readonly scrub: (line: string) => string;
  private readonly level: Level;

  constructor(private readonly options: LogSinkOptions) {
    this.dir = options.dir;
    const env = options.env ?? process.env;
    this.scrub = memoizedScrub(SECRET_ENV.map((name) => env[name] ?? '').filter((value) => value.length >= 4));
    const out = options.terminal ?? null;
    const pretty = options.pretty ?? Boolean((out as { isTTY?: boolean } | null)?.isTTY);
    this.terminal = out ? new TerminalStream(out, pretty, options.colour ?? (pretty && !env.NO_COLOR && env.TERM !== 'dumb')) : null;
    this.level = options.level ?? ((env.KILN_LOG_LEVEL as Level | undefined) || 'info');
  }

  /**
   * A logger for `service`, with `bindings` (e.g. `{ study }`) on every line; `terminal: false`
   * writes the files only (records the terminal already shows in another form, like epochs).
   */
  logger(service: KilnService, bindings: Record<string, unknown> = {}, options: { terminal?: boolean } = {}): Logger {
    const streams: StreamEntry[] = [];
    if (this.dir !== null) {
      streams.push({ level: this.level, stream: this.scrubbed(this.file(SERVICE_LOG_FILES[service])) });
      streams.push({ level: 'warn', stream: this.scrubbed(this.file(SYSTEM_LOG_FILE)) });
      streams.push({ level: this.level, stream: this.scrubbed(this.file(COMBINED_LOG_FILE)) });
    }
    if (this.terminal && options.terminal !== false) streams.push({ level: this.level, stream: this.scrubbed(this.terminal) });
    const now = this.options.now ?? Date.now;
    return pino(
      {
        level: this.level,
        messageKey: 'message',
        base: { service, pid: process.pid, hostname: hostname(), ...bindings },
        timestamp: () => `,"time":"${new Date(now()).toISOString()}"`,
        formatters: { level: (label) => ({ level: label }) },
        redact: { paths: REDACTED_PATHS, censor: REDACTED },
      },
      pino.multistream(streams),
    );
  }

  /** Paths of the files written so far. */
  paths(): string[] {
    return [...this.files.values()].map((file) => file.path);
  }

  close(): void {
    for (const file of this.files.values()) file.close();
    this.files.clear();
  }

  private file(name: string): RotatingFile {
    let file = this.files.get(name);
    if (!file) {
      file = new RotatingFile({ ...this.options.rotation, dir: this.dir!, file: name });
      this.files.set(name, file);
    }
    return file;
  }

  private scrubbed(stream: { write(line: string): unknown }): DestinationStream {
    return new ScrubbingStream(stream, this.scrub);
  }
}

/** A plain `log(message)` function on top of a logger, the shape the CLI and pipeline use. */
export function logFunction(logger: Logger): (message: string) => void {
  return (message: string) => {
    // Lines that report a failure are warnings, so they reach system_log.log too.
    if (/^(warning|error)\b|\bfailed\b|could not be stored/i.test(message)) logger.warn(message);
    else logger.info(message);
  };
}

/** A trainer callback writing one structured record per epoch (the progress bar shows them on the terminal). */
export class EpochLog implements Callback {
  constructor(private readonly logger: Logger) {}

  onEpochEnd(context: TrainingContext, metrics: EpochMetrics): void {
    this.logger.info({ ...metrics, max_epochs: context.maxEpochs }, `epoch ${metrics.epoch}/${context.maxEpochs} done`);
  }
}

/** A pino logger instance (as opposed to Fastify's `logger: true` or pino options). */
export function isLogger(value: unknown): value is Logger {
  return typeof value === 'object' && value !== null && typeof (value as { child?: unknown }).child === 'function' && typeof (value as { info?: unknown }).info === 'function';
}

/**
 * Fastify options that log through `logger`, or Fastify's own `logger` option when given a
 * boolean or pino options. With a logger, each request is one access line, "request completed"
 * (method, url, client, status, response time, `request_id`), written when the response is sent
 * (see `accessLog`): Fastify's default of two lines per request doubled the cost for nothing.
 */
export function fastifyLogging(
  logger: boolean | object | undefined,
): { loggerInstance: Logger; logController: LogController } | { logger: boolean | object } {
  return isLogger(logger) ? { loggerInstance: logger, logController: new LogController({ requestIdLogLabel: 'request_id', disableRequestLogging: true }) } : { logger: logger ?? false };
}

/** The onResponse hook writing the access line of `fastifyLogging`. */
export async function accessLog(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  request.log.info(
    { req: { method: request.method, url: request.url, remoteAddress: request.ip }, res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime },
    'request completed',
  );
}
