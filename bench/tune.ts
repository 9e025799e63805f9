/**
 * bench/tune — `npm run bench:tune`: how much faster TPE finds good values than random search.
 *
 * For each function — Branin (2-D, min 0.397887), Hartmann-6 (6-D, min −3.32237), a noisy 4-D
 * sphere (observed value + N(0,1) noise; the best trial is chosen by its observed value and
 * scored by its true value, min 0) and a mixed log-int / stepped-int / categorical / log-float
 * function (min 0) — and for each sampler (RandomSampler = the baseline, TPE univariate, TPE
 * multivariate), the median over 20 seeds of the best value after 30 and after 100 trials,
 * run through createStudy/optimize. `ratio` is TPE's median gap to the optimum over random's
 * (lower is better; < 1 means TPE wins), side by side with the baseline figures.
 * Human lines go to stderr; the last stdout line is one JSON object.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createStudy, type BaseTrial } from '../src/tune/index.js';
import { RandomSampler } from '../src/tune/samplers/random.js';
import { TPESampler } from '../src/tune/samplers/tpe.js';
import { Random } from '../src/common/random.js';
import type { Sampler } from '../src/tune/types.js';

const SEEDS = 20;
const CHECKPOINTS = [30, 100] as const;
const N_TRIALS = 100;

interface BenchFunction {
  name: string;
  optimum: number;
  /** Suggests the parameters and returns the true (noise-free) value. */
  evaluate(trial: BaseTrial): number;
  /** Standard deviation of the Gaussian noise added to the observed value. */
  noise?: number;
}

function branin(trial: BaseTrial): number {
  const x = trial.suggestFloat('x', -5, 10);
  const y = trial.suggestFloat('y', 0, 15);
  const b = 5.1 / (4 * Math.PI ** 2);
  const c = 5 / Math.PI;
  const t = 1 / (8 * Math.PI);
  return (y - b * x * x + c * x - 6) ** 2 + 10 * (1 - t) * Math.cos(x) + 10;
}

const H_ALPHA = [1.0, 1.2, 3.0, 3.2];
const H_A = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
];
const H_P = [
  [1312, 1696, 5569, 124, 8283, 5886],
  [2329, 4135, 8307, 3736, 1004, 9991],
  [2348, 1451, 3522, 2883, 3047, 6650],
  [4047, 8828, 8732, 5743, 1091, 381],
].map((row) => row.map((v) => v * 1e-4));

function hartmann6(trial: BaseTrial): number {
  const x = Array.from({ length: 6 }, (_, j) => trial.suggestFloat(`x${j}`, 0, 1));
  let value = 0;
  for (let i = 0; i < 4; i++) {
    let inner = 0;
    for (let j = 0; j < 6; j++) inner += H_A[i][j] * (x[j] - H_P[i][j]) ** 2;
    value -= H_ALPHA[i] * Math.exp(-inner);
  }
  return value;
}

function sphere4(trial: BaseTrial): number {
  let value = 0;
  for (let j = 0; j < 4; j++) value += (trial.suggestFloat(`x${j}`, -5, 5) - 1) ** 2;
  return value;
}

const ACTIVATION_PENALTY: Record<string, number> = { relu: 0.5, tanh: 1, gelu: 0, sigmoid: 2 };
function mixed(trial: BaseTrial): number {
  const units = trial.suggestInt('units', 1, 64, { log: true });
  const layers = trial.suggestInt('layers', 0, 20, { step: 2 });
  const activation = trial.suggestCategorical('activation', ['relu', 'tanh', 'gelu', 'sigmoid']);
  const lr = trial.suggestFloat('lr', 1e-5, 1, { log: true });
  return 0.25 * (Math.log2(units) - 4) ** 2 + Math.abs(layers - 12) / 4 + ACTIVATION_PENALTY[activation] + (Math.log10(lr) + 3) ** 2;
}

const FUNCTIONS: BenchFunction[] = [
  { name: 'branin', optimum: 0.397887, evaluate: branin },
  { name: 'hartmann6', optimum: -3.32237, evaluate: hartmann6 },
  { name: 'noisy_sphere4', optimum: 0, evaluate: sphere4, noise: 1.0 },
  { name: 'mixed', optimum: 0, evaluate: mixed },
];

const SAMPLERS: Record<'random' | 'tpe' | 'tpe_multivariate', (seed: number) => Sampler> = {
  random: (seed) => new RandomSampler({ seed }),
  tpe: (seed) => new TPESampler({ seed }),
  tpe_multivariate: (seed) => new TPESampler({ seed, multivariate: true, warnIndependentSampling: false }),
};

