/**
 * cli/logs-command — `kiln logs`: Kiln's JSON log lines (app_combined.log in the log folder, every
 * service's lines) filtered by service, level, run id, request id and time, printed readably (or
 * passed through as JSON lines with --json), and followed with -f as they are written.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { COMBINED_LOG_FILE, resolveLogDir } from '../observability/logging.js';
import { painter } from './colour.js';
import { CliError } from './errors.js';
import { backupsSince, LineReader } from './log-files.js';
import { formatEntry, LEVELS, type LogQuery, type LogQueryFlags, matches, parseLogLine, parseLogQuery, SERVICES } from './log-view.js';
import { addLogDirOption } from './logs.js';

interface LogsFlags extends LogQueryFlags {
  logDir?: string;
  follow?: boolean;
  json?: boolean;
}

/** How often a followed file is checked for new lines. */
const FOLLOW_POLL_MS = 200;

/** Turns raw lines into output lines: the ones that pass the filters, as JSON or readable. */
function lineFilter(query: LogQuery, json: boolean): (line: string) => string | null {
  const paint = painter(process.stdout);
  const filtered = query.services || query.level || query.run || query.request || query.since !== null;
  return (line) => {
    const entry = parseLogLine(line);
    // A line that is not JSON cannot be filtered: shown only when nothing is filtered, never under --json.
    if (!entry) return json || filtered ? null : line;
    if (!matches(query, entry)) return null;
    return json ? line : formatEntry(entry, paint);
  };
}

function write(lines: string[]): void {
  if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
}

/** Prints what is already written (the last `query.lines` of it when set); returns the reader of the active file. */
function printWritten(dir: string, query: LogQuery, show: (line: string) => string | null): LineReader | null {
  const active = join(dir, COMBINED_LOG_FILE);
  const files = query.since !== null && existsSync(dir) ? backupsSince(dir, COMBINED_LOG_FILE, new Date(query.since).toISOString().slice(0, 10)) : [];
  let shown: string[] = [];
  const keep = (lines: string[]): void => {
    for (const line of lines) {
      const out = show(line);
      if (out !== null) shown.push(out);
    }
    if (query.lines !== null && shown.length > query.lines) shown = shown.slice(shown.length - query.lines);
  };
  for (const file of files) {
    const reader = new LineReader(file);
    keep(reader.read());
    reader.close();
  }
  const reader = existsSync(active) ? new LineReader(active) : null;
  if (reader) keep(reader.read());
  write(shown);
  return reader;
}

/** Follows the active file until SIGINT or SIGTERM, waiting for it to appear when it is not there yet. */
async function follow(path: string, existing: LineReader | null, show: (line: string) => string | null): Promise<void> {
  let reader = existing;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let wake: () => void = () => {};
  const stop = (): void => {
    stopped = true;
    if (timer) clearTimeout(timer);
    wake();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  while (!stopped) {
    if (!reader && existsSync(path)) reader = new LineReader(path);
    if (reader) write(reader.follow().map(show).filter((line): line is string => line !== null));
    await new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, FOLLOW_POLL_MS);
    });
  }
  reader?.close();
}

async function logs(flags: LogsFlags): Promise<void> {
  const query = parseLogQuery(flags);
  const dir = resolveLogDir(flags.logDir);
  const active = join(dir, COMBINED_LOG_FILE);
  if (!flags.follow && !existsSync(active) && (!existsSync(dir) || backupsSince(dir, COMBINED_LOG_FILE, '0000-00-00').length === 0)) {
    throw new CliError('KILN_ERR_LOGS_NOT_FOUND', `no Kiln log files in ${dir}: ${COMBINED_LOG_FILE} is not there`, {
      hint: 'run a kiln command first, or point --log-dir (or $KILN_LOG_DIR) at the folder it logged to; -f waits for the file to appear',
    });
  }
  // `kiln logs | head` closes the pipe early: that is the reader's choice, not a failure.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  const show = lineFilter(query, Boolean(flags.json));
  const reader = printWritten(dir, query, show);
  if (flags.follow) await follow(active, reader, show);
  else reader?.close();
}

export function registerLogsCommand(program: Command): void {
  addLogDirOption(program.command('logs'))
    .description(`show Kiln's log lines (${COMBINED_LOG_FILE} in the log folder), filtered, readable or as JSON lines; -f follows them`)
    .option('-f, --follow', 'keep printing new lines as they are written (Ctrl-C stops), through rotations')
    .option('--service <names>', `only these services, comma-separated: ${SERVICES.join(', ')}`)
    .option('--level <level>', `only this level and above: ${LEVELS.join(', ')}`)
    .option('--run <id>', 'only lines of this run (its id or the first characters of it)')
    .option('--request <id>', 'only lines of this request (its request_id, e.g. from an error line)')
    .option('--since <when>', 'only lines from this time on: a duration back from now (90s, 15m, 2h, 7d) or an ISO 8601 time (UTC unless it has an offset); reads the dated backups too')
    .option('-n, --lines <n>', 'only the last <n> matching lines already written (then, with -f, every new one)')
    .option('--json', 'print the matching lines as they are in the file: one JSON object per line')
    .action(logs);
}
