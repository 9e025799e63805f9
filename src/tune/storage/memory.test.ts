import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { floatDistribution, intDistribution } from '../distributions.js';
import { IncompatibleDistributionError, TrialFinishedError } from '../errors.js';
import { defineStudyStorageContract } from './contract.js';
import { InMemoryStorage } from './memory.js';

const shared = new InMemoryStorage();
defineStudyStorageContract('memory', async () => shared);

describe('InMemoryStorage', () => {
  test('studies: create, look up by name, refuse duplicates, delete', async () => {
    const storage = new InMemoryStorage();
    const id = await storage.createStudy('s', 'maximize');
    assert.equal(await storage.getStudyIdByName('s'), id);
    assert.equal(await storage.getStudyIdByName('missing'), undefined);
    assert.equal((await storage.getStudy(id)).direction, 'maximize');
    await assert.rejects(storage.createStudy('s', 'minimize'), /already exists/);
    await storage.setStudyUserAttr(id, 'owner', 'me');
    assert.deepEqual((await storage.getStudy(id)).userAttrs, { owner: 'me' });
    await storage.createTrial(id);
    await storage.deleteStudy(id);
    assert.deepEqual(await storage.listStudies(), []);
    await assert.rejects(storage.getStudy(id), /no study/);
  });

  test('two concurrent createTrial calls get distinct consecutive numbers', async () => {
    const storage = new InMemoryStorage();
    const id = await storage.createStudy('s', 'minimize');
    const trials = await Promise.all([storage.createTrial(id), storage.createTrial(id), storage.createTrial(id)]);
    assert.deepEqual(trials.map((t) => t.number).sort(), [0, 1, 2]);
    assert.equal(new Set(trials.map((t) => t.trialId)).size, 3);
    assert.ok(trials.every((t) => t.state === 'RUNNING' && t.datetimeStart !== null));
  });

  test('state changes only from RUNNING; finished trials cannot be modified', async () => {
    const storage = new InMemoryStorage();
    const id = await storage.createStudy('s', 'minimize');
    const trial = await storage.createTrial(id);
    await storage.setTrialParam(trial.trialId, 'x', 0.5, floatDistribution(0, 1));
    await storage.setTrialIntermediateValue(trial.trialId, 0, 1.5);
    assert.equal(await storage.setTrialStateValue(trial.trialId, 'COMPLETE', 0.25), true);
    assert.equal(await storage.setTrialStateValue(trial.trialId, 'FAIL'), false, 'a second finish changes nothing');
    const stored = await storage.getTrial(trial.trialId);
    assert.equal(stored.state, 'COMPLETE');
    assert.equal(stored.value, 0.25);
    assert.deepEqual(stored.params, { x: 0.5 });
    assert.equal(stored.intermediateValues.get(0), 1.5);
    assert.ok(stored.datetimeComplete !== null);
    await assert.rejects(storage.setTrialParam(trial.trialId, 'y', 1, floatDistribution(0, 1)), TrialFinishedError);
    await assert.rejects(storage.setTrialIntermediateValue(trial.trialId, 1, 2), /already finished.*cannot be changed/);
    await assert.rejects(storage.setTrialUserAttr(trial.trialId, 'k', 1), TrialFinishedError);
    await assert.rejects(storage.setTrialSystemAttr(trial.trialId, 'k', 1), TrialFinishedError);
    await assert.rejects(storage.setTrialStateValue(trial.trialId, 'RUNNING'), /COMPLETE, PRUNED or FAIL/);
  });

  test('concurrent finishes of one trial: exactly one wins', async () => {
    const storage = new InMemoryStorage();
    const id = await storage.createStudy('s', 'minimize');
    const trial = await storage.createTrial(id);
    const results = await Promise.all([
      storage.setTrialStateValue(trial.trialId, 'COMPLETE', 1),
      storage.setTrialStateValue(trial.trialId, 'PRUNED', 2),
    ]);
    assert.deepEqual(results.sort(), [false, true]);
  });

  test('returned trials are snapshots: later writes do not change them', async () => {
    const storage = new InMemoryStorage();
    const id = await storage.createStudy('s', 'minimize');
    const trial = await storage.createTrial(id);
    const before = await storage.getTrial(trial.trialId);
    await storage.setTrialUserAttr(trial.trialId, 'k', 1);
    assert.deepEqual(before.userAttrs, {});
    assert.deepEqual((await storage.getTrial(trial.trialId)).userAttrs, { k: 1 });
    assert.ok(Object.isFrozen(before));
  });

  test('a parameter keeps a compatible distribution across the study', async () => {
    const storage = new InMemoryStorage();
    const id = await storage.createStudy('s', 'minimize');
    const a = await storage.createTrial(id);
    await storage.setTrialParam(a.trialId, 'x', 1, floatDistribution(0, 2));
    const b = await storage.createTrial(id);
    await assert.rejects(storage.setTrialParam(b.trialId, 'x', 1, intDistribution(0, 2)), IncompatibleDistributionError);
    await storage.setTrialParam(b.trialId, 'x', 3, floatDistribution(0, 5));
  });

  test('enqueued WAITING trials are claimed oldest first and become RUNNING', async () => {
    const storage = new InMemoryStorage();
    const id = await storage.createStudy('s', 'minimize');
    const first = await storage.enqueueTrial(id, { x: 1 }, { x: floatDistribution(0, 2) });
    await storage.enqueueTrial(id, { x: 2 }, {});
    assert.equal(first.state, 'WAITING');
    assert.deepEqual(first.params, { x: 1 });
    assert.deepEqual(first.systemAttrs.fixed_params, { x: 1 });
    assert.equal(first.datetimeStart, null);
    const claimed = await storage.claimWaitingTrial(id);
    assert.equal(claimed?.number, 0);
    assert.equal(claimed?.state, 'RUNNING');
    const second = await storage.claimWaitingTrial(id);
    assert.equal(second?.number, 1);
    assert.deepEqual(second?.params, {}, 'no distribution given: only a fixed param');
    assert.equal(await storage.claimWaitingTrial(id), undefined);
    assert.equal((await storage.createTrial(id)).number, 2);
    assert.deepEqual((await storage.getAllTrials(id, ['WAITING'])).length, 0);
    assert.deepEqual((await storage.getAllTrials(id, ['RUNNING'])).map((t) => t.number), [0, 1, 2]);
  });

  test('heartbeats: failStaleTrials fails RUNNING trials silent for the grace period (counting from the start when they never beat)', async () => {
    let now = 0;
    const storage = new InMemoryStorage({ now: () => now });
    const id = await storage.createStudy('s', 'minimize');
    const silent = await storage.createTrial(id);
    const live = await storage.createTrial(id);
    const neverBeat = await storage.createTrial(id);
    await storage.recordHeartbeat(silent.trialId);
    await storage.recordHeartbeat(live.trialId);
    now = 5000;
    await storage.recordHeartbeat(live.trialId);
    const late = await storage.createTrial(id);
    now = 6000;
    assert.deepEqual(await storage.failStaleTrials(id, 2000), [silent.trialId, neverBeat.trialId]);
    const failed = await storage.getTrial(silent.trialId);
    assert.equal(failed.state, 'FAIL');
    assert.match(String(failed.systemAttrs.fail_reason), /heartbeat/);
    assert.equal((await storage.getTrial(live.trialId)).state, 'RUNNING');
    assert.equal((await storage.getTrial(late.trialId)).state, 'RUNNING', 'started 1 s ago');
    assert.deepEqual(await storage.failStaleTrials(id, 2000), [], 'a failed trial is not failed twice');
    assert.equal(await storage.setTrialStateValue(silent.trialId, 'COMPLETE', 1), false, "the dead worker's late tell changes nothing");
  });
});
