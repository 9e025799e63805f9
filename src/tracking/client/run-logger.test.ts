import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTrackingServer } from '../server/index.js';
import { openStore } from '../store/index.js';
import type { TrackingStore } from '../store/types.js';
import { RestStore } from './rest-store.js';
import { RunLogger } from './run-logger.js';

const point = (step: number) => ({ key: 'loss', value: 1 / (step + 1), step, timestamp: 1000 + step });

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

describe('RunLogger', () => {
  let dir = '';
  let store: TrackingStore;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-logger-'));
    store = await openStore(`sqlite:///${join(dir, 'tracking.db')}`);
  });

  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const newRun = async (): Promise<string> => (await store.createRun({ experiment_id: '0' })).info.run_id;
  const historyOf = async (runId: string) => (await store.getMetricHistory(runId, 'loss')).items;

  test('log() only buffers: nothing reaches the store until the buffer fills, the timer fires or flush()', async () => {
    const runId = await newRun();
    const logger = new RunLogger(store, runId, { flushIntervalMs: 60_000 });
    const returned = logger.log([point(0), point(1)]);
    assert.equal(returned, undefined);
    assert.equal((await historyOf(runId)).length, 0);
    await logger.flush();
    assert.deepEqual((await historyOf(runId)).map((m) => m.step), [0, 1]);
  });

  test('a full buffer goes out in batches of at most 1000, in order, without waiting for flush()', async () => {
    const runId = await newRun();
    const calls: number[] = [];
    const counting: TrackingStore = Object.create(store) as TrackingStore;
    counting.logBatch = async (id, batch) => {
      calls.push(batch.metrics?.length ?? 0);
      return store.logBatch(id, batch);
    };
    const logger = new RunLogger(counting, runId, { flushIntervalMs: 60_000 });
    logger.log(Array.from({ length: 2500 }, (_, i) => point(i)));
    await logger.flush();
    assert.deepEqual(calls, [1000, 1000, 500]);
    const steps = (await historyOf(runId)).map((m) => m.step);
    assert.deepEqual(steps, Array.from({ length: 2500 }, (_, i) => i));
    assert.equal(logger.stored, 2500);
  });

  test('points left in the buffer are sent when the interval passes', async () => {
    const runId = await newRun();
    const logger = new RunLogger(store, runId, { flushIntervalMs: 30 });
    logger.log([point(7)]);
    for (let i = 0; i < 100 && (await historyOf(runId)).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual((await historyOf(runId)).map((m) => m.step), [7]);
  });

  test('a server that is not up yet: batches are retried with backoff until it answers', async () => {
    const port = await freePort();
    const remote = new RestStore({ url: `http://127.0.0.1:${port}`, attempts: 1 });
    const runId = await newRun();
    // Waits are jittered (random, up to 200 ms each): 300 retries keep trying for half a minute on
    // average, far longer than a loaded machine takes to start the server.
    const logger = new RunLogger(remote, runId, { retries: 300, retryDelayMs: 50, retryMaxDelayMs: 200 });
    logger.log([point(0), point(1), point(2)]);
    const flushed = logger.flush();
    await new Promise((r) => setTimeout(r, 150));
    const app = await createTrackingServer({ store, artifactsDestination: join(dir, 'artifacts') });
    await app.listen({ host: '127.0.0.1', port });
    try {
      await flushed;
      assert.equal(logger.lost, 0);
      assert.deepEqual((await historyOf(runId)).map((m) => m.step), [0, 1, 2]);
    } finally {
      // The server closes the store it was given; reopen ours for the remaining tests.
      await app.close();
      store = await openStore(`sqlite:///${join(dir, 'tracking.db')}`);
    }
  });

  test('a batch the store rejects is reported once, not retried, and the rest still goes through', async () => {
    const runId = await newRun();
    const errors: string[] = [];
    const logger = new RunLogger(store, runId, { retries: 5, retryDelayMs: 1000, onError: (error, lost) => errors.push(`${lost}: ${String(error)}`) });
    logger.log([{ key: 'loss', value: 1, step: 0, timestamp: 1.5 }]);
    await logger.flush();
    logger.log([point(3)]);
    await logger.flush();
    assert.equal(errors.length, 1);
    assert.match(errors[0], /^1: .*timestamp/);
    assert.equal(logger.lost, 1);
    assert.deepEqual((await historyOf(runId)).map((m) => m.step), [3]);
  });

  test('end() flushes and closes the run with its status and end time', async () => {
    const runId = await newRun();
    const logger = new RunLogger(store, runId);
    logger.log([point(0)]);
    await logger.end('FAILED');
    const run = await store.getRun(runId);
    assert.equal(run.info.status, 'FAILED');
    assert.ok((run.info.end_time ?? 0) > 0);
    assert.equal(run.data.metrics[0]?.key, 'loss');
  });
});

describe('RunLogger at process exit', () => {
  test('a program that never calls flush() still stores its buffered points before it exits', async () => {
    const { spawnSync } = await import('node:child_process');
    const dir = await mkdtemp(join(tmpdir(), 'kiln-logger-exit-'));
    try {
      const uri = `sqlite:///${join(dir, 'tracking.db')}`;
      const store = await openStore(uri);
      const runId = (await store.createRun({ experiment_id: '0' })).info.run_id;
      await store.close();
      const loggerModule = new URL('./run-logger.js', import.meta.url).href;
      const storeModule = new URL('../store/index.js', import.meta.url).href;
      const program = `
        const { RunLogger } = await import(${JSON.stringify(loggerModule)});
        const { openStore } = await import(${JSON.stringify(storeModule)});
        const store = await openStore(${JSON.stringify(uri)});
        const logger = new RunLogger(store, ${JSON.stringify(runId)}, { flushIntervalMs: 60000 });
        logger.log([{ key: 'loss', value: 0.5, step: 1, timestamp: 1 }, { key: 'loss', value: 0.4, step: 2, timestamp: 2 }]);
      `;
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', program], { encoding: 'utf8', timeout: 20000 });
      assert.equal(child.status, 0, child.stderr);
      const reopened = await openStore(uri);
      try {
        assert.deepEqual((await reopened.getMetricHistory(runId, 'loss')).items.map((m) => m.step), [1, 2]);
      } finally {
        await reopened.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
