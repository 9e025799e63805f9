/**
 * tune/pruners/util — small helpers shared by the pruners.
 */
import { KilnError } from '../../common/errors.js';
import type { FrozenTrial } from '../types.js';

/** The largest step a trial has reported, or undefined when it reported none (Optuna's `last_step`). */
export function lastStep(trial: FrozenTrial): number | undefined {
  let last: number | undefined;
  for (const step of trial.intermediateValues.keys()) if (last === undefined || step > last) last = step;
  return last;
}

export function invalidPrunerOption(message: string): KilnError {
  return new KilnError('KILN_ERR_INVALID_PRUNER_OPTION', message);
}

export function requireInteger(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw invalidPrunerOption(`${name} must be an integer >= ${min} (got ${String(value)})`);
}
