/**
 * observability/test-stack — helpers for the tests that run the monitoring stack for real:
 * locating the Debian binaries, free ports, child processes, the dashboards' panel queries.
 * Not used by Kiln itself.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const DEPLOY = join(REPO, 'deploy');
export const DASHBOARD_DIR = join(DEPLOY, 'grafana', 'provisioning', 'dashboards');

/** The path of `name` on PATH (and the sbin folders Debian uses), or null. */
export function which(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  for (const dir of dirs) if (dir && existsSync(join(dir, name))) return join(dir, name);
  return null;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Child {
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

export function startChild(command: string, args: string[]): Child {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    process: child,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 20_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: { refId: string; expr: string; datasource?: { type?: string; uid?: string } }[];
  panels?: Panel[];
}

export interface TemplateVariable {
  name: string;
  type: string;
  query: string | { query: string };
  definition?: string;
  current?: { value: string | string[] };
  includeAll?: boolean;
  allValue?: string;
}

export interface Annotation {
  name: string;
  builtIn?: number;
  datasource?: { type?: string; uid?: string };
  expr?: string;
  titleFormat?: string;
  textFormat?: string;
}

export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: TemplateVariable[] };
  annotations: { list: Annotation[] };
  [key: string]: unknown;
}

export function loadDashboards(): { file: string; dashboard: Dashboard }[] {
  return readdirSync(DASHBOARD_DIR)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({ file, dashboard: JSON.parse(readFileSync(join(DASHBOARD_DIR, file), 'utf8')) as Dashboard }));
}

/** Every panel, rows' nested panels included. */
export function allPanels(dashboard: Dashboard): Panel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

/**
 * A dashboard query as Grafana sends it to Prometheus: every `$job`/`$instance` at "All" (the
 * variables' allValue), `$__rate_interval` and `$__range` as given.
 */
export function interpolate(expr: string, intervals: { rateInterval: string; range: string }): string {
  return expr
    .replaceAll('$__rate_interval', intervals.rateInterval)
    .replaceAll('$__range', intervals.range)
    .replaceAll('$job', '.*')
    .replaceAll('$instance', '.*');
}

/** `label_values(<series selector>, <label>)` of a query variable, as its parts. */
export function labelValuesQuery(variable: TemplateVariable): { selector: string; label: string } | null {
  const query = typeof variable.query === 'string' ? variable.query : variable.query.query;
  const match = /^label_values\((.+),\s*(\w+)\)$/.exec(query.trim());
  return match ? { selector: match[1]!, label: match[2]! } : null;
}

/** A query that reads GPU series (DCGM, Kiln's nvidia-smi gauges, GPU inference): may be empty without a GPU. */
export const isGpuQuery = (expr: string): boolean => /DCGM_|kiln_gpu_|device="gpu"/.test(expr);
