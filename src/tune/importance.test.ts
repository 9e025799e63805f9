/**
 * Parameter importances: a parameter the objective ignores gets (almost) none, one it depends
 * on alone gets (almost) all, for fANOVA and PED-ANOVA; results sum to 1, are sorted, and are
 * the same for the same seed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parameterImportances } from './importance.js';
import { RandomSampler } from './samplers/random.js';
import { createStudy } from './study.js';
import type { FrozenTrial, StudyDirection } from './types.js';

/** 120 random trials of `objective` over x, y ∈ [−5, 5], a log-scaled lr and a categorical. */
async function randomTrials(objective: (p: { x: number; y: number; lr: number; act: string }) => number, direction: StudyDirection = 'minimize'): Promise<FrozenTrial[]> {
  const study = await createStudy({ sampler: new RandomSampler({ seed: 11 }), direction });
  await study.optimize(
    (trial) => {
      const x = trial.suggestFloat('x', -5, 5);
      const y = trial.suggestFloat('y', -5, 5);
      const lr = trial.suggestFloat('lr', 1e-5, 1e-1, { log: true });
      const act = trial.suggestCategorical('act', ['relu', 'tanh', 'gelu']);
      return objective({ x, y, lr, act });
    },
    { nTrials: 120 },
  );
  return study.trials();
}

const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);
const isSortedDescending = (r: Record<string, number>): boolean => Object.values(r).every((v, i, all) => i === 0 || all[i - 1] >= v);

describe('parameterImportances', () => {
  for (const evaluator of ['fanova', 'ped-anova'] as const) {
    it(`${evaluator}: a function of x alone gives x importance > 0.8, normalised and sorted`, async () => {
      const trials = await randomTrials(({ x }) => x * x);
      const importances = parameterImportances(trials, { evaluator, seed: 0 });
      assert.deepEqual(Object.keys(importances).sort(), ['act', 'lr', 'x', 'y']);
      assert.ok(importances.x > 0.8, JSON.stringify(importances));
      assert.equal(Object.keys(importances)[0], 'x');
      assert.ok(Math.abs(sum(importances) - 1) < 1e-9);
      assert.ok(isSortedDescending(importances));
    });

    it(`${evaluator}: ranks a log-scaled learning rate and a categorical choice that matter above an ignored parameter`, async () => {
      const penalty: Record<string, number> = { relu: 0, tanh: 2, gelu: 4 };
      const trials = await randomTrials(({ lr, act }) => (Math.log10(lr) + 3) ** 2 + penalty[act], 'minimize');
      const importances = parameterImportances(trials, { evaluator, seed: 0 });
      assert.ok(importances.lr > importances.y && importances.lr > importances.x, JSON.stringify(importances));
      assert.ok(importances.act > importances.y && importances.act > importances.x, JSON.stringify(importances));
    });
  }

  it('ped-anova follows the study direction (the top trials of a maximised objective are its largest values)', async () => {
    const trials = await randomTrials(({ y }) => -((y - 4) ** 2), 'maximize');
    const importances = parameterImportances(trials, { evaluator: 'ped-anova', direction: 'maximize' });
    assert.ok(importances.y > 0.8, JSON.stringify(importances));
  });

  it('is deterministic for a seed, and restricted to `params` when given', async () => {
    const trials = await randomTrials(({ x, y }) => x * x + 0.3 * y);
    const a = parameterImportances(trials, { evaluator: 'fanova', seed: 3 });
    const b = parameterImportances(trials, { evaluator: 'fanova', seed: 3 });
    assert.deepEqual(a, b);
    assert.deepEqual(parameterImportances(trials, { evaluator: 'ped-anova' }), parameterImportances(trials, { evaluator: 'ped-anova' }));
    const only = parameterImportances(trials, { evaluator: 'fanova', seed: 3, params: ['x', 'y'] });
    assert.deepEqual(Object.keys(only), ['x', 'y']);
    assert.ok(Math.abs(sum(only) - 1) < 1e-9);
    assert.throws(() => parameterImportances(trials, { params: ['nope'] }), /not in every complete trial/);
  });
});
