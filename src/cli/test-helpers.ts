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

/** The first JSON line a long-running `kiln … --json` child (server, serve) prints on stdout. */
export async function firstJsonLine(child: ChildProcess): Promise<Record<string, unknown>> {
  if (!child.stdout) throw new Error('the child was started without a stdout pipe');
  for await (const line of createInterface({ input: child.stdout })) {
    if (line.startsWith('{')) return JSON.parse(line) as Record<string, unknown>;
  }
  throw new Error('the process exited before printing its JSON line');
}
