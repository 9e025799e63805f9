/**
 * cli/errors — how a failed command ends: the stable error code, the message, a hint, and the
 * exit status (2 for a usage error: an unknown option, a flag or configuration value that is
 * not allowed; 1 for a failure at run time: a port in use, a missing file, a server that said no).
 */
import { CommanderError } from 'commander';
import { KilnError } from '../common/errors.js';
import { TrackingError } from '../tracking/store/errors.js';

/** A CLI error with a hint: what to do about it, printed on its own line and in the JSON. */
export class CliError extends KilnError {
  readonly hint: string | undefined;

  constructor(code: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(code, message, { cause: options.cause });
    this.name = 'CliError';
    this.hint = options.hint;
  }
}

/** A flag (or the environment variable standing in for it) with a value it cannot take. */
export class InvalidOptionError extends CliError {
  constructor(flag: string, message: string, hint?: string) {
    super('KILN_ERR_INVALID_OPTION', `invalid ${flag}: ${message}`, { hint });
    this.name = 'InvalidOptionError';
  }
}

/** Codes that mean "the command line or the configuration is wrong": exit status 2. */
export const USAGE_ERROR_CODES: ReadonlySet<string> = new Set([
  'KILN_ERR_USAGE',
  'KILN_ERR_INVALID_OPTION',
  'KILN_ERR_INVALID_HYPERPARAMETER',
  'KILN_ERR_INVALID_TRACKING_URI',
  'KILN_ERR_CONFIG',
  'KILN_ERR_MODEL_URI',
  'KILN_ERR_DATA_OPTION',
]);

export const EXIT_RUNTIME_FAILURE = 1;
export const EXIT_USAGE = 2;

export interface Failure {
  code: string;
  message: string;
  hint?: string;
  exitCode: number;
}

const codeOf = (error: unknown): string => {
  if (error instanceof KilnError) return error.code;
  if (error instanceof TrackingError) return error.errorCode;
  const code = (error as { code?: unknown } | null)?.code;
  // DataError and other areas' coded errors that are not KilnErrors.
  if (typeof code === 'string' && code.startsWith('KILN_ERR_')) return code;
  return 'KILN_ERR_INTERNAL';
};

/** What to print, and the exit status, for an error that ended a command. */
export function describeFailure(error: unknown): Failure {
  if (error instanceof CommanderError) {
    const message = error.message.replace(/^error: /, '');
    return { code: 'KILN_ERR_USAGE', message, hint: 'run the command with --help for its usage', exitCode: EXIT_USAGE };
  }
  const listen = listenFailure(error);
  if (listen) return describeFailure(listen);
  const code = codeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  const hint = error instanceof CliError ? error.hint : undefined;
  return { code, message, ...(hint ? { hint } : {}), exitCode: USAGE_ERROR_CODES.has(code) ? EXIT_USAGE : EXIT_RUNTIME_FAILURE };
}

interface ListenErrno {
  code?: unknown;
  syscall?: unknown;
  address?: unknown;
  port?: unknown;
}

/**
 * A listen() failure (port in use, privileged port, address not on this machine) as a coded
 * error; `flag` names the option that chose the port when the caller knows it. Null for any
 * other error.
 */
export function listenFailure(error: unknown, flag?: string): CliError | null {
  if (error instanceof CliError) return null;
  const errno = (error ?? {}) as ListenErrno;
  if (errno.syscall !== 'listen' && errno.syscall !== 'bind') return null;
  const port = typeof errno.port === 'number' ? errno.port : undefined;
  const where = `${String(errno.address ?? 'this host')}:${port ?? '?'}`;
  const from = flag ? ` (${flag})` : '';
  const choose = flag ? `pass ${flag} <another port> (0 picks a free one)` : 'choose another port (0 picks a free one)';
  switch (errno.code) {
    case 'EADDRINUSE':
      return new CliError('KILN_ERR_PORT_IN_USE', `port ${port ?? '?'} on ${String(errno.address ?? 'this host')} is already in use${from}`, {
        hint: `stop the process listening there (\`ss -ltnp 'sport = :${port ?? '?'}'\` names it), or ${choose}`,
        cause: error,
      });
    case 'EACCES':
      return new CliError('KILN_ERR_PORT_DENIED', `not allowed to listen on ${where}${from}: ports below 1024 need privileges`, {
        hint: choose,
        cause: error,
      });
    case 'EADDRNOTAVAIL':
      return new CliError('KILN_ERR_HOST_UNAVAILABLE', `cannot listen on ${where}${from}: the address is not one of this machine's`, {
        hint: 'pass --host 127.0.0.1 (this machine only) or --host 0.0.0.0 (every interface)',
        cause: error,
      });
    default:
      return null;
  }
}

/** Runs `start` (which listens on `port`), turning a listen failure into a coded error naming `flag`. */
export async function listeningOn<T>(flag: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    throw listenFailure(error, flag) ?? error;
  }
}
