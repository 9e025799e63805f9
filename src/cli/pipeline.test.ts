import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openStore } from '../tracking/store/index.js';
import { KILN_BIN, REAL_DATA, runKiln, SKIP_WITHOUT_DATA } from './test-helpers.js';


describe('kiln start and kiln tune, end to end on a reduced budget', { skip: SKIP_WITHOUT_DATA }, () => {
  let home = '';
  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'kiln-start-'));
  });
  after(async () => {
    await rm(home, { recursive: true, force: true });
  });

  test('kiln start: tracking server up, a study whose trials are child runs, the best tested, registered, made champion and served', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(
      process.execPath,
      [KILN_BIN, 'start', '--profile', 'seed', '--n-trials', '2', '--epochs', '1', '--port', '0', '--metrics-port', '0', '--serve-port', '0', '--home', home, '--data-dir', REAL_DATA ?? '', '--json'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KILN_TRACKING_URI: '', MLFLOW_TRACKING_URI: '', KILN_PROFILE: '' } },
    );
    let stdout = '';
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const json = stdout.split('\n').find((l) => l.startsWith('{'));
        if (json) resolve(json);
      });
      void exited.then((code) => reject(new Error(`kiln start exited (${String(code)}) before its result: ${stderr}`)));
    });
    const result = JSON.parse(line) as {
      version: string;
      promoted: boolean;
      test_acc: number;
      trials: { total: number };
      tracking_url: string;
      api_url: string;
      parent_run_id: string;
    };
    assert.equal(result.version, '1');
    assert.equal(result.promoted, true);
    assert.equal(result.trials.total, 2);
    assert.ok(result.test_acc > 0.3 && result.test_acc <= 1, `test_acc ${result.test_acc}`);
    assert.match(result.tracking_url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(stderr, /trainer metrics \(Prometheus\): http:\/\/127\.0\.0\.1:\d+\/metrics/);

    // The champion answers on the prediction API while the pipeline runs.
    assert.equal((await fetch(`${result.api_url}/ready`)).status, 200);
    const prediction = await fetch(`${result.api_url}/predict/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ images: [Array.from({ length: 784 }, (_, i) => (i % 28 > 8 && i % 28 < 20 ? 200 : 0))] }),
    });
    assert.equal(prediction.status, 200, await prediction.clone().text());
    assert.match(await prediction.text(), /"prediction"/);
    child.kill('SIGINT');
    assert.equal(await exited, 0, 'Ctrl-C while serving is a clean shutdown');

    const store = await openStore(`sqlite:///${join(home, 'tracking.db')}`);
    try {
      const champion = await store.getModelVersionByAlias('fashion-mnist', 'champion');
      assert.equal(champion.version, '1');
      const bestRun = await store.getRun(champion.run_id ?? '');
      assert.equal(bestRun.data.tags.find((t) => t.key === 'mlflow.parentRunId')?.value, result.parent_run_id);
      assert.ok(bestRun.data.metrics.some((m) => m.key === 'test_acc'), 'the best trial was tested');
      const experiment = bestRun.info.experiment_id;
      const children = await store.searchRuns({ experiment_ids: [experiment], filter: `tags.mlflow.parentRunId = '${result.parent_run_id}'` });
      assert.equal(children.items.length, 2);
      const untested = children.items.filter((r) => r.info.run_id !== champion.run_id);
      assert.ok(untested.every((r) => !r.data.metrics.some((m) => m.key === 'test_acc')), 'other trials never touch the test set');
      const parent = await store.getRun(result.parent_run_id);
      assert.equal(parent.data.metrics.find((m) => m.key === 'n_complete')?.value, 2);
      // Lineage: the study and its trials name one dataset; the study run holds its samples.
      assert.equal(parent.inputs.dataset_inputs[0]?.dataset.name, 'fashion-mnist');
      assert.equal(bestRun.inputs.dataset_inputs[0]?.dataset.digest, parent.inputs.dataset_inputs[0]?.dataset.digest);
      const samples = await readdir(join(home, 'artifacts', parent.info.artifact_uri.replace(/^mlflow-artifacts:\/*/, ''), 'dataset', 'samples'));
      assert.deepEqual(samples.length, 10);
      assert.ok(samples.includes('9_Ankle_boot'), samples.join(', '));
    } finally {
      await store.close();
    }
  });

  test('kiln tune resumes the study by name: numbering continues; an unchanged best is not registered twice; a worse model does not take @champion', async () => {
    const run = await runKiln(['tune', '--profile', 'seed', '--n-trials', '1', '--epochs', '1', '--home', home, '--data-dir', REAL_DATA ?? '', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const result = run.json as { trials: { total: number }; version: string; best_trial: number };
    assert.equal(result.trials.total, 3, 'two trials from kiln start plus this one');
    // Trial 2 is the new one: only if it became the best is there a new version.
    assert.equal(result.version, result.best_trial === 2 ? '2' : '1');
    const store = await openStore(`sqlite:///${join(home, 'tracking.db')}`);
    try {
      const history = await store.getAliasHistory('fashion-mnist', 'champion');
      assert.ok(history.length >= 1);
      assert.equal(history[0].to_version, '1');
    } finally {
      await store.close();
    }
  });

  test('Ctrl-C during a trial: the trial becomes FAIL (interrupted), the study run KILLED, exit code 130', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(
      process.execPath,
      [KILN_BIN, 'tune', '--profile', 'seed', '--study-name', 'interrupted', '--n-trials', '5', '--epochs', '40', '--pruner', 'none', '--home', home, '--data-dir', REAL_DATA ?? ''],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KILN_TRACKING_URI: '', MLFLOW_TRACKING_URI: '' } },
    );
    let output = '';
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    await new Promise<void>((resolve) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('parent run')) resolve();
      });
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    child.kill('SIGINT');
    assert.equal(await exited, 130);
    const { openStudyStorage } = await import('../tune/storage/open.js');
    const storage = await openStudyStorage(`sqlite:///${join(home, 'tracking.db')}`);
    const store = await openStore(`sqlite:///${join(home, 'tracking.db')}`);
    try {
      const trials = await storage.getAllTrials((await storage.getStudyIdByName('interrupted')) as number);
      assert.deepEqual(trials.map((t) => [t.number, t.state]), [[0, 'FAIL']]);
      assert.equal(trials[0].systemAttrs.fail_reason, 'interrupted');
      const parentId = /parent run ([0-9a-f]{32})/.exec(output)?.[1] ?? '';
      assert.equal((await store.getRun(parentId)).info.status, 'KILLED');
    } finally {
      await storage.close();
      await store.close();
    }
  });

  test('an invalid configuration is a usage error (exit 2) naming the key and its flag, before any work', async () => {
    const run = await runKiln(['tune', '--profile', 'seed', '--workers', '0', '--home', home, '--json']);
    assert.equal(run.code, 2);
    assert.match(String((run.json.error as { message: string }).message), /invalid config key "study.workers".*\(set by flag --workers\)/);
  });
});
