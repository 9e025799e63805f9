/**
 * mlflowCallback, specified on a SQLite tracking store: every finished trial of a study becomes a
 * child run of the study's parent run, with the trial's params, value and number.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { closeTracking, setTrackingUri, startRun, type ActiveRun } from '../tracking/client/fluent.js';
import { openStore } from '../tracking/store/index.js';
import type { Run, TrackingStore } from '../tracking/store/types.js';
import { mlflowCallback } from './mlflow-callback.js';
import { RandomSampler } from './samplers/random.js';
import { createStudy, TrialPruned } from './study.js';

const home = mkdtempSync(join(tmpdir(), 'kiln-mlflow-callback-'));
const uri = `sqlite:///${join(home, 'tracking.db')}`;
let store: TrackingStore;

const tagsOf = (run: Run): Record<string, string> => Object.fromEntries(run.data.tags.map((tag) => [tag.key, tag.value]));

async function childrenOf(parentRunId: string, experimentName: string): Promise<Run[]> {
  const experiment = await store.getExperimentByName(experimentName);
  const page = await store.searchRuns({ experiment_ids: [experiment.experiment_id], filter: `tags.mlflow.parentRunId = '${parentRunId}'`, max_results: 100 });
  return page.items.sort((a, b) => Number(tagsOf(a).number) - Number(tagsOf(b).number));
}

describe('mlflowCallback', () => {
  before(async () => {
    process.env.KILN_HOME = home;
    setTrackingUri(uri);
    store = await openStore(uri);
  });

  after(async () => {
    await closeTracking();
    await store.close();
    rmSync(home, { recursive: true, force: true });
  });

  test('logs each trial as a child run of the active run: params, value, trial number; pruned trials end KILLED', async () => {
    const study = await createStudy({ studyName: 'quadratic', direction: 'minimize', sampler: new RandomSampler({ seed: 7 }) });
    const parent = await startRun({ runName: 'quadratic-study', experimentName: 'tuning' }, async (run: ActiveRun) => {
      await study.optimize(
        (trial) => {
          const x = trial.suggestFloat('x', -10, 10);
          const kind = trial.suggestCategorical('kind', ['a', 'b']);
          if (trial.number === 2) throw new TrialPruned();
          return (x - 2) ** 2 + (kind === 'a' ? 0 : 1);
        },
        { nTrials: 4, callbacks: [mlflowCallback({ experimentName: 'tuning', metricName: 'loss' })] },
      );
      return run;
    });
    const children = await childrenOf(parent.runId, 'tuning');
    const trials = await study.trials();
    assert.equal(children.length, 4);
    for (const [index, child] of children.entries()) {
      const trial = trials[index];
      const tags = tagsOf(child);
      assert.equal(tags.number, String(trial.number));
      assert.equal(tags.study_name, 'quadratic');
      assert.equal(tags.direction, 'MINIMIZE');
      assert.equal(tags.state, trial.state);
      assert.equal(child.info.run_name, `trial-${trial.number}`);
      assert.deepEqual(Object.fromEntries(child.data.params.map((p) => [p.key, p.value])), { x: String(trial.params.x), kind: String(trial.params.kind) });
      const metrics = Object.fromEntries(child.data.metrics.map((m) => [m.key, m.value]));
      if (trial.state === 'COMPLETE') {
        assert.deepEqual(metrics, { loss: trial.value });
        assert.equal(child.info.status, 'FINISHED');
      } else {
        assert.equal(trial.state, 'PRUNED');
        assert.deepEqual(metrics, {});
        assert.equal(child.info.status, 'KILLED');
      }
    }
    assert.equal((await store.getRun(parent.runId)).info.status, 'FINISHED');
  });

  test('without an active run, starts one parent run for the study and keeps it FINISHED', async () => {
    const study = await createStudy({ studyName: 'standalone', direction: 'maximize', sampler: new RandomSampler({ seed: 1 }) });
    await study.optimize((trial) => trial.suggestInt('n', 0, 10), { nTrials: 3, concurrency: 2, callbacks: [mlflowCallback({ experimentName: 'standalone' })] });
    const experiment = await store.getExperimentByName('standalone');
    const parents = (await store.searchRuns({ experiment_ids: [experiment.experiment_id], filter: "tags.`kiln.study` = 'standalone'", max_results: 10 })).items;
    assert.equal(parents.length, 1, 'one parent run for the whole study');
    assert.equal(parents[0].info.run_name, 'standalone');
    assert.equal(parents[0].info.status, 'FINISHED');
    const children = await childrenOf(parents[0].info.run_id, 'standalone');
    assert.deepEqual(
      children.map((child) => tagsOf(child).number),
      ['0', '1', '2'],
    );
    assert.deepEqual(
      children.map((child) => child.data.metrics[0]?.key),
      ['value', 'value', 'value'],
    );
  });
});
