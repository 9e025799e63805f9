/**
 * tune/storage/contract — the suite every StudyStorage passes (memory, SQLite, PostgreSQL, and
 * REST through a tracking server). `open()` must return a storage over the SAME data each call
 * (concurrency and resume cases open two).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RandomSampler } from '../samplers/random.js';
import { createStudy, loadStudy } from '../study.js';
import type { Distribution, FloatDistribution, StudyStorage } from '../types.js';

let counter = 0;
const unique = (prefix: string): string => `${prefix}-${process.pid}-${Date.now()}-${++counter}`;
const lr: FloatDistribution = { type: 'float', low: 1e-5, high: 1e-1, log: true, step: null };
const layers: Distribution = { type: 'int', low: 1, high: 3, log: false, step: 1 };
const optimizer: Distribution = { type: 'categorical', choices: ['adam', 'sgd'] };
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function defineStudyStorageContract(name: string, open: () => Promise<StudyStorage>, cleanup: () => Promise<void> = async () => undefined): void {
  describe(`StudyStorage contract: ${name}`, () => {
    let storage: StudyStorage;

    before(async () => {
      storage = await open();
    });

    after(async () => {
      await storage?.close();
      await cleanup();
    });

    test('studies: create, find by name, refuse a duplicate name, attributes, list, delete', async () => {
      const studyName = unique('study');
      const id = await storage.createStudy(studyName, 'maximize');
      assert.equal(await storage.getStudyIdByName(studyName), id);
      assert.equal(await storage.getStudyIdByName(unique('absent')), undefined);
      await assert.rejects(storage.createStudy(studyName, 'minimize'), /already exists/);
      await storage.setStudyUserAttr(id, 'owner', 'ada');
      await storage.setStudySystemAttr(id, 'space', { layers: [1, 3] });
      const summary = await storage.getStudy(id);
      assert.deepEqual([summary.name, summary.direction, summary.userAttrs, summary.systemAttrs], [studyName, 'maximize', { owner: 'ada' }, { space: { layers: [1, 3] } }]);
      assert.ok((await storage.listStudies()).some((s) => s.studyId === id));
      await storage.createTrial(id);
      await storage.deleteStudy(id);
      assert.equal(await storage.getStudyIdByName(studyName), undefined);
    });

    test('trials: numbered from 0, params as external values, intermediate values (NaN too), attributes', async () => {
      const study = await storage.createStudy(unique('trials'), 'minimize');
      const first = await storage.createTrial(study);
      const second = await storage.createTrial(study);
      assert.deepEqual([first.number, second.number, first.state], [0, 1, 'RUNNING']);
      await storage.setTrialParam(first.trialId, 'lr', 0.001, lr);
      await storage.setTrialParam(first.trialId, 'layers', 2, layers);
      await storage.setTrialParam(first.trialId, 'optimizer', 1, optimizer);
      await storage.setTrialParam(first.trialId, 'lr', 0.001, lr); // the same again is fine
      await assert.rejects(storage.setTrialParam(first.trialId, 'lr', 0.001, { ...lr, high: 1 }), /another distribution/);
      await storage.setTrialIntermediateValue(first.trialId, 1, 0.5);
      await storage.setTrialIntermediateValue(first.trialId, 2, Number.NaN);
      await storage.setTrialUserAttr(first.trialId, 'note', 'first');
      await storage.setTrialSystemAttr(first.trialId, 'rung', 0);
      const trial = await storage.getTrial(first.trialId);
      assert.deepEqual(trial.params, { lr: 0.001, layers: 2, optimizer: 'sgd' });
      assert.deepEqual(trial.internalParams, { lr: 0.001, layers: 2, optimizer: 1 });
      assert.deepEqual(trial.distributions.optimizer, optimizer);
      assert.equal(trial.intermediateValues.get(1), 0.5);
      assert.ok(Number.isNaN(trial.intermediateValues.get(2)));
      assert.deepEqual([trial.userAttrs, trial.systemAttrs], [{ note: 'first' }, { rung: 0 }]);
    });

    test('a trial leaves RUNNING once; a finished trial cannot be changed', async () => {
      const study = await storage.createStudy(unique('states'), 'minimize');
      const trial = await storage.createTrial(study);
      assert.equal(await storage.setTrialStateValue(trial.trialId, 'COMPLETE', 0.25), true);
      assert.equal(await storage.setTrialStateValue(trial.trialId, 'FAIL'), false);
      const done = await storage.getTrial(trial.trialId);
      assert.deepEqual([done.state, done.value], ['COMPLETE', 0.25]);
      assert.ok(done.datetimeComplete !== null);
      await assert.rejects(storage.setTrialParam(trial.trialId, 'lr', 0.01, lr), /cannot be changed/);
      await assert.rejects(storage.setTrialIntermediateValue(trial.trialId, 3, 1), /cannot be changed/);
      await assert.rejects(storage.setTrialUserAttr(trial.trialId, 'k', 1), /cannot be changed/);
      const pruned = await storage.createTrial(study);
      await storage.setTrialStateValue(pruned.trialId, 'PRUNED', 0.9);
      assert.deepEqual(
        (await storage.getAllTrials(study, ['COMPLETE'])).map((t) => t.number),
        [0],
      );
      assert.deepEqual(
        (await storage.getAllTrials(study)).map((t) => [t.number, t.state]),
        [
          [0, 'COMPLETE'],
          [1, 'PRUNED'],
        ],
      );
    });

    test('two storages creating trials at once never share a trial number', async () => {
      const other = await open();
      try {
        const study = await storage.createStudy(unique('race'), 'minimize');
        const created = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? storage : other).createTrial(study)));
        assert.deepEqual(
          created.map((t) => t.number).sort((a, b) => a - b),
          Array.from({ length: 12 }, (_, i) => i),
        );
      } finally {
        await other.close();
      }
    });

    test('enqueued trials wait with their params and each is claimed by exactly one worker', async () => {
      const other = await open();
      try {
        const study = await storage.createStudy(unique('queue'), 'minimize');
        for (const value of [0.01, 0.02, 0.03]) await storage.enqueueTrial(study, { lr: value, optimizer: 'adam' }, { lr, optimizer });
        assert.deepEqual((await storage.getAllTrials(study, ['WAITING'])).length, 3);
        const claims = await Promise.all([storage, other, storage, other].map((s) => s.claimWaitingTrial(study)));
        const got = claims.filter((t) => t !== undefined);
        assert.equal(got.length, 3);
        assert.deepEqual(got.map((t) => t?.number).sort(), [0, 1, 2]);
        assert.ok(got.every((t) => t?.state === 'RUNNING' && t.params.optimizer === 'adam'));
        assert.equal(await storage.claimWaitingTrial(study), undefined);
      } finally {
        await other.close();
      }
    });

    test('a running trial without a heartbeat for the grace period is marked FAIL; a beating one is not', async () => {
      const study = await storage.createStudy(unique('heartbeat'), 'minimize');
      const silent = await storage.createTrial(study);
      const alive = await storage.createTrial(study);
      await sleep(120);
      await storage.recordHeartbeat(alive.trialId);
      const failed = await storage.failStaleTrials(study, 100);
      assert.deepEqual(failed, [silent.trialId]);
      assert.equal((await storage.getTrial(silent.trialId)).state, 'FAIL');
      assert.equal((await storage.getTrial(alive.trialId)).state, 'RUNNING');
      assert.equal(await storage.setTrialStateValue(silent.trialId, 'COMPLETE', 1), false, 'a late tell from the dead worker changes nothing');
    });

    test('a study resumed through another storage continues its numbering; the dead worker\'s trial is failed once stale', async () => {
      const name = unique('resume');
      const first = await createStudy({ studyName: name, storage, direction: 'minimize', sampler: new RandomSampler({ seed: 3 }) });
      await first.optimize((trial) => trial.suggestFloat('x', -1, 1) ** 2, { nTrials: 2 });
      const orphan = await first.ask(); // its worker "dies": never told, never beats again
      await sleep(120);
      const other = await open();
      try {
        const resumed = await loadStudy(name, other, { sampler: new RandomSampler({ seed: 4 }), heartbeatIntervalMs: 20, gracePeriodMs: 100 });
        await resumed.optimize((trial) => trial.suggestFloat('x', -1, 1) ** 2, { nTrials: 2 });
        const trials = await other.getAllTrials(resumed.studyId);
        assert.deepEqual(
          trials.map((t) => [t.number, t.state]),
          [
            [0, 'COMPLETE'],
            [1, 'COMPLETE'],
            [2, 'FAIL'],
            [3, 'COMPLETE'],
            [4, 'COMPLETE'],
          ],
        );
        assert.equal(trials[2].trialId, orphan.trialId);
        assert.match(String(trials[2].systemAttrs.fail_reason), /heartbeat/);
      } finally {
        if (other !== storage) await other.close();
      }
    });
  });
}
