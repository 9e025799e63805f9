/**
 * bench/tracking — `npm run bench:tracking`: the tracking server's hot paths, on SQLite and on
 * PostgreSQL side by side, each through real HTTP (RestStore → kiln server → store).
 *
 * - log-batch throughput (metric points/s): one client, and four client processes at once;
 *   baseline measured in the same run: the same points sent one log-metric call each (what
 *   MLflow's per-metric logging does).
 * - runs/search p50/p95 over 10,000 runs with 20 metrics and 10 params each, with a filter and
 *   an order_by (page of 100, the UI's size; and of 1000, MLflow's default).
 * - metrics/get-history of one metric with 100,000 points.
 * Targets (issue 3, SQLite): ≥ 50,000 points/s, search p95 ≤ 100 ms, history ≤ 200 ms.
 * The last stdout line is one JSON object of all figures. Options: --skip-postgres.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { RestStore } from '../src/tracking/client/rest-store.js';
import { createTrackingServer } from '../src/tracking/server/index.js';
import { openStore } from '../src/tracking/store/index.js';
import { postgresBinDir, startPostgres } from '../src/db/postgres-server.js';
import type { Metric, TrackingStore } from '../src/tracking/store/types.js';

const TARGETS = { log_batch_points_per_s: 50_000, search_p95_ms: 100, history_ms: 200 };
const RUNS = 10_000;
const CLIENT_BATCHES = 100;

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
const round = (value: number, digits = 1): number => Number(value.toFixed(digits));

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const result = await fn();
  return [result, performance.now() - start];
}

function batchOf(offset: number, size = 1000): Metric[] {
  return Array.from({ length: size }, (_, i) => ({ key: `m${i % 20}`, value: Math.cos(offset + i), step: Math.floor((offset + i) / 20), timestamp: 1_700_000_000_000 + offset + i }));
}

async function oneClient(remote: RestStore): Promise<{ batched: number; single: number }> {
  const run = await remote.createRun({ experiment_id: '0', run_name: 'bench-one-client' });
  const batches = Array.from({ length: 200 }, (_, b) => batchOf(b * 1000));
  const [, batchMs] = await timed(async () => {
    for (const metrics of batches) await remote.logBatch(run.info.run_id, { metrics });
  });
  const baselineRun = await remote.createRun({ experiment_id: '0', run_name: 'bench-log-metric' });
  const singles = batchOf(0, 2000);
  const [, singleMs] = await timed(async () => {
    for (const metric of singles) await remote.logBatch(baselineRun.info.run_id, { metrics: [metric] });
  });
  return { batched: (batches.length * 1000) / (batchMs / 1000), single: singles.length / (singleMs / 1000) };
}

async function fourClients(url: string): Promise<number> {
  const script = fileURLToPath(new URL('./tracking-client.js', import.meta.url));
  const children = Array.from({ length: 4 }, () => spawn(process.execPath, [script, url, String(CLIENT_BATCHES)], { stdio: ['pipe', 'pipe', 'inherit'] }));
  const closed = children.map((child) => new Promise((resolve) => child.once('close', resolve)));
  const lines = children.map((child) => createInterface({ input: child.stdout })[Symbol.asyncIterator]());
  const next = async (i: number): Promise<string> => {
    const result = await lines[i].next();
    if (result.done) throw new Error(`bench client ${i} exited early`);
    return result.value;
  };
  await Promise.all(children.map(async (_, i) => assertLine(await next(i), 'ready')));
  const [, ms] = await timed(async () => {
    children.forEach((child) => child.stdin.end('go\n'));
    await Promise.all(children.map(async (_, i) => assertLine(await next(i), 'done')));
  });
  await Promise.all(closed);
  return (4 * CLIENT_BATCHES * 1000) / (ms / 1000);
}

function assertLine(line: string, prefix: string): void {
  if (!line.startsWith(prefix)) throw new Error(`bench client said "${line}", expected ${prefix}`);
}

/** 10,000 runs with 20 metrics and 10 params each, written straight into the store. */
async function populate(store: TrackingStore, experimentId: string): Promise<void> {
  for (let r = 0; r < RUNS; r++) {
    const run = await store.createRun({ experiment_id: experimentId, run_name: `run-${r}`, start_time: 1_700_000_000_000 + r });
    await store.logBatch(run.info.run_id, {
      metrics: Array.from({ length: 20 }, (_, k) => ({ key: k === 0 ? 'val_acc' : `metric_${k}`, value: ((r * 7919 + k * 104729) % 10007) / 10007, step: 0, timestamp: 1 })),
      params: Array.from({ length: 10 }, (_, k) => ({ key: k === 0 ? 'lr' : `param_${k}`, value: k === 0 ? ['0.001', '0.01', '0.1'][r % 3] : String((r + k) % 17) })),
    });
  }
}

async function searchLatencies(remote: RestStore, experimentId: string, maxResults: number): Promise<{ p50: number; p95: number; rows: number }> {
  const times: number[] = [];
  let rows = 0;
  for (let q = 0; q < 40; q++) {
    const threshold = (q % 10) / 10;
    const lr = ['0.001', '0.01', '0.1'][q % 3];
    const [page, ms] = await timed(() =>
      remote.searchRuns({
        experiment_ids: [experimentId],
        filter: `metrics.val_acc > ${threshold} and params.lr = '${lr}'`,
        order_by: [q % 2 === 0 ? 'metrics.val_acc DESC' : 'attributes.start_time DESC'],
        max_results: maxResults,
      }),
    );
    if (q >= 5) times.push(ms); // the first queries warm caches and JIT
    rows = Math.max(rows, page.items.length);
  }
  return { p50: round(percentile(times, 50)), p95: round(percentile(times, 95)), rows };
}

