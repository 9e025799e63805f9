import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createStudy, type Study } from '../study.js';
import { completedAt, makeTrial } from '../test-fixtures.js';
import type { StudyDirection } from '../types.js';
import { completedRungKey, estimateMinResource, SuccessiveHalvingPruner, type SuccessiveHalvingPrunerOptions } from './successive-halving.js';

async function shaStudy(options: SuccessiveHalvingPrunerOptions, direction: StudyDirection = 'minimize'): Promise<Study> {
  return createStudy({ direction, pruner: new SuccessiveHalvingPruner(options) });
}

/** Starts a trial that reports `value` at each of `steps`; returns whether it is pruned after the last one. */
async function run(study: Study, value: number, steps: number[]): Promise<{ pruned: boolean; systemAttrs: Record<string, unknown> }> {
  const trial = await study.ask();
  let pruned = false;
  for (const step of steps) {
    trial.report(value, step);
    pruned = await trial.shouldPrune();
    if (pruned) break;
  }
  return { pruned, systemAttrs: trial.systemAttrs };
}

describe('SuccessiveHalvingPruner', () => {
  test('reduction factor 2, min resource 1: promoted from rung 0 only in the top half of the trials that reached it', async () => {
    const study = await shaStudy({ minResource: 1, reductionFactor: 2 });
    // Rung 0 ends at step 1. Values arrive 5, 3, 4, 3.5, 4.5.
    const a = await run(study, 5, [0, 1]);
    assert.equal(a.pruned, false, 'alone at the rung (fewer than eta trials): promoted only as the best, which it is');
    assert.equal(a.systemAttrs[completedRungKey(0)], 5);
    assert.equal((await run(study, 3, [1])).pruned, false, '[3, 5]: 3 is the best');
    assert.equal((await run(study, 4, [1])).pruned, true, '[3, 4, 5]: top 1 of 3 is 3');
    assert.equal((await run(study, 3.5, [1])).pruned, false, '[3, 3.5, 4, 5]: top 2 of 4');
    assert.equal((await run(study, 4.5, [1])).pruned, true, '[3, 3.5, 4, 4.5, 5]: top 2 of 5');
  });

  test('before the rung ends nothing is judged; a promoted trial next competes at rung 1 with the trials that reached it', async () => {
    const study = await shaStudy({ minResource: 1, reductionFactor: 2 });
    const first = await study.ask();
    first.report(1, 0);
    assert.equal(await first.shouldPrune(), false);
    assert.equal(first.systemAttrs[completedRungKey(0)], undefined, 'step 0 is before the end of rung 0');
    first.report(1, 1);
    assert.equal(await first.shouldPrune(), false);
    first.report(1, 2);
    assert.equal(await first.shouldPrune(), false, 'rung 1 ends at step 2: alone there, promoted');
    assert.deepEqual(
      [first.systemAttrs[completedRungKey(0)], first.systemAttrs[completedRungKey(1)]],
      [1, 1],
    );
    // A second trial: good at rung 0 (value 0.5), then reports 2 at step 2, worse than rung 1's [1].
    const second = await study.ask();
    second.report(0.5, 1);
    assert.equal(await second.shouldPrune(), false);
    second.report(2, 2);
    assert.equal(await second.shouldPrune(), true);
  });

  test('a report that jumps several rungs is judged at each rung in turn', async () => {
    const study = await shaStudy({ minResource: 1, reductionFactor: 2 });
    const result = await run(study, 7, [4]);
    assert.equal(result.pruned, false);
    assert.deepEqual(
      [0, 1, 2, 3].map((r) => result.systemAttrs[completedRungKey(r)]),
      [7, 7, 7, undefined],
      'rungs end at steps 1, 2, 4, 8',
    );
  });

  test('maximize promotes the larger values', async () => {
    const study = await shaStudy({ minResource: 1, reductionFactor: 2 }, 'maximize');
    assert.equal((await run(study, 3, [1])).pruned, false);
    assert.equal((await run(study, 5, [1])).pruned, false);
    assert.equal((await run(study, 4, [1])).pruned, true, '[3, 4, 5]: top 1 is 5');
  });

  test('minEarlyStoppingRate shifts the rungs: with rate 1 the first rung ends at min resource × eta', async () => {
    const study = await shaStudy({ minResource: 1, reductionFactor: 2, minEarlyStoppingRate: 1 });
    const first = await run(study, 1, [2]);
    assert.equal(first.pruned, false);
    assert.equal(first.systemAttrs[completedRungKey(0)], 1, 'step 2 ends the first rung');
    const second = await run(study, 9, [1]);
    assert.equal(second.pruned, false, 'step 1 is inside the first rung');
    assert.equal(second.systemAttrs[completedRungKey(0)], undefined);
    assert.equal((await run(study, 9, [2])).pruned, true, '[1, 9]: 9 is not the best');
  });

  test('bootstrapCount: trials are pruned until more than that many reached the rung', async () => {
    const study = await shaStudy({ minResource: 1, reductionFactor: 2, bootstrapCount: 2 });
    assert.equal((await run(study, 1, [1])).pruned, true);
    assert.equal((await run(study, 1, [1])).pruned, true);
    assert.equal((await run(study, 1, [1])).pruned, false, 'the third trial at the rung may be promoted');
    assert.throws(() => new SuccessiveHalvingPruner({ bootstrapCount: 1 }), /mutually incompatible/);
  });

  test('NaN at a rung boundary prunes', async () => {
    const study = await shaStudy({ minResource: 1, reductionFactor: 2 });
    assert.equal((await run(study, Number.NaN, [0])).pruned, false);
    assert.equal((await run(study, Number.NaN, [1])).pruned, true);
  });

  test("minResource 'auto': no pruning before a trial completes, then max(1, floor(longest last step / 100))", async () => {
    assert.equal(estimateMinResource([makeTrial({ number: 0, values: { 500: 1 } })]), undefined, 'RUNNING trials do not count');
    assert.equal(estimateMinResource(completedAt([0, 250], [1])), 2);
    assert.equal(estimateMinResource(completedAt([0, 50], [1])), 1);
    const study = await shaStudy({ reductionFactor: 2 });
    assert.equal((await run(study, 100, [0, 1, 2, 3])).pruned, false, 'nothing completed yet');
    const done = await study.ask();
    for (let step = 0; step <= 399; step++) done.report(1, step);
    await study.tell(done, 1);
    // min resource 3: rung 0 ends at step 3.
    assert.equal((await run(study, 1, [2])).pruned, false);
    assert.equal((await run(study, 1, [3])).pruned, false, 'first at rung 0');
    assert.equal((await run(study, 2, [3])).pruned, true, '[1, 2]: not the best');
  });
});
