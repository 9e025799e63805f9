/**
 * The fluent run API, specified against each kind of tracking URI it accepts: a SQLite file, a
 * real `kiln server` process over HTTP, and a throwaway PostgreSQL server (skipped, and reported
 * as skipped, where PostgreSQL is not installed).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { firstJsonLine, KILN_BIN } from '../../cli/test-helpers.js';
import { type PostgresServer, postgresBinDir, startPostgres } from '../../db/postgres-server.js';
import type { Run } from '../store/types.js';
import { proxiedPath } from './artifacts.js';
import {
  activeRun,
  type ActiveRun,
  closeTracking,
  endRun,
  flushMetrics,
  logArtifact,
  logArtifacts,
  logMetric,
  logMetrics,
  logParam,
  logParams,
  setExperiment,
  setLoggerOptions,
  setTag,
  setTags,
  setTrackingUri,
  startRun,
} from './fluent.js';

const home = mkdtempSync(join(tmpdir(), 'kiln-fluent-'));
process.env.KILN_HOME = home;
delete process.env.KILN_TRACKING_URI;
delete process.env.MLFLOW_TRACKING_URI;

interface Backend {
  uri: string;
  readArtifact(artifactUri: string, path: string): Promise<string>;
  /** Stops the store, starts `during`, brings the store back and waits for `during` (where the backend can). */
  outage?(during: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

const readLocalArtifact = async (artifactUri: string, path: string): Promise<string> => readFileSync(join(home, 'artifacts', proxiedPath(artifactUri), path), 'utf8');

/** `kiln server` as a child process on `port` (0: a free one), over the database and artifacts in `dir`. */
async function spawnKilnServer(dir: string, port: number): Promise<{ url: string; stop(): Promise<void> }> {
  const child: ChildProcess = spawn(
    process.execPath,
    [KILN_BIN, 'server', '--port', String(port), '--json', '--backend-store-uri', `sqlite:///${join(dir, 'tracking.db')}`, '--artifacts-destination', join(dir, 'artifacts')],
    { env: { ...process.env, KILN_TRACKING_URI: '', MLFLOW_TRACKING_URI: '' }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = (await firstJsonLine(child)).url as string;
  return {
    url,
    async stop() {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function startKilnServer(): Promise<Backend> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-fluent-server-'));
  let server = await spawnKilnServer(dir, 0);
  const url = server.url;
  return {
    uri: url,
    async readArtifact(artifactUri, path) {
      const response = await fetch(`${url}/api/2.0/mlflow-artifacts/artifacts/${proxiedPath(artifactUri)}/${path}`);
      assert.equal(response.status, 200, `GET artifact ${path}`);
      return response.text();
    },
    async outage(during) {
      await server.stop();
      const logged = during();
      server = await spawnKilnServer(dir, Number(new URL(url).port));
      await logged;
    },
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const backends: { name: string; skip: string | false; restartable?: boolean; start: () => Promise<Backend> }[] = [
  {
    name: 'sqlite',
    skip: false,
    start: async () => ({ uri: `sqlite:///${join(home, 'tracking.db')}`, readArtifact: readLocalArtifact, stop: async () => undefined }),
  },
  { name: 'a kiln server over HTTP', skip: false, restartable: true, start: startKilnServer },
  {
    name: 'postgresql',
    skip: postgresBinDir() === undefined ? 'PostgreSQL not installed: apt-get install postgresql' : false,
    start: async () => {
      const server: PostgresServer = await startPostgres();
      return { uri: await server.createDatabase('kiln_fluent'), readArtifact: readLocalArtifact, stop: () => server.stop() };
    },
  },
];

const byKey = (items: { key: string; value: string | number }[]): Record<string, string | number> => Object.fromEntries(items.map((item) => [item.key, item.value]));

for (const { name, skip, restartable, start } of backends) {
  describe(`fluent run API on ${name}`, { skip }, () => {
    let backend: Backend;
    const getRun = (run: ActiveRun): Promise<Run> => run.session.store.getRun(run.runId);

    before(async () => {
      backend = await start();
      setTrackingUri(backend.uri);
      setExperiment(`fluent-${name}`);
    });

    after(async () => {
      await closeTracking();
      await backend?.stop();
    });

    test('a scoped run logs params, buffered metrics, tags and artifacts, and ends FINISHED', async () => {
      const folder = mkdtempSync(join(tmpdir(), 'kiln-fluent-files-'));
      writeFileSync(join(folder, 'notes.txt'), 'hello');
      mkdirSync(join(folder, 'plots'));
      writeFileSync(join(folder, 'plots', 'loss.csv'), 'step,loss\n0,1\n');
      const run = await startRun({ runName: 'scoped' }, async (run) => {
        assert.equal(activeRun(), run);
        await logParam('lr', 0.01);
        await logParams({ batch_size: 64, optimizer: 'adam' });
        await setTag('team', 'vision');
        await setTags({ stage: 'dev' });
        // More points than one batch holds (1000): the logger splits and sends them in order.
        for (let step = 0; step < 1200; step++) await logMetric('loss', 1 / (step + 1), { step });
        await logMetrics({ accuracy: 0.9, f1: 0.8 }, { step: 3 });
        await logArtifact(join(folder, 'notes.txt'));
        await logArtifact(join(folder, 'notes.txt'), 'copies/one');
        await logArtifacts(folder, 'all');
        return run;
      });
      assert.equal(activeRun(), undefined);
      const stored = await getRun(run);
      assert.equal(stored.info.status, 'FINISHED');
      assert.equal(stored.info.run_name, 'scoped');
      assert.deepEqual(byKey(stored.data.params), { lr: '0.01', batch_size: '64', optimizer: 'adam' });
      const tags = byKey(stored.data.tags);
      assert.equal(tags.team, 'vision');
      assert.equal(tags.stage, 'dev');
      assert.equal(tags['mlflow.parentRunId'], undefined);
      assert.deepEqual(byKey(stored.data.metrics), { loss: 1 / 1200, accuracy: 0.9, f1: 0.8 });
      const history = await run.session.store.getMetricHistory(run.runId, 'loss', { max_results: 5000 });
      assert.equal(history.items.length, 1200);
      assert.equal(await backend.readArtifact(run.artifactUri, 'notes.txt'), 'hello');
      assert.equal(await backend.readArtifact(run.artifactUri, 'copies/one/notes.txt'), 'hello');
      assert.equal(await backend.readArtifact(run.artifactUri, 'all/plots/loss.csv'), 'step,loss\n0,1\n');
      rmSync(folder, { recursive: true, force: true });
    });

    test('nested runs carry mlflow.parentRunId; a second top-level run while one is active is refused', async () => {
      const parent = await startRun({ runName: 'parent' });
      assert.equal(activeRun(), parent);
      await assert.rejects(startRun({ runName: 'sibling' }), { code: 'KILN_ERR_RUN_ACTIVE' });
      const child = await startRun({ runName: 'child', nested: true });
      assert.equal(child.parentRunId, parent.runId);
      await logParam('depth', 1);
      await endRun();
      assert.equal(activeRun(), parent);
      await endRun('KILLED');
      assert.equal(activeRun(), undefined);
      const [storedParent, storedChild] = await Promise.all([getRun(parent), getRun(child)]);
      assert.equal(byKey(storedChild.data.tags)['mlflow.parentRunId'], parent.runId);
      assert.deepEqual(byKey(storedChild.data.params), { depth: '1' });
      assert.deepEqual(storedParent.data.params, []);
      assert.equal(storedChild.info.status, 'FINISHED');
      assert.equal(storedParent.info.status, 'KILLED');
    });

    test('concurrent scopes each log to their own run', async () => {
      const worker = (index: number): Promise<ActiveRun> =>
        startRun({ runName: `worker-${index}` }, async (run) => {
          for (let step = 0; step < 5; step++) {
            await logMetric('score', index * 100 + step, { step });
            await new Promise((resolve) => setImmediate(resolve));
          }
          await logParam('index', index);
          return run;
        });
      const runs = await Promise.all([0, 1, 2].map(worker));
      for (const [index, run] of runs.entries()) {
        const stored = await getRun(run);
        assert.deepEqual(byKey(stored.data.params), { index: String(index) });
        assert.deepEqual(byKey(stored.data.metrics), { score: index * 100 + 4 });
      }
    });

    test('a scope that throws ends its run FAILED and rethrows; logging without a run starts one', async () => {
      let failed: ActiveRun | undefined;
      await assert.rejects(
        startRun({ runName: 'doomed' }, async (run) => {
          failed = run;
          await logMetric('loss', Number.NaN);
          throw new Error('diverged');
        }),
        /diverged/,
      );
      const stored = await getRun(failed as ActiveRun);
      assert.equal(stored.info.status, 'FAILED');
      assert.ok(Number.isNaN(byKey(stored.data.metrics).loss), 'NaN metrics are stored as NaN');

      await logParam('implicit', true);
      const implicit = activeRun() as ActiveRun;
      assert.ok(implicit, 'logging started a run');
      await endRun();
      assert.deepEqual(byKey((await getRun(implicit)).data.params), { implicit: 'true' });
      await assert.rejects(logMetric('', 1), { code: 'KILN_ERR_INVALID_METRIC' });
      await endRun();
    });

    // Only a server can be restarted under a running client.
    if (restartable) test('params, tags and buffered metrics logged while the tracking server restarts are retried until stored', async () => {
      assert.ok(backend.outage);
      setLoggerOptions({ retries: 60, retryDelayMs: 100, retryMaxDelayMs: 500, flushIntervalMs: 50 });
      try {
        const run = await startRun({ runName: 'through-restart' });
        await backend.outage(async () => {
          await logParams({ during: 'outage' });
          await setTag('survived', 'yes');
          await logMetric('loss', 0.5, { step: 1 });
          await flushMetrics();
        });
        await endRun();
        const stored = await getRun(run);
        assert.deepEqual(byKey(stored.data.params), { during: 'outage' });
        assert.equal(byKey(stored.data.tags).survived, 'yes');
        assert.deepEqual(byKey(stored.data.metrics), { loss: 0.5 });
        assert.equal(stored.info.status, 'FINISHED');
      } finally {
        setLoggerOptions({});
      }
    });
  });
}

after(() => rmSync(home, { recursive: true, force: true }));
