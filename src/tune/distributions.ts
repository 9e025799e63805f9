/**
 * tune/distributions — constructing, validating and converting parameter distributions
 * (Optuna's FloatDistribution, IntDistribution, CategoricalDistribution).
 *
 * Internal values are what samplers and storage see: floats and ints are themselves, a
 * categorical choice is its index in `choices`. External values are what the objective gets.
 *
 * @example
 * const lr = floatDistribution(1e-5, 1e-1, { log: true });
 * const units = intDistribution(16, 256, { step: 16 });
 * const act = categoricalDistribution(['relu', 'tanh']);
 * toExternal(act, 1); // 'tanh'
 */
import { IncompatibleDistributionError, InvalidDistributionError } from './errors.js';
import type {
  CategoricalChoice,
  CategoricalDistribution,
  Distribution,
  FloatDistribution,
  IntDistribution,
} from './types.js';

const EPS = 1e-8;

function checkFinite(name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidDistributionError(`the \`${name}\` value must be a finite number (got ${String(value)})`);
  }
}

/** Rounds away floating-point noise from `low + k * step` (so 0.1 + 3 * 0.1 is 0.4). */
function onGrid(low: number, k: number, step: number): number {
  const value = low + k * step;
  return Number(value.toPrecision(15));
}

/**
 * A float distribution on [low, high]. With `step`, values are low, low + step, …; `high` is
 * lowered onto that grid when (high - low) is not a multiple of step (Optuna does the same, with
 * a warning). `log` and `step` are exclusive; `log` needs low > 0.
 */
export function floatDistribution(low: number, high: number, options: { log?: boolean; step?: number | null } = {}): FloatDistribution {
  const log = options.log ?? false;
  const step = options.step ?? null;
  checkFinite('low', low);
  checkFinite('high', high);
  if (log && step !== null) throw new InvalidDistributionError('the `step` option is not supported when `log` is true');
  if (step !== null && !(Number.isFinite(step) && step > 0)) {
    throw new InvalidDistributionError(`the \`step\` value must be a positive number, but step=${step}`);
  }
  if (low > high) throw new InvalidDistributionError(`the \`low\` value must be smaller than or equal to the \`high\` value (low=${low}, high=${high})`);
  if (log && low <= 0) throw new InvalidDistributionError(`the \`low\` value must be larger than 0 for a log distribution (low=${low}, high=${high})`);
  let adjustedHigh = high;
  if (step !== null) {
    const n = (high - low) / step;
    if (Math.abs(n - Math.round(n)) > EPS) adjustedHigh = onGrid(low, Math.floor(n), step);
    else adjustedHigh = onGrid(low, Math.round(n), step);
    if (Math.abs(adjustedHigh - high) <= EPS * Math.max(1, Math.abs(high))) adjustedHigh = high;
  }
  return { type: 'float', low, high: adjustedHigh, log, step };
}

/**
 * An integer distribution on [low, high] with `step` (default 1); `high` is lowered onto the
 * step grid when needed. `log` needs low >= 1 and step 1.
 */
export function intDistribution(low: number, high: number, options: { log?: boolean; step?: number } = {}): IntDistribution {
  const log = options.log ?? false;
  const step = options.step ?? 1;
  for (const [name, value] of [['low', low], ['high', high], ['step', step]] as const) {
    if (!Number.isSafeInteger(value)) throw new InvalidDistributionError(`the \`${name}\` value must be an integer (got ${String(value)})`);
  }
  if (log && step !== 1) throw new InvalidDistributionError('`step` must be 1 when `log` is true');
  if (step <= 0) throw new InvalidDistributionError(`the \`step\` value must be a positive integer, but step=${step}`);
  if (low > high) throw new InvalidDistributionError(`the \`low\` value must be smaller than or equal to the \`high\` value (low=${low}, high=${high})`);
  if (log && low < 1) throw new InvalidDistributionError(`the \`low\` value must be equal to or greater than 1 for a log distribution (low=${low}, high=${high})`);
  const adjustedHigh = low + Math.floor((high - low) / step) * step;
  return { type: 'int', low, high: adjustedHigh, log, step };
}

/** A choice among `choices` (non-empty; string, number, boolean or null). */
export function categoricalDistribution<T extends CategoricalChoice>(choices: readonly T[]): CategoricalDistribution {
  if (!Array.isArray(choices) || choices.length === 0) {
    throw new InvalidDistributionError('the `choices` must contain one or more elements');
  }
  for (const choice of choices) {
    const kind = typeof choice;
    if (!(choice === null || kind === 'string' || kind === 'number' || kind === 'boolean')) {
      throw new InvalidDistributionError(`choices must be strings, numbers, booleans or null (got ${kind})`);
    }
  }
  return { type: 'categorical', choices: [...choices] };
}

function sameChoice(a: CategoricalChoice, b: CategoricalChoice): boolean {
  return a === b || (typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b));
}

