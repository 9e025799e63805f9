/**
 * tracking/wire — metric values on MLflow's JSON wire, shared by the server and the REST client.
 *
 * Non-finite doubles travel as the strings protobuf's JSON mapping uses ("NaN", "Infinity",
 * "-Infinity"); everything else is a plain JSON number.
 */
import { TrackingError } from './store/errors.js';
import type { Metric } from './store/types.js';

export const NON_FINITE = ['NaN', 'Infinity', '-Infinity'] as const;

/** A metric value as MLflow writes it: a number, or one of the non-finite strings. */
export function encodeValue(value: number): number | string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  return value;
}

/** The inverse of encodeValue (the schema has already admitted only numbers and the three strings). */
export function decodeValue(value: number | string): number {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return Number.NaN;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  const parsed = Number(value);
  if (value.trim() === '' || Number.isNaN(parsed)) throw new TrackingError('INVALID_PARAMETER_VALUE', `Invalid metric value '${value}'`);
  return parsed;
}

export type WireMetric = Omit<Metric, 'value'> & { value: number | string };

export function encodeMetric(metric: Metric): WireMetric {
  // Finite values are already wire-shaped: no copy (histories run to 100,000+ points).
  return Number.isFinite(metric.value) ? metric : { ...metric, value: encodeValue(metric.value) };
}

/** MLflow 3's optional metric fields (logged model, dataset, run), kept when present. */
const LINK_FIELDS = ['model_id', 'dataset_name', 'dataset_digest', 'run_id'] as const;

export function decodeMetric(metric: WireMetric): Metric {
  const decoded: Metric = { key: metric.key, value: decodeValue(metric.value), timestamp: metric.timestamp, step: metric.step ?? 0 };
  for (const field of LINK_FIELDS) {
    const value = metric[field];
    if (typeof value === 'string' && value !== '') decoded[field] = value;
  }
  return decoded;
}


