/**
 * tracking/server/errors — every failure answered in MLflow's shape, `{"error_code", "message"}`.
 *
 * TrackingError carries its own status; Ajv validation errors become 400 INVALID_PARAMETER_VALUE
 * with MLflow's wording; Fastify's own 4xx (malformed JSON, body too large, bad URL) keep their
 * status with BAD_REQUEST; anything else is 500 INTERNAL_ERROR with no detail leaked.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { TrackingError, type TrackingErrorCode } from '../store/errors.js';

export interface ErrorBody {
  error_code: TrackingErrorCode;
  message: string;
}

interface AjvError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

/** "/metrics/0/value" → "metrics[0].value" */
function parameterPath(instancePath: string, member?: string): string {
  const parts = instancePath.split('/').filter((p) => p !== '');
  if (member !== undefined) parts.push(member);
  return parts.reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path === '' ? part : `${path}.${part}`), '');
}

const allowed = (error: AjvError): string => [...new Set((error.params.allowedValues as unknown[]).map(String))].join(', ');

const missing = (path: string): string =>
  `Missing value for required parameter '${path}'. See the API docs for more information about request parameters.`;

/** MLflow's wording for the first schema violation. */
export function validationMessage(errors: AjvError[]): string {
  const first = errors[0];
  if (first === undefined) return 'Invalid request';
  if (first.keyword === 'required') return missing(parameterPath(first.instancePath, String(first.params.missingProperty)));
  const path = parameterPath(first.instancePath);
  if (first.keyword === 'minLength' && first.params.limit === 1) return missing(path);
  if (path === '') return `Invalid request: the message ${first.message ?? 'is malformed'}`;
  // anyOf reports each branch first; say what would have been accepted.
  const anyOf = errors.find((e) => e.keyword === 'anyOf' && e.instancePath === first.instancePath);
  const reason = anyOf
    ? errors
        .filter((e) => e.instancePath === first.instancePath && e.keyword !== 'anyOf')
        .map((e) => (e.keyword === 'enum' ? `one of ${allowed(e)}` : e.message))
        .join(' or ')
    : first.keyword === 'enum'
      ? `must be one of ${allowed(first)}`
      : (first.message ?? 'is invalid');
  return `Invalid value for parameter '${path}' supplied: ${reason}`;
}

export function sendError(reply: FastifyReply, status: number, code: TrackingErrorCode, message: string): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send({ error_code: code, message } satisfies ErrorBody);
}

/** Fastify error handler for the whole server. */
export function handleError(error: FastifyError | TrackingError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof TrackingError) {
    if (error.httpStatus >= 500) request.log.error({ err: error }, 'tracking store error');
    return sendError(reply, error.httpStatus, error.errorCode, error.message);
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    return sendError(reply, 400, 'INVALID_PARAMETER_VALUE', validationMessage(fastifyError.validation as unknown as AjvError[]));
  }
  const status = fastifyError.statusCode;
  if (status === 413 || fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return sendError(reply, 413, 'BAD_REQUEST', 'Request body is larger than the server accepts');
  }
  if (status !== undefined && status >= 400 && status < 500) {
    return sendError(reply, status, 'BAD_REQUEST', fastifyError.message);
  }
  request.log.error({ err: error }, 'internal error');
  return sendError(reply, 500, 'INTERNAL_ERROR', 'Internal server error');
}

export function handleNotFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = request.url.split('?')[0] ?? '';
  return sendError(reply, 404, 'ENDPOINT_NOT_FOUND', `No API endpoint for ${request.method} ${path.slice(0, 200)}`);
}
