/**
 * tune/pruners/median — MedianPruner (Optuna's MedianPruner): the PercentilePruner at the 50th
 * percentile — prunes a trial whose best intermediate value so far is worse than the median of
 * the COMPLETE trials' values at the same step.
 */
import { PercentilePruner, type PercentilePrunerOptions } from './percentile.js';

export type MedianPrunerOptions = PercentilePrunerOptions;

export class MedianPruner extends PercentilePruner {
  constructor(options: MedianPrunerOptions = {}) {
    super(50, options);
  }
}
