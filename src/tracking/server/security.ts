/**
 * tracking/server/security — what keeps a web page on another site from using a tracking server
 * it can reach (MLflow 3.5+'s security middleware, with MLflow's names):
 *
 * - DNS-rebinding protection: a request whose Host header is not allowed gets 403 (a rebound
 *   name, e.g. `attacker.example:5000` resolving to 127.0.0.1, carries the attacker's name).
 *   `/health` and `/version` stay open, as in MLflow, for probes that address the server oddly.
 * - Cross-origin writes: a POST/PUT/PATCH/DELETE (or a CORS preflight) whose Origin is neither
 *   the server's own nor allowed gets 403 before authentication, so credentials a browser holds
 *   for the server (basic auth) never authorise another site's request.
 * - CORS (@fastify/cors): allowed origins, and the server's own pages, get
 *   Access-Control-Allow-* headers; others get none, so a browser keeps answers from them.
 * - Security headers on every answer: X-Content-Type-Options: nosniff, X-Frame-Options
 *   (SAMEORIGIN by default), Cross-Origin-Resource-Policy: same-origin, Referrer-Policy.
 *
 * These hooks run before authentication (preflights carry no credentials). The JSON-only rule
 * for API writes lives with the API (api.ts): it holds even with this middleware disabled.
 */
import cors from '@fastify/cors';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from './errors.js';
import { defaultAllowedHosts, isAllowedHost, isAllowedOrigin, type XFrameOptions } from './security-policy.js';

export interface SecurityOptions {
  /** Host header patterns accepted (security-policy.ts); default: loopback names and the bound host. */
  allowedHosts?: readonly string[];
  /** Origins besides the server's own that may call the API from a browser; default none. */
  corsAllowedOrigins?: readonly string[];
  /** X-Frame-Options (and the UI's CSP frame-ancestors): SAMEORIGIN (default), DENY, or NONE (no header). */
  xFrameOptions?: XFrameOptions;
  /** MLflow's --disable-security-middleware: no Host, Origin or CORS checks and no headers. */
  disabled?: boolean;
}

/** Paths answered whatever the Host (MLflow's HEALTH_ENDPOINTS). */
const HOST_EXEMPT = new Set(['/health', '/version']);
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

export const INVALID_HOST_MESSAGE = 'Invalid Host header - possible DNS rebinding attack detected';
export const CORS_BLOCKED_MESSAGE = 'Cross-origin request blocked';

const pathOf = (request: FastifyRequest): string => (request.raw.url ?? '').split('?')[0] ?? '';

function addSecurityHeaders(reply: FastifyReply, xFrameOptions: XFrameOptions): void {
  reply.header('x-content-type-options', 'nosniff');
  reply.header('cross-origin-resource-policy', 'same-origin');
  reply.header('referrer-policy', 'no-referrer');
  if (xFrameOptions !== 'NONE') reply.header('x-frame-options', xFrameOptions);
}

function isPreflight(request: FastifyRequest): boolean {
  return request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;
}

/** Adds the hooks to the root instance; call before authentication and before any route. */
export async function installSecurity(app: FastifyInstance, options: SecurityOptions = {}): Promise<void> {
  if (options.disabled) return;
  const allowedHosts = options.allowedHosts ?? defaultAllowedHosts();
  const allowedOrigins = options.corsAllowedOrigins ?? [];
  const xFrameOptions = options.xFrameOptions ?? 'SAMEORIGIN';
  const originOk = (request: FastifyRequest, origin: string): boolean => isAllowedOrigin(allowedOrigins, origin, request.headers.host);

  app.addHook('onRequest', async (request, reply) => {
    addSecurityHeaders(reply, xFrameOptions);
    const host = request.headers.host;
    if (!HOST_EXEMPT.has(pathOf(request)) && !isAllowedHost(allowedHosts, host)) {
      request.log.warn({ host }, 'refused a request with a Host header that is not allowed');
      return sendError(reply, 403, 'PERMISSION_DENIED', `${INVALID_HOST_MESSAGE}: '${String(host ?? '').slice(0, 200)}' is not in --allowed-hosts`);
    }
    const origin = request.headers.origin;
    if (origin !== undefined && (STATE_CHANGING.has(request.method) || isPreflight(request)) && !originOk(request, origin)) {
      request.log.warn({ origin }, 'refused a cross-origin request');
      return sendError(reply, 403, 'PERMISSION_DENIED', `${CORS_BLOCKED_MESSAGE}: origin '${origin.slice(0, 200)}' is not in --cors-allowed-origins`);
    }
  });

  await app.register(cors, {
    hideOptionsRoute: true,
    delegator: (request, callback) => {
      const origin = request.headers.origin;
      callback(null, {
        origin: origin !== undefined && originOk(request, origin),
        credentials: true,
        methods: CORS_METHODS,
        allowedHeaders: ['Content-Type', 'Authorization'],
        maxAge: 600,
      });
    },
  });
}