async function history(remote: RestStore): Promise<number> {
  const run = await remote.createRun({ experiment_id: '0', run_name: 'bench-history' });
  for (let b = 0; b < 100; b++) {
    await remote.logBatch(run.info.run_id, {
      metrics: Array.from({ length: 1000 }, (_, i) => ({ key: 'loss', value: 1 / (b * 1000 + i + 1), step: b * 1000 + i, timestamp: 1_700_000_000_000 + b * 1000 + i })),
    });
  }
  const times: number[] = [];
  for (let i = 0; i < 6; i++) {
    const [page, ms] = await timed(() => remote.getMetricHistory(run.info.run_id, 'loss'));
    if (page.items.length !== 100_000) throw new Error(`history returned ${page.items.length} points`);
    if (i > 0) times.push(ms);
  }
  return round(percentile(times, 50));
}

async function benchBackend(kind: 'sqlite' | 'postgresql', uri: string, dir: string, afterLoad: () => Promise<void>) {
  const store = await openStore(uri, { artifactRoot: 'mlflow-artifacts:' });
  const app = await createTrackingServer({ store, artifactsDestination: join(dir, `artifacts-${kind}`) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  const remote = new RestStore({ url });
  try {
    console.error(`[${kind}] log-batch, one client…`);
    const one = await oneClient(remote);
    console.error(`[${kind}] log-batch, four client processes…`);
    const four = await fourClients(url);
    console.error(`[${kind}] populating ${RUNS} runs (20 metrics, 10 params each)…`);
    const experimentId = await store.createExperiment({ name: 'bench-search' });
    const [, populateMs] = await timed(() => populate(store, experimentId));
    await afterLoad();
    console.error(`[${kind}] searching…`);
    const page100 = await searchLatencies(remote, experimentId, 100);
    const page1000 = await searchLatencies(remote, experimentId, 1000);
    console.error(`[${kind}] metric history of 100,000 points…`);
    const historyMs = await history(remote);
    const figures = {
      log_batch_points_per_s_1_client: Math.round(one.batched),
      log_batch_points_per_s_4_clients: Math.round(four),
      baseline_log_metric_points_per_s: Math.round(one.single),
      log_batch_vs_log_metric_ratio: round(one.batched / one.single),
      populate_10k_runs_s: round(populateMs / 1000),
      search_p50_ms: page100.p50,
      search_p95_ms: page100.p95,
      search_page_rows: page100.rows,
      search_1000_p50_ms: page1000.p50,
      search_1000_p95_ms: page1000.p95,
      history_100k_ms: historyMs,
    };
    console.error(`[${kind}] ${JSON.stringify(figures)}`);
    return figures;
  } finally {
    await app.close();
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-bench-tracking-'));
  const results: Record<string, unknown> = {};
  try {
    const sqlite = await benchBackend('sqlite', `sqlite:///${join(dir, 'bench.db')}`, dir, async () => undefined);
    results.sqlite = sqlite;
    if (!process.argv.includes('--skip-postgres') && postgresBinDir() !== undefined) {
      const server = await startPostgres({ durable: true });
      try {
        const uri = await server.createDatabase('kiln_bench');
        // A freshly bulk-loaded table has no planner statistics until autovacuum gets to it;
        // ANALYZE stands in for that here.
        results.postgresql = await benchBackend('postgresql', uri, dir, async () => {
          const client = new pg.Client({ connectionString: uri });
          await client.connect();
          await client.query('ANALYZE');
          await client.end();
        });
        results.postgresql_settings = 'PostgreSQL with synchronous_commit=off (SQLite runs WAL with synchronous=NORMAL)';
      } finally {
        await server.stop();
      }
    } else {
      results.postgresql = null;
      results.postgresql_note = process.argv.includes('--skip-postgres') ? 'skipped (--skip-postgres)' : 'PostgreSQL not installed: apt-get install postgresql';
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const s = results.sqlite as Record<string, number>;
  const summary = {
    bench: 'tracking',
    targets: TARGETS,
    sqlite_vs_target: {
      log_batch_1_client_ratio: round(s.log_batch_points_per_s_1_client / TARGETS.log_batch_points_per_s, 2),
      log_batch_4_clients_ratio: round(s.log_batch_points_per_s_4_clients / TARGETS.log_batch_points_per_s, 2),
      search_p95_ratio: round(s.search_p95_ms / TARGETS.search_p95_ms, 2),
      history_ratio: round(s.history_100k_ms / TARGETS.history_ms, 2),
      meets_targets:
        s.log_batch_points_per_s_1_client >= TARGETS.log_batch_points_per_s &&
        s.log_batch_points_per_s_4_clients >= TARGETS.log_batch_points_per_s &&
        s.search_p95_ms <= TARGETS.search_p95_ms &&
        s.history_100k_ms <= TARGETS.history_ms,
    },
    ...results,
  };
  console.log(JSON.stringify(summary));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
