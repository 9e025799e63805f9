import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openStore } from '../store/index.js';
import type { TrackingStore } from '../store/types.js';
import { promoteIfBetter, registerModelVersion } from './registry.js';

describe('registry rules', () => {
  let store: TrackingStore;

  before(async () => {
    store = await openStore('sqlite::memory:', { artifactRoot: 'mlflow-artifacts:' });
  });

  after(async () => {
    await store.close();
  });

  async function runWith(testAcc: number | null): Promise<string> {
    const run = await store.createRun({ experiment_id: '0' });
    if (testAcc !== null) await store.logBatch(run.info.run_id, { metrics: [{ key: 'test_acc', value: testAcc, step: 0, timestamp: Date.now() }] });
    return run.info.run_id;
  }

  test("registering creates the model on first use and versions the run's model folder", async () => {
    const runId = await runWith(0.8);
    const v1 = await registerModelVersion(store, { runId, name: 'reg-a', userId: 'ada' });
    const v2 = await registerModelVersion(store, { runId, name: 'reg-a' });
    assert.deepEqual([v1.version, v2.version], ['1', '2']);
    assert.equal(v1.run_id, runId);
    assert.equal(v1.source, `mlflow-artifacts:/0/${runId}/artifacts/model`);
  });

  test('champion moves only to a better model, unless forced; every move is in the history with its reason', async () => {
    const name = 'reg-b';
    const v1 = await registerModelVersion(store, { runId: await runWith(0.85), name });
    const v2 = await registerModelVersion(store, { runId: await runWith(0.84), name });
    const v3 = await registerModelVersion(store, { runId: await runWith(0.9), name });
    const v4 = await registerModelVersion(store, { runId: await runWith(null), name });

    const first = await promoteIfBetter(store, { name, version: v1.version, userId: 'ada' });
    assert.equal(first.moved, true);
    assert.match(first.reason, /first @champion/);
    const worse = await promoteIfBetter(store, { name, version: v2.version });
    assert.equal(worse.moved, false);
    assert.match(worse.reason, /does not beat version 1/);
    const missing = await promoteIfBetter(store, { name, version: v4.version });
    assert.equal(missing.moved, false);
    assert.match(missing.reason, /no test_acc/);
    const better = await promoteIfBetter(store, { name, version: v3.version });
    assert.equal(better.moved, true);
    assert.deepEqual(better.previous, { version: '1', value: 0.85 });
    const same = await promoteIfBetter(store, { name, version: v3.version });
    assert.equal(same.moved, false);
    const forced = await promoteIfBetter(store, { name, version: v2.version, force: true, reason: 'rollback drill' });
    assert.equal(forced.moved, true);

    assert.equal((await store.getModelVersionByAlias(name, 'champion')).version, v2.version);
    const history = await store.getAliasHistory(name, 'champion');
    assert.deepEqual(
      history.map((e) => [e.from_version, e.to_version]),
      [
        [null, '1'],
        ['1', '3'],
        ['3', '2'],
      ],
    );
    assert.equal(history[0].user_id, 'ada');
    assert.equal(history[2].reason, 'rollback drill');
    assert.match(history[1].reason ?? '', /beats version 1/);
  });

  test('a lower-is-better metric', async () => {
    const name = 'reg-c';
    const runA = await store.createRun({ experiment_id: '0' });
    const runB = await store.createRun({ experiment_id: '0' });
    await store.logBatch(runA.info.run_id, { metrics: [{ key: 'test_loss', value: 0.4, step: 0, timestamp: 1 }] });
    await store.logBatch(runB.info.run_id, { metrics: [{ key: 'test_loss', value: 0.3, step: 0, timestamp: 1 }] });
    const a = await registerModelVersion(store, { runId: runA.info.run_id, name });
    const b = await registerModelVersion(store, { runId: runB.info.run_id, name });
    await promoteIfBetter(store, { name, version: a.version, metric: 'test_loss', mode: 'min' });
    const result = await promoteIfBetter(store, { name, version: b.version, metric: 'test_loss', mode: 'min' });
    assert.equal(result.moved, true);
  });
});
