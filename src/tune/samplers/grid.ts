/**
 * tune/samplers/grid — GridSampler (Optuna's GridSampler): every combination of the given
 * values, each evaluated once.
 *
 * The grid (cartesian product in parameter-name order) is shuffled by `seed` (default 0, so
 * workers with the same grid agree). Trial n < grid size takes grid point n; later trials take a
 * random grid point no trial has finished or started, judged from the study's trials (so several
 * workers and resumed studies share the grid). The chosen point is stored in the trial's system
 * attributes `grid_id` and `search_space`. When every point has been finished or started, the
 * sampler stops the study's `optimize`; a trial started after that re-runs a random point
 * (Optuna does the same, with a warning). Suggesting a parameter that is not in the grid, or
 * whose grid value lies outside the suggested distribution, throws.
 */
import { KilnError } from '../../common/errors.js';
import { Random } from '../../common/random.js';
import { contains, describeDistribution, toInternal } from '../distributions.js';
import { warnOnce } from '../errors.js';
import type { CategoricalChoice, Distribution, FrozenTrial, Sampler, StudyView, TrialState } from '../types.js';

export type GridSearchSpace = Record<string, readonly CategoricalChoice[]>;

export interface GridSamplerOptions {
  /** Shuffles the visiting order. Default 0. */
  seed?: number;
}

function gridError(message: string): KilnError {
  return new KilnError('KILN_ERR_GRID_SAMPLER', message);
}

export class GridSampler implements Sampler {
  private readonly searchSpace: Record<string, CategoricalChoice[]>;
  private readonly searchSpaceKey: string;
  private readonly paramNames: string[];
  private readonly grids: CategoricalChoice[][];
  private readonly rng: Random;

  constructor(searchSpace: GridSearchSpace, options: GridSamplerOptions = {}) {
    this.paramNames = Object.keys(searchSpace).sort();
    this.searchSpace = {};
    for (const name of this.paramNames) {
      const values = searchSpace[name];
      if (!Array.isArray(values) || values.length === 0) throw gridError(`the grid of "${name}" must be a non-empty array`);
      for (const value of values) {
        const kind = typeof value;
        if (!(value === null || kind === 'string' || kind === 'number' || kind === 'boolean')) {
          throw gridError(`grid values must be strings, numbers, booleans or null ("${name}" has a ${kind})`);
        }
      }
      this.searchSpace[name] = [...values];
    }
    this.searchSpaceKey = JSON.stringify(this.searchSpace);
    let grids: CategoricalChoice[][] = [[]];
    for (const name of this.paramNames) {
      const next: CategoricalChoice[][] = [];
      for (const prefix of grids) for (const value of this.searchSpace[name]) next.push([...prefix, value]);
      grids = next;
    }
    this.rng = new Random(options.seed ?? 0);
    const order = this.rng.shuffle(Uint32Array.from({ length: grids.length }, (_, i) => i));
    this.grids = Array.from(order, (i) => grids[i]);
  }

  /** Number of grid points. */
  get size(): number {
    return this.grids.length;
  }

  /** The parameter values of grid point `gridId`. */
  gridPoint(gridId: number): Record<string, CategoricalChoice> {
    const out: Record<string, CategoricalChoice> = {};
    this.paramNames.forEach((name, i) => (out[name] = this.grids[gridId][i]));
    return out;
  }

  beforeTrial(study: StudyView, trial: FrozenTrial): void {
    if ('grid_id' in trial.systemAttrs || 'fixed_params' in trial.systemAttrs) return;
    let gridId: number;
    if (trial.number >= 0 && trial.number < this.grids.length) {
      gridId = trial.number;
    } else {
      let targets = this.unvisited(study, trial.trialId, true);
      if (targets.length === 0) {
        warnOnce('GridSampler is re-evaluating a configuration because the grid has been exhausted');
        targets = Array.from({ length: this.grids.length }, (_, i) => i);
      }
      gridId = targets[this.rng.int(targets.length)];
    }
    if (!study.setTrialSystemAttr) throw gridError('GridSampler needs a study view that can write trial system attributes');
    study.setTrialSystemAttr(trial.trialId, 'search_space', this.searchSpace);
    study.setTrialSystemAttr(trial.trialId, 'grid_id', gridId);
  }

  inferRelativeSearchSpace(_study: StudyView, _trial: FrozenTrial): Record<string, Distribution> {
    return {};
  }

  sampleRelative(_study: StudyView, _trial: FrozenTrial, _searchSpace: Record<string, Distribution>): Record<string, number> {
    return {};
  }

  sampleIndependent(_study: StudyView, trial: FrozenTrial, name: string, distribution: Distribution): number {
    const gridId = trial.systemAttrs.grid_id;
    if (typeof gridId !== 'number') {
      throw gridError(`parameter "${name}": all parameters must be given when using GridSampler with enqueueTrial`);
    }
    const index = this.paramNames.indexOf(name);
    if (index < 0) throw gridError(`parameter "${name}" is not in the grid (grid parameters: ${this.paramNames.join(', ')})`);
    const value = this.grids[gridId][index];
    let internal: number;
    try {
      internal = toInternal(distribution, value);
    } catch {
      internal = Number.NaN;
    }
    if (!contains(distribution, internal)) {
      throw gridError(`parameter "${name}": grid value ${JSON.stringify(value)} is outside the suggested distribution ${describeDistribution(distribution)}`);
    }
    return internal;
  }

  afterTrial(study: StudyView, trial: FrozenTrial, _state: TrialState, _value: number | null): void {
    // Every grid point finished or started (this trial counts as finished): start no more trials.
    if (this.unvisited(study, trial.trialId, false).length === 0) study.stop?.();
  }

  /**
   * Grid ids no trial of this grid has finished (or, with `strictlyNew`, started). Trial
   * `selfId` is counted as running when `strictlyNew`, else as finished.
   */
  private unvisited(study: StudyView, selfId: number, strictlyNew: boolean): number[] {
    const seen = new Set<number>();
    const running = new Set<number>();
    for (const t of study.trials()) {
      const gridId = t.systemAttrs.grid_id;
      if (typeof gridId !== 'number' || JSON.stringify(t.systemAttrs.search_space) !== this.searchSpaceKey) continue;
      const state: TrialState = t.trialId === selfId && !strictlyNew ? 'COMPLETE' : t.state;
      if (state === 'RUNNING') running.add(gridId);
      else if (state !== 'WAITING') seen.add(gridId);
    }
    const out: number[] = [];
    for (let id = 0; id < this.grids.length; id++) if (!seen.has(id) && !running.has(id)) out.push(id);
    if (out.length === 0 && strictlyNew) {
      for (let id = 0; id < this.grids.length; id++) if (!seen.has(id)) out.push(id);
    }
    return out;
  }
}
