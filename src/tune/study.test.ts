import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { floatDistribution, intDistribution } from './distributions.js';
import { IncompatibleDistributionError, TrialFinishedError } from './errors.js';
import { NopPruner } from './pruners/nop.js';
import { RandomSampler } from './samplers/random.js';
import { InMemoryStorage } from './storage/memory.js';
import { createStudy, loadStudy, TrialPruned } from './study.js';
import { FixedTrial, type BaseTrial } from './trial.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('Trial', () => {
  test('define-by-run: the parameters a trial has are the ones its branch suggested', async () => {
    const study = await createStudy({ sampler: new RandomSampler({ seed: 3 }) });
    await study.optimize(
      (trial) => {
        const model = trial.suggestCategorical('model', ['linear', 'tree']);
        if (model === 'linear') return trial.suggestFloat('alpha', 1e-4, 1, { log: true });
        return trial.suggestInt('depth', 1, 8);
      },
      { nTrials: 30 },
    );
    const trials = await study.trials();
    assert.equal(trials.length, 30);
    for (const trial of trials) {
      assert.equal(trial.state, 'COMPLETE');
      const expected = trial.params.model === 'linear' ? ['alpha', 'model'] : ['depth', 'model'];
      assert.deepEqual(Object.keys(trial.params).sort(), expected);
      const alpha = trial.params.alpha as number | undefined;
      if (alpha !== undefined) assert.ok(alpha >= 1e-4 && alpha <= 1 && trial.value === alpha);
      const depth = trial.params.depth as number | undefined;
      if (depth !== undefined) assert.ok(Number.isInteger(depth) && depth >= 1 && depth <= 8);
    }
    assert.deepEqual(new Set(trials.map((t) => t.params.model)), new Set(['linear', 'tree']));
  });

  test('a parameter suggested twice returns the same value; another kind under the same name throws naming it', async () => {
    const study = await createStudy({ sampler: new RandomSampler({ seed: 1 }) });
    const trial = await study.ask();
    const x = trial.suggestFloat('x', 0, 1);
    assert.equal(trial.suggestFloat('x', 0, 1), x);
    assert.equal(trial.suggestFloat('x', 0, 5), x, 'new bounds: the first value stands (Optuna)');
    assert.throws(() => trial.suggestInt('x', 0, 1), (error: unknown) => error instanceof IncompatibleDistributionError && error.param === 'x');
    await study.tell(trial, x);
    const next = await study.ask();
    assert.throws(() => next.suggestCategorical('x', ['a', 'b']), /parameter "x"/, 'incompatible with an earlier trial too');
    assert.throws(() => next.suggestFloat('x', 0, 1, { log: true }), /log/);
  });

  test('suggestions are written behind: storage has them once the trial is told', async () => {
    const storage = new InMemoryStorage();
    const study = await createStudy({ storage, sampler: new RandomSampler({ seed: 5 }) });
    const trial = await study.ask();
    const lr = trial.suggestFloat('lr', 1e-5, 1e-1, { log: true });
    const units = trial.suggestInt('units', 16, 256, { step: 16 });
    const act = trial.suggestCategorical('act', ['relu', 'tanh', 'gelu'] as const);
    trial.setUserAttr('note', 'hello');
    trial.report(0.5, 0);
    trial.report(Number.NaN, 1);
    trial.report(0.1, 0);
    assert.equal(trial.intermediateValues.get(0), 0.5, 'one value per step: a second report of a step is ignored');
    assert.ok(units % 16 === 0 && units >= 16 && units <= 256);
    assert.ok(['relu', 'tanh', 'gelu'].includes(act));
    const stored = await study.tell(trial, 1.5);
    assert.deepEqual(stored.params, { lr, units, act });
    assert.equal(stored.internalParams.act, ['relu', 'tanh', 'gelu'].indexOf(act));
    assert.deepEqual(stored.userAttrs, { note: 'hello' });
    assert.equal(stored.intermediateValues.get(0), 0.5);
    assert.ok(Number.isNaN(stored.intermediateValues.get(1)));
    assert.throws(() => trial.suggestFloat('late', 0, 1), TrialFinishedError);
    assert.throws(() => trial.report(1, 2), TrialFinishedError);
    assert.throws(() => trial.report(1, -1), TrialFinishedError);
  });

  test('report validates the step', async () => {
    const study = await createStudy();
    const trial = await study.ask();
    assert.throws(() => trial.report(1, -1), /step/);
    assert.throws(() => trial.report(1, 1.5), /step/);
  });

  test('FixedTrial runs an objective with given parameters', async () => {
    const objective = (trial: BaseTrial): number => trial.suggestFloat('x', -10, 10) ** 2 + trial.suggestInt('n', 0, 3) + (trial.suggestCategorical('sign', ['+', '-']) === '-' ? -1 : 0);
    const fixed = new FixedTrial({ x: 2, n: 1, sign: '-' });
    assert.equal(objective(fixed), 4);
    assert.deepEqual(fixed.params, { x: 2, n: 1, sign: '-' });
    assert.equal(await fixed.shouldPrune(), false);
    assert.throws(() => objective(new FixedTrial({ x: 2 })), /"n" is not given/);
    assert.throws(() => objective(new FixedTrial({ x: 2, n: 1, sign: '*' })), /not one of the choices/);
  });
});

