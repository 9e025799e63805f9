/**
 * cli/logs — the `--log-dir` option and the per-process LogSink every long-running command opens:
 * JSON lines in the log folder, the readable echo on stdout (stderr under --json, so that the last
 * stdout line stays the JSON result).
 */
import type { Command } from 'commander';
import { LogSink, resolveLogDir } from '../observability/logging.js';

export function addLogDirOption(command: Command): Command {
  return command.option('--log-dir <dir>', 'folder of the log files: server_log.log, api_log.log, system_log.log, app_combined.log (default $KILN_LOG_DIR or ./Logs)');
}

export function openCliLogs(flags: { logDir?: string; json?: boolean }, options: { rotate?: boolean } = {}): LogSink {
  return new LogSink({
    dir: resolveLogDir(flags.logDir),
    terminal: flags.json ? process.stderr : process.stdout,
    ...(options.rotate === false ? { rotation: { rotate: false } } : {}),
  });
}