/** Best true value (by observed value) after each checkpoint of one seeded run. */
async function runOnce(fn: BenchFunction, sampler: Sampler, seed: number): Promise<Record<number, number>> {
  const study = await createStudy({ sampler });
  const noise = new Random(seed + 1_000_003);
  const trueValues: number[] = [];
  const observed: number[] = [];
  await study.optimize(
    (trial) => {
      const truth = fn.evaluate(trial);
      const value = truth + (fn.noise ? fn.noise * noise.normal() : 0);
      trueValues[trial.number] = truth;
      observed[trial.number] = value;
      return value;
    },
    { nTrials: N_TRIALS },
  );
  const out: Record<number, number> = {};
  let best = -1;
  for (let i = 0; i < N_TRIALS; i++) {
    if (best < 0 || observed[i] < observed[best]) best = i;
    if ((CHECKPOINTS as readonly number[]).includes(i + 1)) out[i + 1] = trueValues[best];
  }
  return out;
}

const median = (values: number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  return (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2;
};
const round = (value: number, digits = 4): number => Number(value.toPrecision(digits));

async function main(): Promise<void> {
  const started = performance.now();
  const results: Record<string, unknown> = {};
  for (const fn of FUNCTIONS) {
    const perSampler: Record<string, Record<string, number>> = {};
    for (const [samplerName, make] of Object.entries(SAMPLERS)) {
      const t0 = performance.now();
      const byCheckpoint: Record<number, number[]> = { 30: [], 100: [] };
      for (let seed = 0; seed < SEEDS; seed++) {
        const run = await runOnce(fn, make(seed), seed);
        for (const c of CHECKPOINTS) byCheckpoint[c].push(run[c]);
      }
      perSampler[samplerName] = Object.fromEntries(CHECKPOINTS.map((c) => [String(c), round(median(byCheckpoint[c]))]));
      process.stderr.write(
        `${fn.name.padEnd(14)} ${samplerName.padEnd(17)} median best @30 ${perSampler[samplerName]['30']}  @100 ${perSampler[samplerName]['100']}  (${((performance.now() - t0) / 1000).toFixed(1)} s for ${SEEDS} seeds)\n`,
      );
    }
    const ratio = (sampler: string, c: number): number => round((perSampler[sampler][String(c)] - fn.optimum) / (perSampler.random[String(c)] - fn.optimum), 3);
    const ratios = {
      tpe: { 30: ratio('tpe', 30), 100: ratio('tpe', 100) },
      tpe_multivariate: { 30: ratio('tpe_multivariate', 30), 100: ratio('tpe_multivariate', 100) },
    };
    process.stderr.write(`${fn.name.padEnd(14)} gap ratio vs random (lower is better): tpe @30 ${ratios.tpe[30]} @100 ${ratios.tpe[100]}; multivariate @30 ${ratios.tpe_multivariate[30]} @100 ${ratios.tpe_multivariate[100]}\n`);
    results[fn.name] = { optimum: fn.optimum, ...perSampler, ratio: ratios };
  }
  const summary = {
    bench: 'tune',
    seeds: SEEDS,
    metric: 'median over seeds of the best value after N trials (noisy function: true value of the best observed trial); ratio = (tpe − optimum) / (random − optimum)',
    functions: results,
    workers: await workerWallTimes(),
    wall_s: round((performance.now() - started) / 1000, 3),
  };
  console.log(JSON.stringify(summary));
}

/**
 * Wall time of the same real study (seed profile space, 8 trials x 6 epochs, no pruning) with 1
 * and with 2 worker processes, through `kiln tune`. On a 2-core machine each worker gets one
 * BLAS thread.
 */
async function workerWallTimes(): Promise<Record<string, unknown> | null> {
  if (!existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz') && !process.env.KILN_DATA_DIR) {
    return { error: 'Fashion-MNIST not installed (bash scripts/setup-system.sh): workers not measured' };
  }
  const bin = fileURLToPath(new URL('../../bin/kiln.js', import.meta.url));
  const home = await mkdtemp(join(tmpdir(), 'kiln-bench-tune-'));
  const seconds: Record<string, number> = {};
  try {
    for (const workers of [1, 2]) {
      const t0 = performance.now();
      const run = spawnSync(
        process.execPath,
        [bin, 'tune', '--profile', 'seed', '--n-trials', '8', '--epochs', '6', '--pruner', 'none', '--workers', String(workers), '--study-name', `bench-workers-${workers}`, '--home', home, '--log-dir', join(home, 'logs'), '--json'],
        { encoding: 'utf8', env: { ...process.env, KILN_TRACKING_URI: '', MLFLOW_TRACKING_URI: '' } },
      );
      if (run.status !== 0) return { error: `kiln tune --workers ${workers} failed: ${run.stderr.slice(-500)}` };
      seconds[String(workers)] = round((performance.now() - t0) / 1000, 2);
      process.stderr.write(`study of 8 trials with ${workers} worker(s): ${seconds[String(workers)]} s wall\n`);
    }
  } finally {
    await rm(home, { recursive: true, force: true });
  }
  return { study: 'seed space, 8 trials x 6 epochs, no pruning', wall_s: seconds, speedup_2_vs_1: round(seconds['1'] / seconds['2'], 2) };
}

await main();
