/**
 * serve/access — who may call the API and how often: optional API keys, optional per-client rate
 * limiting, and CORS. Health, readiness, metrics, the home page and the docs stay open, so that
 * orchestrators, Prometheus and people can always reach them; everything that runs a model obeys
 * the rules.
 *
 *   registerAccess(app, { apiKeys: ['s3cret'], rateLimit: { max: 600, windowMs: 60_000 }, corsOrigins: ['https://app.example'] });
 *   // POST /predict with `Authorization: Bearer s3cret` or `X-API-Key: s3cret`
 */
import cors from '@fastify/cors';
import { matchesSecret, secretDigest } from '../common/secrets.js';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ServeError } from './errors.js';

export interface AccessOptions {
  /** Accepted API keys; empty or absent: no authentication. */
  apiKeys?: readonly string[];
  /** At most `max` requests per client (API key, else IP) per `windowMs`; absent: unlimited. */
  rateLimit?: { max: number; windowMs: number };
  /** Origins allowed by CORS: ['*'] (the default, as the seed's API), a list, or [] for none. */
  corsOrigins?: readonly string[];
}

/** Routes that never need a key and are never rate limited. */
const OPEN_ROUTES = new Set(['/health', '/ready', '/metrics', '/v2/health/live', '/v2/health/ready', '/']);

const isOpen = (request: FastifyRequest): boolean => {
  const route = request.routeOptions.url;
  return route === undefined || OPEN_ROUTES.has(route) || route.startsWith('/docs');
};


function presentedKey(request: FastifyRequest): string | null {
  const header = request.headers['x-api-key'];
  if (typeof header === 'string' && header !== '') return header;
  const authorization = request.headers.authorization;
  const match = authorization ? /^Bearer\s+(.+)$/i.exec(authorization) : null;
  return match ? match[1]!.trim() : null;
}

/** Adds the rules to `app` (the root instance, before its routes: they apply to every route). */
export function registerAccess(app: FastifyInstance, options: AccessOptions): void {
  const origins = options.corsOrigins ?? ['*'];
  if (origins.length > 0) {
    void app.register(cors, { origin: origins.includes('*') ? '*' : [...origins], methods: ['GET', 'POST', 'OPTIONS'], allowedHeaders: ['Content-Type', 'Authorization', 'X-API-Key'] });
  }

  const keys = (options.apiKeys ?? []).filter((key) => key !== '').map(secretDigest);
  if (keys.length > 0) {
    app.addHook('onRequest', async (request, reply) => {
      if (request.method === 'OPTIONS' || isOpen(request)) return;
      const key = presentedKey(request);
      if (key === null) {
        void reply.header('www-authenticate', 'Bearer');
        throw new ServeError(401, 'UNAUTHORIZED', 'this API needs a key: send `Authorization: Bearer <key>` or `X-API-Key: <key>`');
      }
      if (!matchesSecret(key, keys)) {
        void reply.header('www-authenticate', 'Bearer error="invalid_token"');
        throw new ServeError(401, 'UNAUTHORIZED', 'the API key is not valid');
      }
    });
  }

  if (options.rateLimit) {
    const { max, windowMs } = options.rateLimit;
    void app.register(rateLimit, {
      global: true,
      max,
      timeWindow: windowMs,
      allowList: (request) => isOpen(request),
      // One budget per key when keys are in use (many clients may share a proxy's IP), else per IP.
      keyGenerator: (request) => {
        const key = presentedKey(request);
        return key ? `key:${secretDigest(key).toString('hex')}` : `ip:${request.ip}`;
      },
      errorResponseBuilder: (_request, context) =>
        new ServeError(429, 'RATE_LIMITED', `at most ${context.max} requests per ${Math.round(windowMs / 1000)} s; retry in ${Math.ceil(context.ttl / 1000)} s`),
    });
  }
}

/** registerAccess as a root plugin, so that it takes its place in the app's plugin order. */
const accessRules: FastifyPluginAsync<AccessOptions> = async (app, options) => registerAccess(app, options);
export const accessPlugin = fp(accessRules);
