/**
 * tune/samplers/search-space — the search space shared by past trials, for multivariate
 * samplers (Optuna's IntersectionSearchSpace).
 */
import { distributionsEqual } from '../distributions.js';
import type { Distribution, FrozenTrial, TrialState } from '../types.js';

export interface IntersectionSearchSpaceOptions {
  /** Also intersect over PRUNED trials. Default false (COMPLETE only, as Optuna). */
  includePruned?: boolean;
}

/**
 * The parameters present, with identical distributions, in every COMPLETE trial of `trials`
 * (and PRUNED ones with `includePruned`), keyed in name order; {} when there is no such trial.
 */
export function intersectionSearchSpace(trials: readonly FrozenTrial[], options: IntersectionSearchSpaceOptions = {}): Record<string, Distribution> {
  const states: TrialState[] = options.includePruned ? ['COMPLETE', 'PRUNED'] : ['COMPLETE'];
  let space: Map<string, Distribution> | undefined;
  for (const trial of trials) {
    if (!states.includes(trial.state)) continue;
    if (space === undefined) {
      space = new Map(Object.entries(trial.distributions));
      continue;
    }
    for (const [name, distribution] of space) {
      const other = trial.distributions[name];
      if (other === undefined || !distributionsEqual(other, distribution)) space.delete(name);
    }
  }
  const out: Record<string, Distribution> = {};
  if (space) for (const name of [...space.keys()].sort()) out[name] = space.get(name) as Distribution;
  return out;
}
