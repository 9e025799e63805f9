/**
 * tracking/server/ui — serves the built web UI (src/ui/app, built by `npm run build` into
 * dist/ui) at `/`. The UI routes on the URL hash, so the server only needs index.html and the
 * hashed files under /assets; everything is local (no CDN), and a strict CSP keeps it so.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `npm run build` puts the UI, seen from dist/src/tracking/server/. */
export const DEFAULT_UI_ROOT = fileURLToPath(new URL('../../../ui/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

// Inline style attributes are set by uPlot and the virtual table; scripts only from this origin.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'";

/** CSP frame-ancestors, which browsers obey over X-Frame-Options: the same policy in CSP's words. */
const FRAME_ANCESTORS: Record<UiOptions['frameAncestors'], string> = {
  SAMEORIGIN: "; frame-ancestors 'self'",
  DENY: "; frame-ancestors 'none'",
  NONE: '',
};

export interface UiOptions {
  root: string;
  /** Who may frame the UI, as the server's --x-frame-options says. */
  frameAncestors: 'SAMEORIGIN' | 'DENY' | 'NONE';
}

async function sendFile(reply: FastifyReply, path: string, cache: string): Promise<FastifyReply> {
  const info = await stat(path);
  return reply
    .type(TYPES[extname(path)] ?? 'application/octet-stream')
    .header('content-length', info.size)
    .header('cache-control', cache)
    .header('x-content-type-options', 'nosniff')
    .send(createReadStream(path));
}

export const uiRoutes: FastifyPluginAsync<UiOptions> = async (app, { root, frameAncestors }) => {
  const csp = CSP + FRAME_ANCESTORS[frameAncestors];
  const base = resolve(root);
  const index = join(base, 'index.html');
  const page = async (_request: unknown, reply: FastifyReply): Promise<FastifyReply> => {
    if (!existsSync(index)) {
      return reply.code(503).type('text/plain; charset=utf-8').send(`Kiln's web UI is not built (no ${index}): run npm run build.\n`);
    }
    return sendFile(reply.header('content-security-policy', csp).header('referrer-policy', 'no-referrer'), index, 'no-cache');
  };
  app.get('/', page);
  app.get('/index.html', page);
  app.get('/ui', page);
  // Browsers ask for it whatever the page links; the build copies it from src/ui/app/public.
  app.get('/favicon.ico', async (_request, reply) => {
    const icon = join(base, 'favicon.ico');
    return existsSync(icon) ? sendFile(reply, icon, 'public, max-age=86400') : reply.callNotFound();
  });
  app.get('/assets/*', async (request, reply) => {
    const rest = (request.params as { '*': string })['*'];
    const path = resolve(base, 'assets', rest);
    // Only plain file names inside assets/ (the build writes no folders there).
    if (!path.startsWith(join(base, 'assets') + sep) || rest.includes('..') || !existsSync(path)) {
      return reply.callNotFound();
    }
    // File names carry a content hash, so they never change.
    return sendFile(reply, path, 'public, max-age=31536000, immutable');
  });
};
