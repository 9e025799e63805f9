/**
 * tune/storage/wire — studies and trials on the JSON wire of the tracking server's study-storage
 * API, shared by the server's routes (tracking/server/routes/study-storage.ts) and the client
 * (rest.ts), so that the two can never disagree on a field.
 *
 * Field names are snake_case as in the rest of the MLflow-shaped API. Non-finite numbers (a NaN
 * intermediate value, an infinite objective value) travel as protobuf's JSON strings "NaN",
 * "Infinity", "-Infinity"; a trial's intermediate values are [step, value] pairs in step order;
 * attribute values are plain JSON, as the SQL storage keeps them.
 */
import { KilnError } from '../../common/errors.js';
import { IncompatibleDistributionError, StudyError, TrialFinishedError } from '../errors.js';
import type { CategoricalChoice, Distribution, FrozenTrial, StudyDirection, StudySummary, TrialState } from '../types.js';

/** A double as JSON allows: a number, or one of the non-finite strings. */
export type WireNumber = number | 'NaN' | 'Infinity' | '-Infinity';

export interface WireStudy {
  study_id: number;
  study_name: string;
  direction: StudyDirection;
  user_attrs: Record<string, unknown>;
  system_attrs: Record<string, unknown>;
}

export interface WireTrial {
  trial_id: number;
  number: number;
  state: TrialState;
  value: WireNumber | null;
  params: Record<string, CategoricalChoice>;
  internal_params: Record<string, number>;
  distributions: Record<string, Distribution>;
  intermediate_values: Array<[number, WireNumber]>;
  user_attrs: Record<string, unknown>;
  system_attrs: Record<string, unknown>;
  datetime_start: number | null;
  datetime_complete: number | null;
}

export function encodeNumber(value: number): WireNumber {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  return value;
}

export function decodeNumber(value: WireNumber | string): number {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return Number.NaN;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  return Number(value);
}

export function encodeStudy(summary: StudySummary): WireStudy {
  return { study_id: summary.studyId, study_name: summary.name, direction: summary.direction, user_attrs: summary.userAttrs, system_attrs: summary.systemAttrs };
}

export function decodeStudy(wire: WireStudy): StudySummary {
  return { studyId: wire.study_id, name: wire.study_name, direction: wire.direction, userAttrs: wire.user_attrs ?? {}, systemAttrs: wire.system_attrs ?? {} };
}

export function encodeTrial(trial: FrozenTrial): WireTrial {
  return {
    trial_id: trial.trialId,
    number: trial.number,
    state: trial.state,
    value: trial.value === null ? null : encodeNumber(trial.value),
    params: trial.params,
    internal_params: trial.internalParams,
    distributions: trial.distributions,
    intermediate_values: [...trial.intermediateValues].sort(([a], [b]) => a - b).map(([step, value]) => [step, encodeNumber(value)]),
    user_attrs: trial.userAttrs,
    system_attrs: trial.systemAttrs,
    datetime_start: trial.datetimeStart,
    datetime_complete: trial.datetimeComplete,
  };
}

export function decodeTrial(wire: WireTrial): FrozenTrial {
  return {
    trialId: wire.trial_id,
    number: wire.number,
    state: wire.state,
    value: wire.value === null || wire.value === undefined ? null : decodeNumber(wire.value),
    params: wire.params ?? {},
    internalParams: wire.internal_params ?? {},
    distributions: wire.distributions ?? {},
    intermediateValues: new Map((wire.intermediate_values ?? []).map(([step, value]) => [step, decodeNumber(value)])),
    userAttrs: wire.user_attrs ?? {},
    systemAttrs: wire.system_attrs ?? {},
    datetimeStart: wire.datetime_start ?? null,
    datetimeComplete: wire.datetime_complete ?? null,
  };
}

/**
 * The tuner's own error for a `kiln_error_code` the server answered with, so that a caller sees
 * the same class (and code) over HTTP as against a database.
 */
export function restoreStudyError(code: string, message: string): KilnError {
  switch (code) {
    case 'KILN_ERR_TRIAL_FINISHED':
      return new TrialFinishedError(message);
    case 'KILN_ERR_INCOMPATIBLE_DISTRIBUTION': {
      const param = /^parameter "(.*?)": /.exec(message)?.[1] ?? '';
      const error = new IncompatibleDistributionError(param, '');
      error.message = message;
      return error;
    }
    case 'KILN_ERR_DUPLICATED_STUDY':
    case 'KILN_ERR_STUDY_NOT_FOUND':
    case 'KILN_ERR_INVALID_STUDY_NAME':
    case 'KILN_ERR_INVALID_DIRECTION':
      return new StudyError(code, message);
    default:
      return new KilnError(code, message);
  }
}
