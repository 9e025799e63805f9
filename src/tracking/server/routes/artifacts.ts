/**
 * tracking/server/routes/artifacts — artifact endpoints.
 *
 * - `trackingArtifactRoutes` (under /api/2.0/mlflow): `GET artifacts/list?run_id&path` lists a
 *   run's artifacts. Runs here carry `mlflow-artifacts:/<experiment>/<run>/artifacts` URIs,
 *   which map to `<artifactsDestination>/<experiment>/<run>/artifacts`; paths in the answer
 *   are relative to the run's root, as MLflow answers.
 * - `proxiedArtifactRoutes` (under /api/2.0/mlflow-artifacts): MLflow's proxied artifact API —
 *   `PUT artifacts/<path>` streams an upload to disk, `GET artifacts/<path>` streams it back,
 *   `DELETE artifacts/<path>` removes it, `GET artifacts?path=` lists one folder (basenames).
 *   The path is taken from the raw URL and decoded once per segment, so no encoded variant of
 *   `..`, `/` or `\` can slip through a decoder.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { TrackingError } from '../../store/errors.js';
import { contentType, PayloadTooLargeError, safeSegments } from '../artifact-storage.js';
import { endpoint, type ApiContext } from '../endpoint.js';
import { sendError } from '../errors.js';
import { schemas } from '../schemas.js';

const PROXY_SCHEME = 'mlflow-artifacts:';

/** Segments below the artifact destination that a `mlflow-artifacts:` URI names. */
export function proxiedSegments(uri: string): string[] {
  if (!uri.startsWith(PROXY_SCHEME)) {
    throw new TrackingError(
      'INVALID_PARAMETER_VALUE',
      `Listing artifacts through the server needs a ${PROXY_SCHEME} artifact URI, not '${uri}'`,
    );
  }
  let path = uri.slice(PROXY_SCHEME.length);
  if (path.startsWith('//')) {
    const slash = path.indexOf('/', 2);
    path = slash < 0 ? '' : path.slice(slash);
  }
  return safeSegments(path.replace(/^\/+/, ''), false);
}

export const trackingArtifactRoutes: FastifyPluginAsync<ApiContext> = async (app, { store, storage }) => {
  endpoint<{ run_id: string; path?: string; page_token?: string }>(app, 'GET', '/artifacts/list', schemas.listArtifacts, async (m) => {
    const relative = safeSegments(m.path ?? '', false);
    const run = await store.getRun(m.run_id);
    const root = run.info.artifact_uri;
    const files = await storage.list([...proxiedSegments(root), ...relative], relative.join('/'));
    return { root_uri: root, files };
  });
};

const MARKER = '/mlflow-artifacts/artifacts/';

/** The still-encoded artifact path of a request, straight from the request line. */
function rawArtifactPath(request: FastifyRequest): string {
  const path = (request.raw.url ?? '').split('?')[0] ?? '';
  const at = path.indexOf(MARKER);
  if (at < 0) throw new TrackingError('INVALID_PARAMETER_VALUE', 'Invalid artifact path');
  return path.slice(at + MARKER.length);
}

/** Past this many unread bytes the connection is closed rather than drained. */
const MAX_DRAIN = 16 * 1024 * 1024;

function tooLarge(request: FastifyRequest, reply: FastifyReply, limit: number): FastifyReply {
  const declared = Number(request.headers['content-length']);
  if (!Number.isFinite(declared) || declared - limit > MAX_DRAIN) reply.header('connection', 'close');
  return sendError(reply, 413, 'BAD_REQUEST', `Artifact is larger than the limit of ${limit} bytes`);
}

export const proxiedArtifactRoutes: FastifyPluginAsync<ApiContext> = async (app, { storage, metrics, maxArtifactBytes }) => {
  // Uploads are raw bytes of any type (MLflow sends the file's guessed MIME type): hand the
  // stream to the handler instead of parsing it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  app.get('/artifacts', { schema: { querystring: schemas.listProxiedArtifacts } }, async (request) => {
    const { path } = request.query as { path?: string };
    return { files: await storage.list(safeSegments(path ?? '', false)) };
  });

  app.put('/artifacts/*', async (request, reply) => {
    const segments = safeSegments(rawArtifactPath(request), true);
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxArtifactBytes) return tooLarge(request, reply, maxArtifactBytes);
    const source = (request.body as Readable | undefined) ?? request.raw;
    try {
      const bytes = await storage.write(segments, source, maxArtifactBytes);
      metrics.artifactBytesUploaded.inc(bytes);
    } catch (error) {
      if (error instanceof PayloadTooLargeError) return tooLarge(request, reply, maxArtifactBytes);
      throw error;
    }
    return {};
  });

  app.get('/artifacts/*', async (request, reply) => {
    const segments = safeSegments(rawArtifactPath(request), true);
    const file = await storage.read(segments);
    const name = segments[segments.length - 1] ?? 'artifact';
    return reply
      .type(contentType(file.path))
      .header('content-length', file.size)
      .header('x-content-type-options', 'nosniff')
      .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(name)}`)
      .send(file.stream);
  });

  app.delete('/artifacts/*', async (request) => {
    await storage.delete(safeSegments(rawArtifactPath(request), true));
    return {};
  });
};
