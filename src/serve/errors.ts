/**
 * serve/errors — the API's client errors and how every error becomes an answer: a status and a
 * stable code, sent as `{"error": {"code", "message"}}`. A 5xx means a fault of ours and is
 * logged at error level; a client that hung up is logged at info level and answered nothing.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

export class ServeError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ServeError';
  }
}

export const badRequest = (code: string, message: string): ServeError => new ServeError(400, code, message);

/** nginx's "client closed request": nobody reads the answer, but the code must not look like our fault. */
export const CLIENT_CLOSED_STATUS = 499;

/** The client closed the connection before its answer: the work stops here. */
export class ClientGoneError extends ServeError {
  constructor(message = 'the client closed the connection before the answer') {
    super(CLIENT_CLOSED_STATUS, 'CLIENT_CLOSED_REQUEST', message);
    this.name = 'ClientGoneError';
  }
}

/** Errors Node and the body parsers raise when the client goes away mid-request. */
const ABORT_CODES = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE', 'FST_MP_PREMATURE_CLOSE']);

export function isClientAbort(error: unknown): boolean {
  if (error instanceof ClientGoneError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && ABORT_CODES.has(code);
}

export interface ErrorLimits {
  maxUploadBytes: number;
  maxJsonBytes: number;
}

interface Answer {
  status: number;
  code: string;
  message: string;
}

/** The answer to an error that is not a ServeError: Fastify's own and its parsers'. */
function answerFor(error: FastifyError, limits: ErrorLimits): Answer {
  const status = error.statusCode ?? 500;
  const code = error.code ?? 'ERROR';
  if (error.validation) return { status: 400, code: 'INVALID_REQUEST', message: error.message };
  if (status === 413 || code === 'FST_REQ_FILE_TOO_LARGE' || code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return { status: 413, code: 'PAYLOAD_TOO_LARGE', message: `the upload exceeds the limit (${limits.maxUploadBytes} bytes for images, ${limits.maxJsonBytes} for JSON): ${error.message}` };
  }
  if (status === 415) return { status, code: 'UNSUPPORTED_MEDIA_TYPE', message: error.message };
  if (error instanceof SyntaxError || code === 'FST_ERR_CTP_INVALID_JSON_BODY' || code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    return { status: 400, code: 'INVALID_JSON', message: error.message };
  }
  if (status >= 400 && status < 500) return { status, code: code.replace(/^FST_(ERR_)?/, '') || 'BAD_REQUEST', message: error.message };
  return { status: 500, code: 'INTERNAL', message: error.message };
}

/** Sets the error and not-found handlers of the whole app (a root plugin). */
const errorHandlingPlugin: FastifyPluginAsync<ErrorLimits> = async (app, limits) => {
  app.setErrorHandler((error: FastifyError | ServeError, request: FastifyRequest, reply: FastifyReply) => {
    if (isClientAbort(error)) {
      // serve/lifecycle logs the abort once, at info level, when it counts the request out.
      request.log.debug({ reason: error.message, code: error.code }, 'handler stopped: the client is gone');
      void reply.header('connection', 'close').status(CLIENT_CLOSED_STATUS).send({ error: { code: 'CLIENT_CLOSED_REQUEST', message: error.message } });
      return;
    }
    const answer = error instanceof ServeError ? { status: error.statusCode, code: error.code, message: error.message } : answerFor(error, limits);
    if (answer.status >= 500 && !(error instanceof ServeError)) request.log.error(error);
    // An answer given before the whole body was read: closing the connection beats draining the rest.
    if (!request.raw.complete) void reply.header('connection', 'close');
    void reply.status(answer.status).send({ error: { code: answer.code, message: answer.message } });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url}` } });
  });
};
export const errorHandling = fp(errorHandlingPlugin);

/**
 * Fastify's `clientErrorHandler`: HTTP that Node's parser refuses before any route sees it
 * (a header block over the size limit, a bad Content-Length, smuggling-shaped framing), answered
 * in the API's error shape with a stable code, then the connection closed.
 */
export function clientErrorHandler(this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code] =
    error.code === 'HPE_HEADER_OVERFLOW' ? [431, 'HEADERS_TOO_LARGE'] : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'REQUEST_TIMEOUT'] : [400, 'BAD_HTTP_REQUEST'];
  const body = JSON.stringify({ error: { code, message: `the HTTP request cannot be parsed: ${error.code ?? error.message}` } });
  this.log.debug({ code: error.code }, 'unparseable HTTP request refused');
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}
