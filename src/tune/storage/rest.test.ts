import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { type PostgresServer, postgresBinDir, startPostgres } from '../../db/postgres-server.js';
import { startTrackingServer } from '../../tracking/server/index.js';
import { call, startTestServer } from '../../tracking/server/test-helpers.js';
import { TrialFinishedError } from '../errors.js';
import { RandomSampler } from '../samplers/random.js';
import { createStudy } from '../study.js';
import type { FloatDistribution } from '../types.js';
import { defineStudyStorageContract } from './contract.js';
import { isServerUri, openStudyStorage } from './open.js';
import { RestStudyStorage, STUDY_STORAGE_API } from './rest.js';
import { SqlStudyStorage } from './sql.js';

const x: FloatDistribution = { type: 'float', low: -1, high: 1, log: false, step: null };
const dir = mkdtempSync(join(tmpdir(), 'kiln-study-rest-'));
let server: FastifyInstance;
let url = '';

before(async () => {
  server = await startTrackingServer({ backendStoreUri: `sqlite:///${join(dir, 'tracking.db')}`, artifactsDestination: join(dir, 'artifacts'), port: 0, ui: false, defaultMetrics: false });
  url = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
});
after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

defineStudyStorageContract('REST (a tracking server on SQLite)', async () => openStudyStorage(url));

if (postgresBinDir() === undefined) {
  test('StudyStorage contract: REST (a tracking server on PostgreSQL)', (t) => {
    t.skip('PostgreSQL not installed: apt-get install postgresql');
  });
} else {
  describe('a tracking server on PostgreSQL', () => {
    let postgres: PostgresServer | null = null;
    let pgServer: FastifyInstance | null = null;
    let pgUrl = '';
    before(async () => {
      postgres = await startPostgres();
      const backendStoreUri = await postgres.createDatabase('kiln_rest_studies');
      pgServer = await startTrackingServer({ backendStoreUri, artifactsDestination: join(dir, 'pg-artifacts'), port: 0, ui: false, defaultMetrics: false });
      pgUrl = `http://127.0.0.1:${(pgServer.server.address() as AddressInfo).port}`;
    });
    after(async () => {
      await pgServer?.close();
      await postgres?.stop();
    });
    defineStudyStorageContract('REST (a tracking server on PostgreSQL)', async () => openStudyStorage(pgUrl));
  });
}

/** A real HTTP proxy in front of the server that answers the first `failures` requests with 503. */
async function flakyProxy(target: string, failures: number): Promise<{ url: string; seen: string[]; server: Server }> {
  const seen: string[] = [];
  const { port, hostname } = new URL(target);
  const proxy = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (seen.length <= failures) {
      res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error_code: 'TEMPORARILY_UNAVAILABLE', message: 'restarting' }));
      return;
    }
    const forward = httpRequest({ host: hostname, port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, seen, server: proxy };
}