/** The internal (numeric) value of an external value; throws for a choice not in `choices`. */
export function toInternal(distribution: Distribution, value: CategoricalChoice): number {
  if (distribution.type === 'categorical') {
    const index = distribution.choices.findIndex((choice) => sameChoice(choice, value));
    if (index < 0) {
      throw new InvalidDistributionError(`${JSON.stringify(value)} is not one of the choices ${JSON.stringify(distribution.choices)}`);
    }
    return index;
  }
  if (typeof value !== 'number') {
    throw new InvalidDistributionError(`a ${distribution.type} parameter needs a number (got ${JSON.stringify(value)})`);
  }
  return value;
}

/** The external value of an internal one: the choice for categoricals, an integer for ints. */
export function toExternal(distribution: Distribution, internal: number): CategoricalChoice {
  switch (distribution.type) {
    case 'categorical': {
      const index = Math.round(internal);
      if (!(index >= 0 && index < distribution.choices.length)) {
        throw new InvalidDistributionError(`categorical index ${internal} is out of range (0..${distribution.choices.length - 1})`);
      }
      return distribution.choices[index];
    }
    case 'int':
      return Math.round(internal);
    case 'float':
      return internal;
  }
}

/** Whether an internal value lies in the distribution (on its step grid, for stepped ones). */
export function contains(distribution: Distribution, internal: number): boolean {
  if (typeof internal !== 'number' || Number.isNaN(internal)) return false;
  switch (distribution.type) {
    case 'categorical':
      return Number.isInteger(internal) && internal >= 0 && internal < distribution.choices.length;
    case 'int':
      return Number.isInteger(internal) && internal >= distribution.low && internal <= distribution.high && (internal - distribution.low) % distribution.step === 0;
    case 'float': {
      if (internal < distribution.low || internal > distribution.high) return false;
      if (distribution.step === null) return true;
      const k = (internal - distribution.low) / distribution.step;
      return Math.abs(k - Math.round(k)) < EPS;
    }
  }
}

/** Whether the distribution has exactly one value (so nothing needs sampling). */
export function isSingle(distribution: Distribution): boolean {
  switch (distribution.type) {
    case 'categorical':
      return distribution.choices.length === 1;
    case 'int':
      return distribution.low === distribution.high || (!distribution.log && distribution.high - distribution.low < distribution.step);
    case 'float':
      if (distribution.low === distribution.high) return true;
      return distribution.step !== null && distribution.high - distribution.low < distribution.step * (1 - EPS);
  }
}

/** The internal value of a single-valued distribution (low, or choice 0). */
export function singleInternalValue(distribution: Distribution): number {
  return distribution.type === 'categorical' ? 0 : distribution.low;
}

/** Structural equality of two distributions (what Optuna's `==` compares). */
export function distributionsEqual(a: Distribution, b: Distribution): boolean {
  if (a.type !== b.type) return false;
  if (a.type === 'categorical') {
    const other = b as CategoricalDistribution;
    return a.choices.length === other.choices.length && a.choices.every((choice, i) => sameChoice(choice, other.choices[i]));
  }
  const other = b as FloatDistribution | IntDistribution;
  return a.low === other.low && a.high === other.high && a.log === other.log && a.step === other.step;
}

/**
 * Throws IncompatibleDistributionError (naming `param`) when a parameter already suggested with
 * `previous` is suggested again with `next` of another kind, another log setting, or other
 * categorical choices — Optuna's `check_distribution_compatibility`. Other differences (bounds,
 * step) are allowed.
 */
export function checkDistributionCompatibility(param: string, previous: Distribution, next: Distribution): void {
  if (previous.type !== next.type) {
    throw new IncompatibleDistributionError(param, `cannot set a ${next.type} distribution: it was suggested before as ${previous.type}`);
  }
  if (previous.type !== 'categorical' && previous.log !== (next as FloatDistribution | IntDistribution).log) {
    throw new IncompatibleDistributionError(param, 'cannot set a different log configuration to the same parameter name');
  }
  if (previous.type === 'categorical' && !distributionsEqual(previous, next)) {
    throw new IncompatibleDistributionError(param, 'a categorical distribution does not support a dynamic value space (the choices differ from an earlier suggestion)');
  }
}

/** A short description of a distribution for messages. */
export function describeDistribution(distribution: Distribution): string {
  switch (distribution.type) {
    case 'categorical':
      return `categorical(${JSON.stringify(distribution.choices)})`;
    case 'int':
      return `int(${distribution.low}, ${distribution.high}${distribution.log ? ', log' : ''}${distribution.step !== 1 ? `, step=${distribution.step}` : ''})`;
    case 'float':
      return `float(${distribution.low}, ${distribution.high}${distribution.log ? ', log' : ''}${distribution.step !== null ? `, step=${distribution.step}` : ''})`;
  }
}
