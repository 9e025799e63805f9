import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { startTrackingServer } from '../tracking/server/index.js';
import { RandomSampler } from './samplers/random.js';
import { countsTowardTarget, createStudyIfAbsent, OVER_TARGET_REASON, processSeed, roundTarget, TARGET_ATTR } from './shared-study.js';
import { InMemoryStorage } from './storage/memory.js';
import { openStudyStorage } from './storage/open.js';
import { createStudy } from './study.js';
import type { FrozenTrial } from './types.js';

const WORKER = fileURLToPath(new URL('./test-worker.js', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Worker {
  child: ChildProcess;
  done: Promise<number | null>;
  /** Resolves when the worker has printed `n` "trial" lines. */
  trials(n: number): Promise<void>;
}

function worker(uri: string, study: string, nTrials: number, sleepMs: number): Worker {
  const child = spawn(process.execPath, [WORKER, uri, study, String(nTrials), String(sleepMs), 'shared'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const done = new Promise<number | null>((resolve) => child.once('close', resolve));
  let seen = 0;
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    seen += (chunk.toString().match(/trial \d+/g) ?? []).length;
    for (const w of waiters) if (seen >= w.n) w.resolve();
  });
  return { child, done, trials: (n) => new Promise((resolve) => (seen >= n ? resolve() : waiters.push({ n, resolve }))) };
}

const lostWithWorker = (t: FrozenTrial): boolean => t.state === 'FAIL' && /heartbeat/.test(String(t.systemAttrs.fail_reason));

describe('a study shared by independent processes', () => {
  test('the study\'s creator keeps the configured seed; a process that joined mixes in its own', () => {
    assert.equal(processSeed(42, false), 42);
    const joined = [processSeed(42, true), processSeed(42, true)];
    assert.ok(joined.every((seed) => seed !== 42 && Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32));
    assert.notEqual(joined[0], joined[1], 'two processes on one host and pid still differ (random bytes)');
  });

  test('createStudyIfAbsent tells the creator from the processes that found the study', async () => {
    const storage = new InMemoryStorage();
    assert.equal(await createStudyIfAbsent(storage, 's', 'minimize'), true);
    assert.equal(await createStudyIfAbsent(storage, 's', 'minimize'), false);
  });

  test('trials lost with their worker, abandoned past the target, or still enqueued do not count', () => {
    const trial = (state: FrozenTrial['state'], reason?: string): FrozenTrial =>
      ({ state, systemAttrs: reason === undefined ? {} : { fail_reason: reason } }) as unknown as FrozenTrial;
    assert.deepEqual(
      [
        trial('COMPLETE'),
        trial('PRUNED'),
        trial('RUNNING'),
        trial('FAIL', 'TypeError: boom'),
        trial('FAIL', 'no heartbeat for 400 ms: its worker died'),
        trial('FAIL', 'interrupted'),
        trial('FAIL', OVER_TARGET_REASON),
        trial('WAITING'),
      ].map(countsTowardTarget),
      [true, true, true, true, false, false, false, false],
    );
  });

  test('a round target is kept on the study: joined while unmet, renewed for n_trials more once met', async () => {
    const storage = new InMemoryStorage();
    const id = await storage.createStudy('rounds', 'minimize');
    assert.equal(await roundTarget(storage, id, 3), 3);
    assert.equal((await storage.getStudy(id)).systemAttrs[TARGET_ATTR], 3);
    await storage.setTrialStateValue((await storage.createTrial(id)).trialId, 'COMPLETE', 1);
    assert.equal(await roundTarget(storage, id, 5), 3, 'a process joining an unmet round helps finish it');
    for (let i = 0; i < 2; i++) await storage.setTrialStateValue((await storage.createTrial(id)).trialId, 'COMPLETE', 1);
    assert.equal(await roundTarget(storage, id, 2), 5, 'a resumed study runs n_trials more');
  });

  test('two studies racing for the last slots in one process never exceed the target', async () => {
    const storage = new InMemoryStorage();
    const objective = async (trial: { suggestFloat(name: string, low: number, high: number): number }): Promise<number> => {
      const x = trial.suggestFloat('x', -1, 1);
      await sleep(1);
      return x * x;
    };
    const a = await createStudy({ studyName: 'race', storage, sampler: new RandomSampler({ seed: 1 }) });
    const b = await createStudy({ studyName: 'race', storage, loadIfExists: true, sampler: new RandomSampler({ seed: 2 }) });
    await Promise.all([a.optimize(objective, { studyTarget: 7 }), b.optimize(objective, { studyTarget: 7 })]);
    const trials = await a.trials();
    assert.equal(trials.filter((t) => t.state === 'COMPLETE').length, 7);
    assert.ok(trials.every((t) => t.state === 'COMPLETE' || t.systemAttrs.fail_reason === OVER_TARGET_REASON));
  });

  describe('through a real tracking server', () => {
    let dir = '';
    let server: FastifyInstance;
    let url = '';
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'kiln-shared-study-'));
      server = await startTrackingServer({ backendStoreUri: `sqlite:///${join(dir, 'tracking.db')}`, artifactsDestination: join(dir, 'artifacts'), port: 0, ui: false, defaultMetrics: false });
      url = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
    });
    after(async () => {
      await server?.close();
      await rm(dir, { recursive: true, force: true });
    });

    test('two processes, one killed mid-trial: the study still ends with n_trials COMPLETE and no params twice', async () => {
      const doomed = worker(url, 'shared', 6, 250);
      const survivor = worker(url, 'shared', 6, 250);
      await doomed.trials(2);
      await sleep(100); // mid-trial (each sleeps 250 ms), its param already written
      doomed.child.kill('SIGKILL');
      await doomed.done;
      assert.equal(await survivor.done, 0);
      const storage = await openStudyStorage(url);
      const trials = await storage.getAllTrials((await storage.getStudyIdByName('shared')) as number);
      const complete = trials.filter((t) => t.state === 'COMPLETE');
      assert.equal(complete.length, 6, JSON.stringify(trials.map((t) => [t.number, t.state, t.systemAttrs.fail_reason])));
      const lost = trials.filter(lostWithWorker);
      assert.equal(lost.length, 1, 'the killed worker\'s trial is FAIL once its heartbeat is stale');
      assert.notEqual(lost[0].userAttrs.pid, survivor.child.pid);
      assert.ok(trials.every((t) => t.state === 'COMPLETE' || lostWithWorker(t) || t.systemAttrs.fail_reason === OVER_TARGET_REASON));
      const params = trials.filter((t) => 'x' in t.params).map((t) => t.params.x);
      assert.equal(new Set(params).size, params.length, `identical params: ${params.join(', ')}`);
      assert.ok(complete.some((t) => t.userAttrs.pid === survivor.child.pid) && complete.some((t) => t.userAttrs.pid === doomed.child.pid));
    });

    test('a study one process owns is reproducible: the same seed proposes the same trials', async () => {
      for (const name of ['alone-1', 'alone-2']) assert.equal(await worker(url, name, 3, 0).done, 0);
      const storage = await openStudyStorage(url);
      const xs = async (name: string): Promise<unknown[]> => (await storage.getAllTrials((await storage.getStudyIdByName(name)) as number)).map((t) => t.params.x);
      const first = await xs('alone-1');
      assert.equal(first.length, 3);
      assert.deepEqual(await xs('alone-2'), first);
    });
  });
});
