import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HyperbandPruner } from '../pruners/hyperband.js';
import { InMemoryStorage } from '../storage/memory.js';
import { createStudy, loadStudy } from '../study.js';
import type { Trial } from '../trial.js';
import { GridSampler } from './grid.js';

const space = { lr: [0.1, 0.01, 0.001], act: ['relu', 'tanh'] };
const objective = (trial: Trial): number => trial.suggestFloat('lr', 1e-4, 1, { log: true }) * (trial.suggestCategorical('act', ['relu', 'tanh']) === 'relu' ? 1 : 2);
const key = (params: Record<string, unknown>): string => `${params.lr}/${params.act}`;
const allKeys = space.lr.flatMap((lr) => space.act.map((act) => `${lr}/${act}`)).sort();

describe('GridSampler', () => {
  test('visits every combination exactly once, then optimize stops', async () => {
    const study = await createStudy({ sampler: new GridSampler(space) });
    await study.optimize(objective, { nTrials: 100 });
    const trials = await study.trials();
    assert.equal(trials.length, 6);
    assert.deepEqual(trials.map((t) => key(t.params)).sort(), allKeys);
  });

  test('concurrent trials share the grid: still each combination once', async () => {
    const study = await createStudy({ sampler: new GridSampler(space) });
    await study.optimize(
      async (trial) => {
        await new Promise((resolve) => setTimeout(resolve, 2 + (trial.number % 3)));
        return objective(trial);
      },
      { concurrency: 3 },
    );
    const trials = await study.trials();
    assert.deepEqual(trials.map((t) => key(t.params)).sort(), allKeys);
  });

  test('a resumed study finishes the grid points not yet visited; a finished grid re-runs one point and stops', async () => {
    const storage = new InMemoryStorage();
    const first = await createStudy({ studyName: 'grid', storage, sampler: new GridSampler(space, { seed: 3 }) });
    await first.optimize(objective, { nTrials: 4 });
    const resumed = await loadStudy('grid', storage, { sampler: new GridSampler(space, { seed: 3 }) });
    await resumed.optimize(objective);
    const trials = await resumed.trials();
    assert.deepEqual(trials.map((t) => key(t.params)).sort(), allKeys);
    await resumed.optimize(objective);
    assert.equal((await resumed.trials()).length, 7, 'one re-run, then stop');
  });

  test('the seed only changes the visiting order', async () => {
    const order = async (seed: number): Promise<string[]> => {
      const study = await createStudy({ sampler: new GridSampler(space, { seed }) });
      await study.optimize(objective);
      return (await study.trials()).map((t) => key(t.params));
    };
    const a = await order(1);
    assert.deepEqual(await order(1), a);
    assert.deepEqual([...(await order(2))].sort(), [...a].sort());
  });

  test('a parameter outside the grid, or a grid value outside the distribution, is an error', async () => {
    const study = await createStudy({ sampler: new GridSampler(space) });
    const trial = await study.ask();
    assert.throws(() => trial.suggestInt('depth', 1, 3), /"depth" is not in the grid/);
    assert.throws(() => trial.suggestFloat('lr', 0.2, 1), /outside the suggested distribution/);
    assert.throws(() => trial.suggestCategorical('act', ['gelu', 'selu']), /outside the suggested distribution/);
    assert.throws(() => new GridSampler({ lr: [] }), /non-empty/);
  });

  test('with a HyperbandPruner the grid still counts every bracket', async () => {
    const study = await createStudy({ sampler: new GridSampler(space), pruner: new HyperbandPruner({ maxResource: 9 }) });
    await study.optimize(objective, { nTrials: 50 });
    assert.deepEqual((await study.trials()).map((t) => key(t.params)).sort(), allKeys);
  });
});