describe('Study', () => {
  test('ask and tell: COMPLETE with a value, tell by number, a second tell is refused', async () => {
    const study = await createStudy();
    const a = await study.ask();
    const b = await study.ask();
    assert.deepEqual([a.number, b.number], [0, 1]);
    const told = await study.tell(a, 0.5);
    assert.deepEqual([told.state, told.value], ['COMPLETE', 0.5]);
    await assert.rejects(study.tell(a, 0.25), /already finished with state COMPLETE/);
    assert.equal((await study.tell(1, 'FAIL')).state, 'FAIL');
    await assert.rejects(study.tell(7, 1), /no trial #7/);
    assert.equal((await study.tell(a, 3, { skipIfFinished: true })).value, 0.5);
  });

  test('tell: NaN fails the trial; PRUNED keeps the last reported value', async () => {
    const study = await createStudy();
    const nan = await study.tell(await study.ask(), Number.NaN);
    assert.deepEqual([nan.state, nan.value], ['FAIL', null]);
    const trial = await study.ask();
    trial.report(3, 0);
    trial.report(2, 4);
    const pruned = await study.tell(trial, 'PRUNED');
    assert.deepEqual([pruned.state, pruned.value], ['PRUNED', 2]);
    const silent = await study.tell(await study.ask(), 'PRUNED');
    assert.deepEqual([silent.state, silent.value], ['PRUNED', null]);
  });

  test('ask with fixed distributions suggests them at once', async () => {
    const study = await createStudy({ sampler: new RandomSampler({ seed: 2 }) });
    const trial = await study.ask({ x: floatDistribution(0, 1), n: intDistribution(1, 3) });
    assert.deepEqual(Object.keys(trial.params).sort(), ['n', 'x']);
    assert.equal(trial.suggestFloat('x', 0, 1), trial.params.x);
  });

  test('optimize with nTrials; callbacks see each finished trial', async () => {
    const study = await createStudy();
    const seen: number[] = [];
    await study.optimize((trial) => trial.suggestFloat('x', 0, 1), { nTrials: 7, callbacks: [(_s, t) => void seen.push(t.number)] });
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6]);
    await study.optimize((trial) => trial.suggestFloat('x', 0, 1), { nTrials: 3 });
    assert.equal((await study.trials()).length, 10);
  });

  test('optimize with a timeout starts no trial after it', async () => {
    const study = await createStudy();
    const started = performance.now();
    await study.optimize(
      async (trial) => {
        await sleep(20);
        return trial.number;
      },
      { timeout: 0.1 },
    );
    const elapsed = performance.now() - started;
    const n = (await study.trials()).length;
    assert.ok(n >= 2 && n <= 7, `${n} trials`);
    assert.ok(elapsed < 400, `${elapsed} ms`);
  });

  test('concurrency runs async objectives side by side with distinct trial numbers', async () => {
    const study = await createStudy();
    let inFlight = 0;
    let peak = 0;
    await study.optimize(
      async (trial) => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        const x = trial.suggestFloat('x', 0, 1);
        await sleep(5);
        inFlight -= 1;
        return x;
      },
      { nTrials: 12, concurrency: 4 },
    );
    const trials = await study.trials();
    assert.deepEqual(trials.map((t) => t.number), Array.from({ length: 12 }, (_, i) => i));
    assert.ok(trials.every((t) => t.state === 'COMPLETE'));
    assert.equal(peak, 4);
  });

  test('a thrown TrialPruned records PRUNED with the last intermediate value', async () => {
    const study = await createStudy({ pruner: new NopPruner() });
    await study.optimize(
      async (trial) => {
        for (let step = 0; step < 5; step++) {
          trial.report(10 - step, step);
          if (step === 2) throw new TrialPruned();
          await trial.shouldPrune();
        }
        return 0;
      },
      { nTrials: 1 },
    );
    const [trial] = await study.trials();
    assert.deepEqual([trial.state, trial.value], ['PRUNED', 8]);
  });

  test('pruning end to end: MedianPruner stops trials worse than the median', async () => {
    const study = await createStudy({ sampler: new RandomSampler({ seed: 11 }) });
    await study.optimize(
      async (trial) => {
        const offset = trial.number < 5 ? trial.number : 100; // later trials are all bad
        for (let step = 0; step < 4; step++) {
          trial.report(offset + step, step);
          if (await trial.shouldPrune()) throw new TrialPruned();
        }
        return offset;
      },
      { nTrials: 8 },
    );
    const states = (await study.trials()).map((t) => t.state);
    assert.deepEqual(states, ['COMPLETE', 'COMPLETE', 'COMPLETE', 'COMPLETE', 'COMPLETE', 'PRUNED', 'PRUNED', 'PRUNED']);
  });

  test('an objective returning NaN or a non-number fails its trial; optimize goes on', async () => {
    const study = await createStudy();
    await study.optimize((trial) => (trial.number === 0 ? Number.NaN : trial.number === 1 ? ('x' as unknown as number) : 1), { nTrials: 3 });
    const trials = await study.trials();
    assert.deepEqual(trials.map((t) => t.state), ['FAIL', 'FAIL', 'COMPLETE']);
    assert.match(String(trials[1].systemAttrs.fail_reason), /string/);
  });

  test('an error fails the trial and is rethrown, unless its class is caught', async () => {
    class Flaky extends Error {}
    const study = await createStudy();
    await assert.rejects(
      study.optimize(() => {
        throw new RangeError('boom');
      }, { nTrials: 5 }),
      /boom/,
    );
    let trials = await study.trials();
    assert.deepEqual(trials.map((t) => t.state), ['FAIL']);
    assert.match(String(trials[0].systemAttrs.fail_reason), /RangeError: boom/);
    await study.optimize(
      (trial) => {
        if (trial.number % 2 === 1) throw new Flaky('again');
        return 1;
      },
      { nTrials: 4, catch: [Flaky] },
    );
    trials = await study.trials();
    assert.deepEqual(trials.map((t) => t.state), ['FAIL', 'FAIL', 'COMPLETE', 'FAIL', 'COMPLETE']);
  });

  test('best trial, value and params follow the direction (first on ties)', async () => {
    for (const [direction, best] of [['minimize', 1], ['maximize', 3]] as const) {
      const study = await createStudy({ direction });
      await assert.rejects(study.bestTrial(), /no completed trials/);
      for (const value of [2, 1, 3, 1, 3]) {
        const trial = await study.ask();
        trial.suggestInt('v', 0, 10);
        await study.tell(trial, value);
      }
      await study.tell(await study.ask(), 'FAIL');
      const trial = await study.bestTrial();
      assert.equal(trial.value, best);
      assert.equal(trial.number, direction === 'minimize' ? 1 : 2);
      assert.equal(await study.bestValue(), best);
      assert.deepEqual(await study.bestParams(), trial.params);
    }
  });

  test('a resumed study continues its numbering; names are unique unless loadIfExists', async () => {
    const storage = new InMemoryStorage();
    const first = await createStudy({ studyName: 'resume', storage, direction: 'maximize' });
    await first.optimize((trial) => trial.suggestFloat('x', 0, 1), { nTrials: 3 });
    await assert.rejects(createStudy({ studyName: 'resume', storage }), /already exists/);
    const loaded = await loadStudy('resume', storage);
    assert.equal(loaded.direction, 'maximize');
    await loaded.optimize((trial) => trial.suggestFloat('x', 0, 1), { nTrials: 2 });
    assert.deepEqual((await loaded.trials()).map((t) => t.number), [0, 1, 2, 3, 4]);
    const again = await createStudy({ studyName: 'resume', storage, loadIfExists: true });
    assert.equal((await again.ask()).number, 5);
    await assert.rejects(createStudy({ studyName: 'resume', storage, loadIfExists: true, direction: 'minimize' }), /direction/);
    await assert.rejects(loadStudy('absent', storage), /no study named/);
  });

  test('enqueueTrial: the next trials take the enqueued parameters first', async () => {
    const study = await createStudy({ sampler: new RandomSampler({ seed: 4 }) });
    await study.enqueueTrial({ x: 0.25, act: 'tanh' }, { userAttrs: { source: 'manual' } });
    await study.enqueueTrial({ x: 5 });
    assert.equal(await study.enqueueTrial({ x: 5 }, { skipIfExists: true }), undefined);
    await study.optimize(
      (trial) => {
        const x = trial.suggestFloat('x', 0, 1);
        trial.suggestCategorical('act', ['relu', 'tanh']);
        return x;
      },
      { nTrials: 3 },
    );
    const trials = await study.trials();
    assert.deepEqual(trials[0].params, { x: 0.25, act: 'tanh' });
    assert.deepEqual(trials[0].userAttrs, { source: 'manual' });
    assert.equal(trials[1].params.x, 5, 'an enqueued value outside the range is used (Optuna warns)');
    assert.ok((trials[2].params.x as number) <= 1);
    assert.ok(trials.every((t) => t.state === 'COMPLETE'));
  });

  test('heartbeats: a trial whose worker went silent is failed before the next trial starts', async () => {
    const storage = new InMemoryStorage();
    const study = await createStudy({ storage, heartbeatIntervalMs: 10, gracePeriodMs: 40 });
    const orphan = await study.ask();
    await storage.recordHeartbeat(orphan.trialId);
    let long: number | undefined;
    await study.optimize(
      async (trial) => {
        if (trial.number === 1) {
          long = trial.trialId;
          await sleep(120); // heartbeats keep this one alive past the grace period
        }
        return 0;
      },
      { nTrials: 2 },
    );
    const trials = await study.trials();
    assert.equal(trials[0].state, 'FAIL', 'the orphan stopped beating');
    assert.match(String(trials[0].systemAttrs.fail_reason), /heartbeat/);
    assert.equal(trials[1].trialId, long);
    assert.deepEqual(trials.slice(1).map((t) => t.state), ['COMPLETE', 'COMPLETE']);
  });

  test('seeded RandomSampler: the same seed gives the same study', async () => {
    const run = async (seed: number): Promise<unknown[]> => {
      const study = await createStudy({ sampler: new RandomSampler({ seed }) });
      await study.optimize(
        (trial) => trial.suggestFloat('x', -1, 1) + trial.suggestInt('n', 0, 9) + (trial.suggestCategorical('c', ['a', 'b', 'c']) === 'a' ? 1 : 0),
        { nTrials: 10 },
      );
      return (await study.trials()).map((t) => t.params);
    };
    assert.deepEqual(await run(42), await run(42));
    assert.notDeepEqual(await run(42), await run(43));
  });
});
