/**
 * tracking/server/wire — MLflow's JSON quirks on the way in and out.
 *
 * - Non-finite doubles travel as the strings protobuf's JSON mapping uses ("NaN", "Infinity",
 *   "-Infinity"); bare NaN / Infinity tokens (what Python's json.dumps writes) are accepted too.
 * - `null` means "absent", as protobuf's JSON parser treats it.
 * - An empty body is an empty message. A body must be `application/json` (415 otherwise, see
 *   `unsupportedContentType`): reading any Content-Type as JSON, as MLflow's server long did
 *   with `request.get_json(force=True)`, let a plain HTML form on any site post JSON to it.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { LoggedModel, LoggedModelStatus, Run, RunStatus, ViewType } from '../store/types.js';
import { TrackingError } from '../store/errors.js';

export { NON_FINITE, decodeMetric, decodeValue, encodeMetric, encodeValue, type WireMetric } from '../wire.js';
import { encodeMetric } from '../wire.js';

export function encodeRun(run: Run): unknown {
  return { ...run, data: { ...run.data, metrics: run.data.metrics.map(encodeMetric) } };
}

export function encodeLoggedModel(model: LoggedModel): unknown {
  return { ...model, data: { ...model.data, metrics: model.data.metrics.map(encodeMetric) } };
}

const LOGGED_MODEL_STATUSES: Record<number, string> = {
  0: 'LOGGED_MODEL_STATUS_UNSPECIFIED',
  1: 'LOGGED_MODEL_PENDING',
  2: 'LOGGED_MODEL_READY',
  3: 'LOGGED_MODEL_UPLOAD_FAILED',
};

/** A LoggedModelStatus by name or number (the store refuses the ones it cannot finalize to). */
export function loggedModelStatus(value: LoggedModelStatus | number | string): LoggedModelStatus {
  return (/^\d+$/.test(String(value)) ? LOGGED_MODEL_STATUSES[Number(value)] : value) as LoggedModelStatus;
}

const VIEW_TYPES: Record<number, ViewType> = { 1: 'ACTIVE_ONLY', 2: 'DELETED_ONLY', 3: 'ALL' };
const RUN_STATUSES: Record<number, RunStatus> = { 1: 'RUNNING', 2: 'SCHEDULED', 3: 'FINISHED', 4: 'FAILED', 5: 'KILLED' };

/** Protobuf enums arrive by name or by number (a query string makes the number a string). */
export function viewType(value: ViewType | number | string | undefined): ViewType | undefined {
  if (value === undefined) return undefined;
  return /^\d+$/.test(String(value)) ? VIEW_TYPES[Number(value)] : (value as ViewType);
}

export function runStatus(value: RunStatus | number | string | undefined): RunStatus | undefined {
  if (value === undefined) return undefined;
  return /^\d+$/.test(String(value)) ? RUN_STATUSES[Number(value)] : (value as RunStatus);
}

/** Removes `null` members (protobuf: null is the field's absence), recursively through objects and arrays. */
export function stripNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripNulls);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, member] of Object.entries(value)) {
      if (member !== null) out[key] = stripNulls(member);
    }
    return out;
  }
  return value;
}

/** Rewrites bare NaN / Infinity / -Infinity tokens (outside strings) into their quoted forms. */
function quoteNonFinite(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const token = text.startsWith('-Infinity', i) ? '-Infinity' : text.startsWith('Infinity', i) ? 'Infinity' : text.startsWith('NaN', i) ? 'NaN' : undefined;
    if (token !== undefined) {
      out += `"${token}"`;
      i += token.length;
      continue;
    }
    out += ch;
    i++;
  }
  return out;
}

const noProtoKeys = (key: string, value: unknown): unknown => (key === '__proto__' ? undefined : value);

/** Parses a request body: empty means {}; prototype keys are dropped; bare non-finite tokens are tolerated. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text, noProtoKeys);
  } catch (error) {
    if (/NaN|Infinity/.test(text)) {
      try {
        return JSON.parse(quoteNonFinite(text), noProtoKeys);
      } catch {
        // fall through to the original error
      }
    }
    throw new TrackingError('BAD_REQUEST', `Malformed JSON in request body: ${(error as Error).message}`);
  }
}

/** MLflow's wording (handlers.py `_validate_content_type`), with what arrived. */
export const JSON_ONLY_MESSAGE = "Bad Request. Content-Type must be one of ['application/json']";

const hasBody = (headers: IncomingHttpHeaders): boolean =>
  headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0');

/**
 * Why a state-changing API request is refused for its Content-Type, or undefined when it is
 * fine. POST and PATCH must say `application/json` (parameters such as charset allowed); a
 * DELETE may instead carry no body at all (its fields in the query string). Every type a page
 * can send cross-origin without a CORS preflight (text/plain, forms, multipart) is refused.
 */
export function unsupportedContentType(method: string, headers: IncomingHttpHeaders): string | undefined {
  if (method !== 'POST' && method !== 'PATCH' && method !== 'DELETE') return undefined;
  const type = headers['content-type'];
  if (type === undefined) {
    if (method === 'DELETE' && !hasBody(headers)) return undefined;
    return `${JSON_ONLY_MESSAGE}; the request has no Content-Type header.`;
  }
  const media = type.split(';')[0]!.trim().toLowerCase();
  if (media === 'application/json') return undefined;
  return `${JSON_ONLY_MESSAGE}; got '${type.slice(0, 100)}'.`;
}
