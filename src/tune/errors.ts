/**
 * tune/errors — the tuner's coded errors and its one control-flow exception, TrialPruned.
 */
import { KilnError } from '../common/errors.js';

/**
 * Thrown by an objective to stop its trial early (Optuna's `TrialPruned`): the study records the
 * trial as PRUNED, with its last reported intermediate value as its value.
 *
 * @example
 * if (await trial.shouldPrune()) throw new TrialPruned();
 */
export class TrialPruned extends KilnError {
  constructor(message = 'trial was pruned') {
    super('KILN_ERR_TRIAL_PRUNED', message);
    this.name = 'TrialPruned';
  }
}

/** A distribution constructed with invalid bounds or options. */
export class InvalidDistributionError extends KilnError {
  constructor(message: string) {
    super('KILN_ERR_INVALID_DISTRIBUTION', message);
    this.name = 'InvalidDistributionError';
  }
}

/** A parameter suggested again with a distribution of another kind (Optuna raises the same). */
export class IncompatibleDistributionError extends KilnError {
  readonly param: string;

  constructor(param: string, message: string) {
    super('KILN_ERR_INCOMPATIBLE_DISTRIBUTION', `parameter "${param}": ${message}`);
    this.name = 'IncompatibleDistributionError';
    this.param = param;
  }
}

/** A write to a trial that has already finished (COMPLETE, PRUNED or FAIL). */
export class TrialFinishedError extends KilnError {
  constructor(message: string) {
    super('KILN_ERR_TRIAL_FINISHED', message);
    this.name = 'TrialFinishedError';
  }
}

/** Study look-ups and creation conflicts, and other misuse of the study API. */
export class StudyError extends KilnError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = 'StudyError';
  }
}

/** Emits a process warning once per distinct message (Optuna logs these as warnings). */
const warned = new Set<string>();
export function warnOnce(message: string): void {
  if (warned.has(message)) return;
  if (warned.size > 1000) warned.clear();
  warned.add(message);
  process.emitWarning(message, 'KilnTuneWarning');
}