describe('RestStudyStorage and the server\'s study-storage API', () => {
  test('openStudyStorage picks the server for http(s) URIs and the database otherwise', async () => {
    assert.ok(isServerUri('https://tracking.example:5000') && !isServerUri('postgresql://u@h/db'));
    const remote = await openStudyStorage(url);
    const local = await openStudyStorage(`sqlite:///${join(dir, 'tracking.db')}`);
    try {
      assert.ok(remote instanceof RestStudyStorage);
      assert.ok(local instanceof SqlStudyStorage);
      const id = await remote.createStudy('seen-by-both', 'maximize');
      assert.equal(await local.getStudyIdByName('seen-by-both'), id, 'the server keeps studies in its own database');
    } finally {
      await local.close();
    }
  });

  test('a study optimized through the server is what the server\'s Studies page reads', async () => {
    const storage = await openStudyStorage(url);
    const study = await createStudy({ studyName: 'ui-visible', storage, direction: 'minimize', sampler: new RandomSampler({ seed: 1 }) });
    await study.optimize(async (trial) => {
      const value = trial.suggestFloat('x', -1, 1);
      await trial.report(Number.NaN, 1);
      return value ** 2;
    }, { nTrials: 3 });
    const list = await call(url, 'GET', '/api/2.0/kiln/studies');
    assert.ok(list.json.studies.some((s: { name: string; n_trials: number }) => s.name === 'ui-visible' && s.n_trials === 3));
    const report = await call(url, 'GET', '/ajax-api/2.0/kiln/studies/ui-visible');
    assert.deepEqual(report.json.study.trials.map((t: { state: string }) => t.state), ['COMPLETE', 'COMPLETE', 'COMPLETE']);
    assert.deepEqual(report.json.study.trials[0].intermediate_values, [[1, null]]);
  });

  test('the tuner\'s errors keep their class and code over HTTP, in MLflow\'s error shape', async () => {
    const storage = await openStudyStorage(url);
    const id = await storage.createStudy('errors', 'minimize');
    await assert.rejects(storage.createStudy('errors', 'minimize'), { name: 'StudyError', code: 'KILN_ERR_DUPLICATED_STUDY' });
    const trial = await storage.createTrial(id);
    await storage.setTrialStateValue(trial.trialId, 'COMPLETE', Infinity);
    assert.equal((await storage.getTrial(trial.trialId)).value, Infinity, 'non-finite values travel as "Infinity"');
    await assert.rejects(storage.setTrialUserAttr(trial.trialId, 'k', 1), (error: unknown) => error instanceof TrialFinishedError && /cannot be changed/.test(error.message));
    await assert.rejects(storage.getTrial(987654), { code: 'KILN_ERR_TRIAL_NOT_FOUND' });
    const raw = await call(url, 'POST', `${STUDY_STORAGE_API}trials/set-param`, { trial_id: trial.trialId, name: 'x', internal_value: 0.5, distribution: x });
    assert.deepEqual([raw.status, raw.json.error_code, raw.json.kiln_error_code], [400, 'INVALID_STATE', 'KILN_ERR_TRIAL_FINISHED']);
    const invalid = await call(url, 'POST', `${STUDY_STORAGE_API}trials/set-param`, { trial_id: trial.trialId, name: 'x', internal_value: 0.5, distribution: { type: 'float', low: 0 } });
    assert.deepEqual([invalid.status, invalid.json.error_code], [400, 'INVALID_PARAMETER_VALUE']);
  });

  test('a server without the study-storage API is refused with a message that says what to do', async () => {
    const mlflowLike = await startTestServer();
    try {
      const storage = new RestStudyStorage({ url: mlflowLike.url });
      await assert.rejects(storage.getStudyIdByName('any'), (error: Error & { code?: string }) => error.code === 'KILN_ERR_STUDY_STORAGE_UNSUPPORTED' && /--storage/.test(error.message));
    } finally {
      await mlflowLike.close();
    }
  });

  test('a server with authentication: the tracking token from the environment opens the study storage', async () => {
    const secured = await startTrackingServer({
      backendStoreUri: 'sqlite::memory:',
      artifactsDestination: join(dir, 'secured-artifacts'),
      port: 0,
      ui: false,
      defaultMetrics: false,
      auth: { token: 's3cret' },
    });
    try {
      const securedUrl = `http://127.0.0.1:${(secured.server.address() as AddressInfo).port}`;
      const allowed = await openStudyStorage(securedUrl, { env: { KILN_TRACKING_TOKEN: 's3cret' } });
      assert.equal(await allowed.getStudyIdByName('none'), undefined);
      const refused = await openStudyStorage(securedUrl, { env: {} });
      await assert.rejects(refused.listStudies(), { name: 'TrackingError', errorCode: 'UNAUTHENTICATED' });
    } finally {
      await secured.close();
    }
  });

  test('an unreachable server: the call fails after its attempts, naming the server', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const storage = new RestStudyStorage({ url: `http://127.0.0.1:${port}`, attempts: 2, retryDelayMs: 1 });
    await assert.rejects(storage.createTrial(1), (error: Error & { errorCode?: string }) => error.errorCode === 'TEMPORARILY_UNAVAILABLE' && error.message.includes(`127.0.0.1:${port}`));
  });

  test('reads and idempotent writes are retried past a 503; creating a trial is sent once', async () => {
    const storage = await openStudyStorage(url);
    const id = await storage.createStudy('retries', 'minimize');
    const trial = await storage.createTrial(id);

    const proxy = await flakyProxy(url, 1);
    try {
      const flaky = new RestStudyStorage({ url: proxy.url, retryDelayMs: 1 });
      await flaky.setTrialParam(trial.trialId, 'x', 0.25, x);
      assert.equal(proxy.seen.length, 2, 'the idempotent write was sent again after the 503');
      assert.deepEqual((await storage.getTrial(trial.trialId)).params, { x: 0.25 });
    } finally {
      proxy.server.close();
    }

    const once = await flakyProxy(url, 1);
    try {
      const flaky = new RestStudyStorage({ url: once.url, retryDelayMs: 1 });
      await assert.rejects(flaky.createTrial(id), { name: 'TrackingError', errorCode: 'TEMPORARILY_UNAVAILABLE' });
      assert.equal(once.seen.length, 1, 'a trial creation whose answer was lost is not repeated');
      assert.equal((await storage.getAllTrials(id)).length, 1);
    } finally {
      once.server.close();
    }
  });
});
