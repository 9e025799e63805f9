/**
 * tune/pruners/nop — NopPruner, which never prunes (Optuna's NopPruner).
 */
import type { FrozenTrial, Pruner, StudyView } from '../types.js';

export class NopPruner implements Pruner {
  prune(_study: StudyView, _trial: FrozenTrial): boolean {
    return false;
  }
}
