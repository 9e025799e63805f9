import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InMemoryStorage } from '../../tune/storage/memory.js';
import { studyReports } from '../../tune/report.js';
import type { Distribution } from '../../tune/types.js';
import { call, startTestServer, type TestServer } from './test-helpers.js';

const lr: Distribution = { type: 'float', low: 1e-4, high: 1e-1, log: true, step: null };
const units: Distribution = { type: 'int', low: 8, high: 128, log: false, step: 1 };

describe('studies over HTTP (/api/2.0/kiln/studies): read-only views of the tuner\'s studies', () => {
  let server: TestServer;
  before(async () => {
    const storage = new InMemoryStorage();
    const id = await storage.createStudy('mlp', 'maximize');
    // Five complete trials whose value follows lr, and one pruned after one report.
    for (let i = 0; i < 5; i++) {
      const t = await storage.createTrial(id);
      await storage.setTrialParam(t.trialId, 'lr', 10 ** -(1 + i * 0.5), lr);
      await storage.setTrialParam(t.trialId, 'units', 16 + (i % 2) * 64, units);
      await storage.setTrialIntermediateValue(t.trialId, 1, 0.5 + i * 0.05);
      await storage.setTrialIntermediateValue(t.trialId, 2, 0.6 + i * 0.05);
      await storage.setTrialUserAttr(t.trialId, 'run_id', `run-${i}`);
      await storage.setTrialStateValue(t.trialId, 'COMPLETE', 0.6 + i * 0.05);
    }
    const pruned = await storage.createTrial(id);
    await storage.setTrialParam(pruned.trialId, 'lr', 0.05, lr);
    await storage.setTrialParam(pruned.trialId, 'units', 20, units);
    await storage.setTrialIntermediateValue(pruned.trialId, 1, Number.NaN);
    await storage.setTrialStateValue(pruned.trialId, 'PRUNED', null);
    await storage.createStudy('empty', 'minimize');
    server = await startTestServer({ studies: studyReports(storage) });
  });
  after(async () => server?.close());

  test('GET studies lists each study with its trial states and best trial', async () => {
    const reply = await call(server.url, 'GET', '/api/2.0/kiln/studies');
    assert.equal(reply.status, 200);
    const mlp = reply.json.studies.find((s: { name: string }) => s.name === 'mlp');
    assert.deepEqual(
      { n: mlp.n_trials, states: mlp.states, best: mlp.best_trial, value: mlp.best_value, direction: mlp.direction },
      { n: 6, states: { COMPLETE: 5, PRUNED: 1 }, best: 4, value: 0.8, direction: 'maximize' },
    );
    const empty = reply.json.studies.find((s: { name: string }) => s.name === 'empty');
    assert.deepEqual([empty.n_trials, empty.best_trial, empty.started], [0, null, null]);
  });

  test('GET studies/:name has every trial: state, params, value, intermediate values (NaN as null), its run', async () => {
    const reply = await call(server.url, 'GET', '/api/2.0/kiln/studies/mlp');
    assert.equal(reply.status, 200);
    const trials = reply.json.study.trials;
    assert.equal(trials.length, 6);
    assert.deepEqual(trials[4].intermediate_values, [
      [1, 0.7],
      [2, 0.8],
    ]);
    assert.equal(trials[4].run_id, 'run-4');
    assert.equal(trials[4].params.units, 16);
    assert.deepEqual([trials[5].state, trials[5].value, trials[5].intermediate_values], ['PRUNED', null, [[1, null]]]);
    // The same under MLflow's ajax prefix, which the UI of an MLflow-compatible deploy may use.
    assert.equal((await call(server.url, 'GET', '/ajax-api/2.0/kiln/studies/mlp')).status, 200);
  });

  test('GET studies/:name/importances: fANOVA by default, PED-ANOVA on request; too few trials say why', async () => {
    const fanova = await call(server.url, 'GET', '/api/2.0/kiln/studies/mlp/importances');
    assert.equal(fanova.status, 200);
    const shares = fanova.json.importances.importances as Record<string, number>;
    assert.deepEqual(Object.keys(shares).sort(), ['lr', 'units']);
    assert.ok(Math.abs(shares.lr + shares.units - 1) < 1e-9);
    assert.ok(shares.lr > shares.units, `the value follows lr: ${JSON.stringify(shares)}`);
    assert.equal(fanova.json.importances.n_complete, 5);
    const ped = await call(server.url, 'GET', '/api/2.0/kiln/studies/mlp/importances?evaluator=ped-anova');
    assert.equal(ped.json.importances.evaluator, 'ped-anova');
    const empty = await call(server.url, 'GET', '/api/2.0/kiln/studies/empty/importances');
    assert.deepEqual(empty.json.importances.importances, {});
    assert.match(empty.json.importances.reason, /at least two complete trials/);
    const bad = await call(server.url, 'GET', '/api/2.0/kiln/studies/mlp/importances?evaluator=magic');
    assert.equal(bad.status, 400);
  });

  test('an unknown study is 404 RESOURCE_DOES_NOT_EXIST, as every MLflow miss', async () => {
    const reply = await call(server.url, 'GET', '/api/2.0/kiln/studies/nope');
    assert.equal(reply.status, 404);
    assert.equal(reply.json.error_code, 'RESOURCE_DOES_NOT_EXIST');
  });
});

