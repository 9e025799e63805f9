/**
 * TPESampler: Optuna's defaults and split rules, better-than-random search on Branin and a
 * quadratic (univariate and multivariate), mixed int/log-float/categorical spaces, seeding, and
 * the constant liar. Trials are driven through the Sampler interface by a small local loop
 * (ask: relative then independent sampling; tell: COMPLETE with the objective's value).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Distribution, FrozenTrial, Sampler, StudyDirection, StudyView, TrialState } from '../types.js';
import { createStudy } from '../study.js';
import { RandomSampler } from './random.js';
import { TPESampler, defaultGamma, defaultWeights, splitTrials } from './tpe.js';
import { erfc, logNdtr, ndtr, truncnormPpf } from './tpe/truncnorm.js';

type Space = Record<string, Distribution>;
type Params = Record<string, number>;

const float = (low: number, high: number, log = false): Distribution => ({ type: 'float', low, high, log, step: null });

/** A study held in an array: ask() samples a RUNNING trial, tell() completes it. */
class LocalStudy implements StudyView {
  readonly studyId = 1;
  readonly name = 'local';
  private readonly all: FrozenTrial[] = [];

  constructor(
    private readonly sampler: Sampler,
    private readonly space: Space,
    readonly direction: StudyDirection = 'minimize',
  ) {}

  trials(states?: readonly TrialState[]): FrozenTrial[] {
    return states ? this.all.filter((t) => states.includes(t.state)) : [...this.all];
  }

  ask(): FrozenTrial {
    const number = this.all.length;
    const trial: FrozenTrial = {
      trialId: number,
      number,
      state: 'RUNNING',
      value: null,
      params: {},
      internalParams: {},
      distributions: {},
      intermediateValues: new Map(),
      userAttrs: {},
      systemAttrs: {},
      datetimeStart: number,
      datetimeComplete: null,
    };
    this.all.push(trial);
    const relativeSpace = this.sampler.inferRelativeSearchSpace(this, trial);
    const relative = this.sampler.sampleRelative(this, trial, relativeSpace);
    for (const [name, dist] of Object.entries(this.space)) {
      const value = name in relative ? relative[name] : this.sampler.sampleIndependent(this, trial, name, dist);
      trial.internalParams[name] = value;
      trial.params[name] = dist.type === 'categorical' ? dist.choices[value] : value;
      trial.distributions[name] = dist;
    }
    return trial;
  }

  tell(trial: FrozenTrial, value: number): void {
    trial.state = 'COMPLETE';
    trial.value = value;
    trial.datetimeComplete = trial.number;
  }

  optimize(objective: (params: Params) => number, nTrials: number): this {
    for (let i = 0; i < nTrials; i++) {
      const trial = this.ask();
      this.tell(trial, objective(trial.internalParams));
    }
    return this;
  }

  best(): number {
    const values = this.trials(['COMPLETE']).map((t) => t.value!);
    return this.direction === 'minimize' ? Math.min(...values) : Math.max(...values);
  }
}

