/**
 * tracking/server/auth — optional bearer-token or HTTP basic authentication.
 *
 * Off unless configured. When on, every request except `GET /health` must carry matching
 * credentials, or gets 401 UNAUTHENTICATED in MLflow's shape with a WWW-Authenticate challenge.
 * Comparisons are constant-time (SHA-256 digests compared with timingSafeEqual, so lengths never
 * leak either), and credentials are never logged (the logger redacts the header).
 */
import { matchesSecret, secretDigest } from '../../common/secrets.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sendError } from './errors.js';

export interface AuthOptions {
  /** Accept `Authorization: Bearer <token>`. */
  token?: string;
  /** Accept `Authorization: Basic base64(username:password)`. */
  basic?: { username: string; password: string };
}

function safeEqual(presented: string, configured: string): boolean {
  return matchesSecret(presented, [secretDigest(configured)]);
}

/** The authenticated basic-auth user of a request, when there is one (for audit fields). */
const USER = Symbol('kiln.user');
type WithUser = FastifyRequest & { [USER]?: string };

export function authenticatedUser(request: FastifyRequest): string | undefined {
  return (request as WithUser)[USER];
}

function check(header: string | undefined, auth: AuthOptions): { ok: boolean; user?: string } {
  if (header === undefined) return { ok: false };
  const space = header.indexOf(' ');
  if (space < 0) return { ok: false };
  const scheme = header.slice(0, space).toLowerCase();
  const credentials = header.slice(space + 1).trim();
  if (scheme === 'bearer' && auth.token !== undefined) return { ok: safeEqual(credentials, auth.token) };
  if (scheme === 'basic' && auth.basic !== undefined) {
    const decoded = Buffer.from(credentials, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return { ok: false };
    const username = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    // Both comparisons always run, so timing does not tell which one failed.
    const userOk = safeEqual(username, auth.basic.username);
    const passOk = safeEqual(password, auth.basic.password);
    return userOk && passOk ? { ok: true, user: username } : { ok: false };
  }
  return { ok: false };
}

export function isAuthEnabled(auth: AuthOptions | undefined): auth is AuthOptions {
  return auth !== undefined && (auth.token !== undefined || auth.basic !== undefined);
}

/** Adds the authentication hook to the root instance (so it covers every route, 404s included). */
export function installAuth(app: FastifyInstance, auth: AuthOptions | undefined): void {
  if (!isAuthEnabled(auth)) return;
  if (auth.token === '') throw new Error('tracking server: the auth token must not be empty');
  const challenges = [
    ...(auth.basic !== undefined ? ['Basic realm="kiln", charset="UTF-8"'] : []),
    ...(auth.token !== undefined ? ['Bearer realm="kiln"'] : []),
  ];
  app.addHook('onRequest', async (request, reply) => {
    if (request.method === 'GET' || request.method === 'HEAD') {
      const path = request.url.split('?')[0];
      if (path === '/health') return;
    }
    const result = check(request.headers.authorization, auth);
    if (result.ok) {
      if (result.user !== undefined) (request as WithUser)[USER] = result.user;
      return;
    }
    reply.header('www-authenticate', challenges.length === 1 ? challenges[0] : challenges);
    return sendError(
      reply,
      401,
      'UNAUTHENTICATED',
      request.headers.authorization === undefined ? 'Authentication required' : 'Invalid credentials',
    );
  });
}
