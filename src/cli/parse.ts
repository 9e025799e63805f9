/**
 * cli/parse — flag value parsers that fail with an error naming the flag.
 */
import { InvalidHyperparameterError } from '../common/errors.js';

export function parseNumber(field: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new InvalidHyperparameterError(field, `expected a number, got "${text}"`);
  return value;
}

export function parseInteger(field: string, text: string): number {
  const value = parseNumber(field, text);
  if (!Number.isInteger(value)) throw new InvalidHyperparameterError(field, `expected an integer, got "${text}"`);
  return value;
}

/** "128,64,32" → [128, 64, 32]; an empty string is an empty list. */
export function parseIntegerList(field: string, text: string): number[] {
  if (text.trim() === '') return [];
  return text.split(',').map((part, i) => parseInteger(`${field}[${i}]`, part.trim()));
}

/** "600/60" → 600 requests per 60 s; undefined or "" → no limit. */
export function parseRateLimit(text: string | undefined): { max: number; windowMs: number } | undefined {
  if (text === undefined || text === '') return undefined;
  const match = /^(\d+)\/(\d+(?:\.\d+)?)s?$/.exec(text.trim());
  if (!match || Number(match[1]) < 1 || Number(match[2]) <= 0) throw new InvalidHyperparameterError('rate-limit', `expected <max>/<seconds> like 600/60, got ${text}`);
  return { max: Number(match[1]), windowMs: Number(match[2]) * 1000 };
}