test('GET kiln/metrics/history-columns: a metric history as step-ordered columns, non-finite values as MLflow strings', async () => {
  const server = await startTestServer();
  try {
    const run = await server.store.createRun({ experiment_id: '0' });
    await server.store.logBatch(run.info.run_id, {
      metrics: [
        { key: 'loss', value: 0.5, timestamp: 30, step: 2 },
        { key: 'loss', value: Number.NaN, timestamp: 20, step: 1 },
        { key: 'loss', value: 0.9, timestamp: 10, step: 0 },
        { key: 'acc', value: 0.1, timestamp: 10, step: 0 },
      ],
    });
    const reply = await call(server.url, 'GET', `/api/2.0/kiln/metrics/history-columns?run_id=${run.info.run_id}&metric_key=loss`);
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.json, { steps: [0, 1, 2], timestamps: [10, 20, 30], values: [0.9, 'NaN', 0.5] });
    // The UI's form: three little-endian float64 columns, NaN as itself.
    const binary = await fetch(`${server.url}/api/2.0/kiln/metrics/history-columns?run_id=${run.info.run_id}&metric_key=loss`, { headers: { accept: 'application/octet-stream' } });
    assert.equal(binary.headers.get('content-type'), 'application/octet-stream');
    assert.equal(binary.headers.get('x-kiln-points'), '3');
    const bytes = Buffer.from(await binary.arrayBuffer());
    const columns = Array.from({ length: bytes.length / 8 }, (_, i) => bytes.readDoubleLE(i * 8));
    assert.deepEqual(columns, [0, 1, 2, 10, 20, 30, 0.9, Number.NaN, 0.5]);
    const missing = await call(server.url, 'GET', '/api/2.0/kiln/metrics/history-columns?run_id=nope&metric_key=loss');
    assert.equal(missing.status, 404);
    assert.equal((await call(server.url, 'GET', '/api/2.0/kiln/metrics/history-columns?run_id=x')).status, 400);
  } finally {
    await server.close();
  }
});

describe('the web UI\'s files at /', () => {
  let server: TestServer;
  let unbuilt: TestServer;
  let root = '';
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'kiln-ui-root-'));
    await mkdir(join(root, 'ui', 'assets'), { recursive: true });
    await writeFile(join(root, 'ui', 'index.html'), '<!doctype html><title>Kiln</title><script type="module" src="/assets/app-abc.js"></script>');
    await writeFile(join(root, 'ui', 'assets', 'app-abc.js'), 'console.log(1)');
    await writeFile(join(root, 'secret.txt'), 'not for you');
    server = await startTestServer({ ui: join(root, 'ui') });
    unbuilt = await startTestServer({ ui: join(root, 'missing') });
  });
  after(async () => {
    await server?.close();
    await unbuilt?.close();
    await rm(root, { recursive: true, force: true });
  });

  test('/ is index.html with a CSP allowing this origin only; hashed assets are immutable', async () => {
    const page = await call(server.url, 'GET', '/');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'; script-src 'self'/);
    assert.match(page.text, /<title>Kiln<\/title>/);
    const asset = await call(server.url, 'GET', '/assets/app-abc.js');
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('content-type') ?? '', /text\/javascript/);
    assert.match(asset.headers.get('cache-control') ?? '', /immutable/);
  });

  test('nothing outside the assets folder is served; unknown files are 404', async () => {
    for (const path of ['/assets/../../secret.txt', '/assets/%2e%2e/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/assets/nope.js']) {
      const reply = await call(server.url, 'GET', path);
      assert.equal(reply.status, 404, path);
      assert.doesNotMatch(reply.text, /not for you/);
    }
  });

  test('an unbuilt UI says how to build it instead of failing silently', async () => {
    const reply = await call(unbuilt.url, 'GET', '/');
    assert.equal(reply.status, 503);
    assert.match(reply.text, /npm run build/);
  });
});