const median = (values: number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  return (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2;
};

const BRANIN_MIN = 0.397887;
const branin = ({ x, y }: Params): number => {
  const b = 5.1 / (4 * Math.PI ** 2);
  const c = 5 / Math.PI;
  const t = 1 / (8 * Math.PI);
  return (y - b * x * x + c * x - 6) ** 2 + 10 * (1 - t) * Math.cos(x) + 10;
};
const braninSpace: Space = { x: float(-5, 10), y: float(0, 15) };
const quadratic = ({ x, y }: Params): number => (x - 1) ** 2 + (y - 2) ** 2;
const quadraticSpace: Space = { x: float(-10, 10), y: float(-10, 10) };

/** Median over seeds 0..19 of the gap between the best value after `nTrials` and the optimum. */
function medianGap(makeSampler: (seed: number) => Sampler, space: Space, objective: (p: Params) => number, optimum: number, nTrials = 50): number {
  const gaps: number[] = [];
  for (let seed = 0; seed < 20; seed++) gaps.push(new LocalStudy(makeSampler(seed), space).optimize(objective, nTrials).best() - optimum);
  return median(gaps);
}

describe('TPESampler: Optuna defaults', () => {
  it('gamma is 10% of the finished trials, rounded up, at most 25', () => {
    assert.deepEqual([0, 1, 10, 11, 100, 249, 250, 1000].map(defaultGamma), [0, 1, 1, 2, 10, 25, 25, 25]);
  });

  it('weights are flat for 25 or fewer observations, then a linear ramp from 1/n for the oldest', () => {
    assert.deepEqual(defaultWeights(0), []);
    assert.deepEqual(defaultWeights(3), [1, 1, 1]);
    const w = defaultWeights(30);
    assert.equal(w.length, 30);
    assert.ok(Math.abs(w[0] - 1 / 30) < 1e-12);
    assert.equal(w[4], 1);
    assert.deepEqual(w.slice(5), new Array(25).fill(1));
    for (let i = 1; i < 5; i++) assert.ok(w[i] > w[i - 1]);
  });

  it('normal-distribution helpers match reference values', () => {
    assert.ok(Math.abs(erfc(0.5) - 0.4795001221869535) < 1e-14);
    assert.ok(Math.abs(erfc(10) / 2.088487583762545e-45 - 1) < 1e-12);
    assert.ok(Math.abs(logNdtr(-40) - -804.6084420137538) < 1e-9);
    assert.ok(Math.abs(ndtr(1) - 0.8413447460685429) < 1e-14);
    assert.ok(Math.abs(truncnormPpf(0.5, -1, 1)) < 1e-12);
    // The median of N(0,1) truncated to [3, 10] lies just above 3.
    const m = truncnormPpf(0.5, 3, 10);
    assert.ok(m > 3.2 && m < 3.21, String(m));
  });
});

describe('TPESampler: splitting trials into below and above', () => {
  const trial = (number: number, state: TrialState, value: number | null, intermediate: [number, number][] = []): FrozenTrial => ({
    trialId: number,
    number,
    state,
    value,
    params: {},
    internalParams: {},
    distributions: {},
    intermediateValues: new Map(intermediate),
    userAttrs: {},
    systemAttrs: {},
    datetimeStart: null,
    datetimeComplete: null,
  });

  it('takes the best complete trials by direction, both groups in trial order', () => {
    const trials = [trial(0, 'COMPLETE', 5), trial(1, 'COMPLETE', 1), trial(2, 'COMPLETE', 3), trial(3, 'COMPLETE', 9)];
    const [below, above] = splitTrials(trials, 'minimize', 2);
    assert.deepEqual(below.map((t) => t.number), [1, 2]);
    assert.deepEqual(above.map((t) => t.number), [0, 3]);
    const [bestMax] = splitTrials(trials, 'maximize', 2);
    assert.deepEqual(bestMax.map((t) => t.number), [0, 3]);
  });

  it('ranks pruned trials after complete ones, deeper first, then by last intermediate value; running ones are always above', () => {
    const trials = [
      trial(0, 'COMPLETE', 5),
      trial(1, 'PRUNED', null, [[1, 0.1]]),
      trial(2, 'PRUNED', null, [[1, 0.2], [3, 0.9]]),
      trial(3, 'PRUNED', null, [[3, 0.5]]),
      trial(4, 'RUNNING', null),
    ];
    const [below, above] = splitTrials(trials, 'minimize', 3);
    assert.deepEqual(below.map((t) => t.number), [0, 2, 3]);
    assert.deepEqual(above.map((t) => t.number), [1, 4]);
  });
});

describe('TPESampler: search quality', () => {
  it('beats random search on Branin (median gap to the optimum after 50 trials over 20 seeds)', () => {
    const random = medianGap((seed) => new RandomSampler({ seed }), braninSpace, branin, BRANIN_MIN);
    const tpe = medianGap((seed) => new TPESampler({ seed }), braninSpace, branin, BRANIN_MIN);
    // Measured: random ≈ 0.92, TPE ≈ 0.28 (ratio 0.31; ≤ 0.52 across other seed ranges).
    assert.ok(tpe < 0.6 * random, `TPE gap ${tpe} vs random ${random}`);
  });

  it('multivariate TPE also beats random search on Branin', () => {
    const random = medianGap((seed) => new RandomSampler({ seed }), braninSpace, branin, BRANIN_MIN);
    const tpe = medianGap((seed) => new TPESampler({ seed, multivariate: true }), braninSpace, branin, BRANIN_MIN);
    // Measured: ratio ≈ 0.19 (≤ 0.36 across other seed ranges).
    assert.ok(tpe < 0.5 * random, `multivariate TPE gap ${tpe} vs random ${random}`);
  });

  it('beats random search on a quadratic bowl, univariate and multivariate', () => {
    const random = medianGap((seed) => new RandomSampler({ seed }), quadraticSpace, quadratic, 0);
    const tpe = medianGap((seed) => new TPESampler({ seed }), quadraticSpace, quadratic, 0);
    const multivariate = medianGap((seed) => new TPESampler({ seed, multivariate: true }), quadraticSpace, quadratic, 0);
    // Measured: random ≈ 1.0, TPE ≈ 0.43, multivariate ≈ 0.10.
    assert.ok(tpe < 0.6 * random, `TPE ${tpe} vs random ${random}`);
    assert.ok(multivariate < 0.3 * random, `multivariate TPE ${multivariate} vs random ${random}`);
  });

  it('maximises as well as minimises', () => {
    const negated = (p: Params): number => -quadratic(p);
    const bests = [0, 1, 2, 3, 4].map((seed) => new LocalStudy(new TPESampler({ seed }), quadraticSpace, 'maximize').optimize(negated, 50).best());
    const randoms = [0, 1, 2, 3, 4].map((seed) => new LocalStudy(new RandomSampler({ seed }), quadraticSpace, 'maximize').optimize(negated, 50).best());
    assert.ok(median(bests) > median(randoms), `${median(bests)} vs ${median(randoms)}`);
    assert.ok(median(bests) > -1.5);
  });
});

describe('TPESampler: mixed spaces', () => {
  const space: Space = {
    units: { type: 'int', low: 1, high: 64, log: true, step: 1 },
    layers: { type: 'int', low: 0, high: 20, log: false, step: 2 },
    activation: { type: 'categorical', choices: ['relu', 'tanh', 'gelu', 'sigmoid'] },
    lr: float(1e-5, 1, true),
    dropout: { type: 'float', low: 0, high: 0.5, log: false, step: 0.1 },
  };
  const objective = (p: Params): number =>
    0.25 * (Math.log2(p.units) - 4) ** 2 + Math.abs(p.layers - 12) / 4 + [0.5, 1, 0, 2][p.activation] + (Math.log10(p.lr) + 3) ** 2 + Math.abs(p.dropout - 0.2);

  it('suggests only valid values: ints on their step grid, log floats in range, categorical indices', () => {
    for (const multivariate of [false, true]) {
      const study = new LocalStudy(new TPESampler({ seed: 3, multivariate }), space).optimize(objective, 60);
      for (const t of study.trials()) {
        const p = t.internalParams;
        assert.ok(Number.isInteger(p.units) && p.units >= 1 && p.units <= 64, `units ${p.units}`);
        assert.ok(Number.isInteger(p.layers) && p.layers % 2 === 0 && p.layers >= 0 && p.layers <= 20, `layers ${p.layers}`);
        assert.ok([0, 1, 2, 3].includes(p.activation), `activation ${p.activation}`);
        assert.ok(p.lr >= 1e-5 && p.lr <= 1, `lr ${p.lr}`);
        const k = p.dropout / 0.1;
        assert.ok(Math.abs(k - Math.round(k)) < 1e-9 && p.dropout >= 0 && p.dropout <= 0.5 + 1e-12, `dropout ${p.dropout}`);
      }
    }
  });

  it('finds the good region faster than random search', () => {
    const random = medianGap((seed) => new RandomSampler({ seed }), space, objective, 0, 60);
    const tpe = medianGap((seed) => new TPESampler({ seed }), space, objective, 0, 60);
    assert.ok(tpe < 0.6 * random, `TPE ${tpe} vs random ${random}`);
  });
});

describe('TPESampler: seeding and parallel workers', () => {
  it('gives the same suggestions for the same seed and history, different ones for another seed', () => {
    const run = (seed: number): number[] =>
      new LocalStudy(new TPESampler({ seed }), braninSpace)
        .optimize(branin, 30)
        .trials()
        .map((t) => t.internalParams.x);
    assert.deepEqual(run(7), run(7));
    assert.notDeepEqual(run(7), run(8));
  });

  it('samples at random during the startup trials, whatever the objective', () => {
    const first = (objective: (p: Params) => number): Params[] =>
      new LocalStudy(new TPESampler({ seed: 5, nStartupTrials: 10 }), braninSpace)
        .optimize(objective, 11)
        .trials()
        .map((t) => t.internalParams);
    const a = first(branin);
    const b = first((p) => -branin(p));
    assert.deepEqual(a.slice(0, 10), b.slice(0, 10));
    assert.notDeepEqual(a[10], b[10]);
  });

  it('with the constant liar, concurrent asks are spread apart (RUNNING trials count as the worst)', () => {
    // 30 finished trials, then 6 asks before any tell, as 6 parallel workers would make.
    const spread = (constantLiar: boolean, seed: number): number => {
      const study = new LocalStudy(new TPESampler({ seed, constantLiar }), quadraticSpace).optimize(quadratic, 30);
      const pending = Array.from({ length: 6 }, () => study.ask().internalParams);
      assert.notDeepEqual(pending[0], pending[1]);
      let total = 0;
      let pairs = 0;
      for (let i = 0; i < pending.length; i++) {
        for (let j = i + 1; j < pending.length; j++) {
          total += Math.hypot(pending[i].x - pending[j].x, pending[i].y - pending[j].y);
          pairs++;
        }
      }
      return total / pairs;
    };
    const seeds = Array.from({ length: 12 }, (_, i) => i);
    const withLiar = median(seeds.map((seed) => spread(true, seed)));
    const without = median(seeds.map((seed) => spread(false, seed)));
    assert.ok(withLiar > 1.3 * without, `mean pairwise distance ${withLiar} (liar) vs ${without}`);
  });
});

describe('TPESampler: through a Study', () => {
  it('drives createStudy/optimize, and two asks before any tell (constant liar) get different parameters', async () => {
    const study = await createStudy({ sampler: new TPESampler({ seed: 1, constantLiar: true, multivariate: true }) });
    await study.optimize((trial) => branin({ x: trial.suggestFloat('x', -5, 10), y: trial.suggestFloat('y', 0, 15) }), { nTrials: 40 });
    assert.ok((await study.bestValue()) < 1.5);
    const a = await study.ask();
    const b = await study.ask();
    const pa = { x: a.suggestFloat('x', -5, 10), y: a.suggestFloat('y', 0, 15) };
    const pb = { x: b.suggestFloat('x', -5, 10), y: b.suggestFloat('y', 0, 15) };
    assert.notDeepEqual(pa, pb);
    await study.tell(a, branin(pa));
    await study.tell(b, branin(pb));
    assert.equal((await study.trials(['COMPLETE'])).length, 42);
  });
});
