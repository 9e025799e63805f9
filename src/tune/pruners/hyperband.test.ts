import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createStudy } from '../study.js';
import { completedAt, makeTrial, viewOf } from '../test-fixtures.js';
import { completedRungKey } from './successive-halving.js';
import { crc32 } from '../../common/crc32.js';
import { filterStudyForTrial, HyperbandPruner } from './hyperband.js';

describe('HyperbandPruner', () => {
  test('brackets and shares follow Optuna: R=27, eta=3 → 4 brackets with shares 27, 12, 6, 4', () => {
    const pruner = new HyperbandPruner({ minResource: 1, maxResource: 27, reductionFactor: 3 });
    assert.equal(pruner.nBrackets, 4);
    const expected = (n: number): number => {
      let r = crc32(Buffer.from(`study_${n}`)) % 49;
      for (const [id, share] of [27, 12, 6, 4].entries()) {
        r -= share;
        if (r < 0) return id;
      }
      return -1;
    };
    const counts = [0, 0, 0, 0];
    for (let n = 0; n < 980; n++) {
      const id = pruner.bracketIdOf('study', n);
      assert.equal(id, expected(n));
      counts[id] += 1;
    }
    assert.ok(counts.every((c) => c > 0));
    assert.ok(counts[0] > counts[3], `bracket 0 gets the largest share: ${counts}`);
  });

  test('bracket assignment is deterministic across instances and workers', () => {
    const a = new HyperbandPruner({ maxResource: 81 });
    const b = new HyperbandPruner({ maxResource: 81 });
    for (let n = 0; n < 200; n++) assert.equal(a.bracketIdOf('s', n), b.bracketIdOf('s', n));
    const other = Array.from({ length: 200 }, (_, n) => a.bracketIdOf('t', n));
    assert.notDeepEqual(other, Array.from({ length: 200 }, (_, n) => a.bracketIdOf('s', n)), 'the study name is part of the hash');
  });

  test("maxResource 'auto' waits for a COMPLETE trial (longest last step + 1)", () => {
    const pruner = new HyperbandPruner({ reductionFactor: 3 });
    const running = makeTrial({ number: 0, values: { 0: 100, 1: 100 } });
    assert.equal(pruner.prune(viewOf([running]), running), false);
    assert.equal(pruner.nBrackets, undefined);
    const done = completedAt([0, 8], [1]);
    pruner.prune(viewOf([...done, running]), running);
    assert.equal(pruner.nBrackets, 3, 'R = 9: floor(log3 9) + 1');
  });

  test('a trial competes only with the trials of its own bracket', async () => {
    const name = 'hyperband-brackets';
    const pruner = new HyperbandPruner({ minResource: 1, maxResource: 9, reductionFactor: 3 });
    const study = await createStudy({ studyName: name, pruner });
    // Bracket 0's first rung ends at step 1, bracket 1's at step 3.
    const numbers = { 0: [] as number[], 1: [] as number[] };
    for (let n = 0; numbers[0].length < 2 || numbers[1].length < 1; n++) {
      const id = pruner.bracketIdOf(name, n);
      if (id === 0 || id === 1) numbers[id].push(n);
    }
    const trials = [];
    const last = Math.max(numbers[0][1], numbers[1][0]);
    for (let n = 0; n <= last; n++) trials.push(await study.ask());

    const b0first = trials[numbers[0][0]];
    b0first.report(1, 1);
    assert.equal(await b0first.shouldPrune(), false);
    assert.equal(b0first.systemAttrs[completedRungKey(0)], 1);

    const b1 = trials[numbers[1][0]];
    b1.report(10, 1);
    assert.equal(await b1.shouldPrune(), false, 'step 1 is inside bracket 1\'s first rung');
    b1.report(10, 3);
    assert.equal(await b1.shouldPrune(), false, "alone in bracket 1's rung: bracket 0's better value does not compete");

    const b0second = trials[numbers[0][1]];
    b0second.report(10, 1);
    assert.equal(await b0second.shouldPrune(), true, "bracket 0: [1, 10] — 10 is not the best");

    const bracketView = filterStudyForTrial(pruner, viewOf(await study.trials(), 'minimize', name), await study.storage.getTrial(b1.trialId));
    assert.ok(bracketView.trials().every((t) => pruner.bracketIdOf(name, t.number) === 1));
    assert.ok(bracketView.trials().some((t) => t.number === b1.number));
  });
});
