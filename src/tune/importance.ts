/**
 * tune/importance — which hyperparameters mattered: `parameterImportances` over a study's
 * trials with fANOVA (default; Optuna's FanovaImportanceEvaluator) or PED-ANOVA (Optuna's
 * PedAnovaImportanceEvaluator). Results are normalised to sum to 1 and sorted descending.
 *
 * Only COMPLETE trials with a finite value that have every evaluated parameter are used; the
 * parameters default to those present with the same distribution in all such trials (parameters
 * with a single possible value get importance 0).
 *
 * @example
 * const importances = parameterImportances(study.trials(), { evaluator: 'fanova', seed: 0 });
 * // { lr: 0.83, units: 0.12, activation: 0.05 }
 */
import { fanovaImportances } from './importance-fanova.js';
import { pedAnovaImportances } from './importance-ped-anova.js';
import { intersectionOf, isSingle } from './samplers/tpe/space.js';
import type { Distribution, FrozenTrial, StudyDirection } from './types.js';

export type ImportanceEvaluator = 'fanova' | 'ped-anova';

export interface ImportanceOptions {
  evaluator?: ImportanceEvaluator;
  /** Parameters to evaluate (default: the intersection search space of the complete trials). */
  params?: string[];
  /** fANOVA's forest seed (default 0). */
  seed?: number;
  /** PED-ANOVA's notion of "top" trials (default 'minimize'; fANOVA does not depend on it). */
  direction?: StudyDirection;
  /** fANOVA forest size (default 64, as Optuna). */
  nTrees?: number;
}

export function parameterImportances(trials: readonly FrozenTrial[], options: ImportanceOptions = {}): Record<string, number> {
  const complete = trials.filter((t) => t.state === 'COMPLETE' && t.value !== null && Number.isFinite(t.value));
  const intersection = intersectionOf(complete, ['COMPLETE']);
  const names = options.params ?? Object.keys(intersection);
  const space: Record<string, Distribution> = {};
  for (const name of names) {
    const dist = intersection[name];
    if (dist === undefined) throw new Error(`parameterImportances: parameter "${name}" is not in every complete trial with the same distribution`);
    space[name] = dist;
  }
  if (names.length === 0) return {};
  if (complete.length === 0) throw new Error('parameterImportances: no complete trials');

  const evaluated: Record<string, Distribution> = {};
  for (const name of names) if (!isSingle(space[name])) evaluated[name] = space[name];
  let raw: Record<string, number> = {};
  if (Object.keys(evaluated).length > 0) {
    if ((options.evaluator ?? 'fanova') === 'fanova') {
      raw = fanovaImportances(
        complete.map((t) => t.internalParams),
        complete.map((t) => t.value!),
        evaluated,
        { seed: options.seed ?? 0, nTrees: options.nTrees },
      );
    } else {
      raw = pedAnovaImportances(complete, evaluated, { direction: options.direction });
    }
  }
  const total = Object.values(raw).reduce((a, b) => a + b, 0);
  const normalised = names.map((name): [string, number] => {
    const value = raw[name] ?? 0;
    return [name, total > 0 ? value / total : Object.keys(evaluated).length > 0 && name in evaluated ? 1 / Object.keys(evaluated).length : 0];
  });
  normalised.sort((a, b) => b[1] - a[1]);
  return Object.fromEntries(normalised);
}
