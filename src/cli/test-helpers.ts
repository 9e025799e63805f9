/**
 * cli/test-helpers — running the real `kiln` binary from the CLI tests. Not used by Kiln itself.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const KILN_BIN = fileURLToPath(new URL('../../../bin/kiln.js', import.meta.url));

/** A folder with the canonical Fashion-MNIST files (the Debian package, or ../shared), if any. */
export const REAL_DATA = ['/usr/share/datasets/fashion-mnist', fileURLToPath(new URL('../../../../shared/data/fashion-mnist', import.meta.url))].find((dir) =>
  existsSync(join(dir, 'train-images-idx3-ubyte.gz')),
);

export const SKIP_WITHOUT_DATA: string | false = REAL_DATA ? false : 'canonical Fashion-MNIST files not installed (bash scripts/setup-system.sh)';

export interface KilnRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The last stdout line parsed as JSON ({} when it is not JSON). */
  json: Record<string, unknown>;
}

/**
 * Runs `kiln <args>` to completion. The caller's tracking and profile variables are cleared so a
 * developer's environment cannot leak into a test.
 */
export function runKiln(args: string[], env: Record<string, string> = {}): Promise<KilnRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [KILN_BIN, ...args], {
      env: { ...process.env, KILN_TRACKING_URI: '', MLFLOW_TRACKING_URI: '', KILN_PROFILE: '', KILN_LOG_DIR: join(tmpdir(), 'kiln-test-logs'), ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>;
      } catch {
        // not JSON: left empty for the assertions to catch
      }
      resolve({ code, stdout, stderr, json });
    });
  });
}

/** `script` (util-linux) runs a command on a pseudo-terminal: how the tests see what a person at a terminal sees. */
export const SKIP_WITHOUT_SCRIPT: string | false = ['/usr/bin/script', '/bin/script'].some((path) => existsSync(path)) ? false : 'util-linux `script` not installed (apt-get install bsdutils)';

const shellQuote = (arg: string): string => `'${arg.replace(/'/g, `'\\''`)}'`;

/**
 * Runs `kiln <args>` on a pseudo-terminal (stdout and stderr both a TTY) and resolves with
 * everything it printed. Colours are allowed unless `env` says otherwise.
 */
export function runKilnInTty(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const command = ['exec', process.execPath, KILN_BIN, ...args].map((part, i) => (i === 0 ? part : shellQuote(part))).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qefc', command, '/dev/null'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, KILN_TRACKING_URI: '', MLFLOW_TRACKING_URI: '', NO_COLOR: '', TERM: 'xterm-256color', ...env },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** A long-running `kiln` child whose output the test can wait on. */
export interface KilnChild {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout or stderr matches `pattern`; rejects if the process exits first. */
  waitFor(pattern: RegExp): Promise<void>;
  exited: Promise<number | null>;
}

export function spawnKiln(args: string[], env: Record<string, string> = {}): KilnChild {
  const child = spawn(process.execPath, [KILN_BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KILN_TRACKING_URI: '', MLFLOW_TRACKING_URI: '', KILN_PROFILE: '', KILN_LOG_DIR: join(tmpdir(), 'kiln-test-logs'), ...env },
  });
  let stdout = '';
  let stderr = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const check = (): void => {
    for (const waiter of [...waiters]) {
      if (waiter.pattern.test(stdout) || waiter.pattern.test(stderr)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    check();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    check();
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    waitFor: (pattern) =>
      new Promise<void>((resolve, reject) => {
        waiters.push({ pattern, resolve });
        check();
        void exited.then((code) => reject(new Error(`kiln ${args.join(' ')} exited (${String(code)}) before printing ${String(pattern)}:\n${stdout}\n${stderr}`)));
      }),
  };
}

/** The first JSON line a long-running `kiln … --json` child (server, serve) prints on stdout. */
export async function firstJsonLine(child: ChildProcess): Promise<Record<string, unknown>> {
  if (!child.stdout) throw new Error('the child was started without a stdout pipe');
  for await (const line of createInterface({ input: child.stdout })) {
    if (line.startsWith('{')) return JSON.parse(line) as Record<string, unknown>;
  }
  throw new Error('the process exited before printing its JSON line');
}
