/**
 * tracking/server/app — assembles the Fastify instance (see index.ts for the overview).
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { accessLog, fastifyLogging, isLogger } from '../../observability/logging.js';
import type { TrackingStore } from '../store/types.js';
import { openArtifactStorage } from './artifact-destination.js';
import { installAuth, type AuthOptions } from './auth.js';
import { mlflowApi } from './api.js';
import type { ApiContext } from './endpoint.js';
import { handleError, handleNotFound, sendError } from './errors.js';
import { createServerMetrics, installRequestMetrics, observabilityRoutes, timedStore } from './observability.js';
import { proxiedArtifactRoutes } from './routes/artifacts.js';
import { installSecurity, type SecurityOptions } from './security.js';
import { metricColumnRoutes } from './routes/metric-columns.js';
import { studyRoutes } from './routes/studies.js';
import { studyStorageRoutes } from './routes/study-storage.js';
import { DEFAULT_UI_ROOT, uiRoutes } from './ui.js';
import type { StudyReports } from '../../tune/report.js';
import type { StudyStorage } from '../../tune/types.js';

export interface TrackingServerOptions {
  store: TrackingStore;
  /** Where the proxied artifact API (`mlflow-artifacts:/…` URIs) keeps files: a folder (created if missing) or `s3://bucket/prefix`. */
  artifactsDestination: string;
  /** Host validation, cross-origin refusal, CORS and security headers (security.ts); on by default, loopback hosts only. */
  security?: SecurityOptions;
  /** Off unless a token or basic credentials are given; /health stays open. */
  auth?: AuthOptions;
  /** Fastify/pino logger: false (default), true, pino options, or a Kiln logger (tracking_log.log). Authorization headers are always redacted. */
  logger?: boolean | object;
  /** Largest JSON request body in bytes (default 16 MiB); larger → 413. */
  bodyLimit?: number;
  /** Largest artifact upload in bytes (default 1 GiB); larger → 413. */
  maxArtifactBytes?: number;
  /** Node's default process metrics on /metrics (default true). */
  defaultMetrics?: boolean;
  /** The tuner's studies, served read-only under /api/2.0/kiln/studies (absent: no study routes). */
  studies?: StudyReports;
  /**
   * The tuner's storage, served read-write under /api/2.0/kiln/study-storage for workers that
   * know only the server's URL (tune/storage/rest.ts); absent: no such routes.
   */
  studyStorage?: StudyStorage;
  /** Folder of the built web UI served at / (default dist/ui); false serves none. */
  ui?: string | false;
}

export const DEFAULT_BODY_LIMIT = 16 * 1024 * 1024;
export const DEFAULT_MAX_ARTIFACT_BYTES = 1024 * 1024 * 1024;

/** The MLflow path prefixes every API is served under (MLflow's UI calls the ajax-api one). */
export const API_PREFIXES = ['/api/2.0', '/ajax-api/2.0'] as const;

const REDACT = ['req.headers.authorization', 'req.headers.cookie', 'req.headers["proxy-authorization"]'];

function loggerOption(logger: boolean | object | undefined): FastifyServerOptions['logger'] {
  if (logger === undefined || logger === false) return false;
  const base = (logger === true ? { level: 'info' } : logger) as Record<string, unknown>;
  const redact = Array.isArray(base.redact) ? [...REDACT, ...(base.redact as string[])] : (base.redact ?? REDACT);
  return { ...base, redact } as FastifyServerOptions['logger'];
}

/** Builds the tracking server (routes registered, not listening: call `listen({ host, port })`). */
export async function createTrackingServer(options: TrackingServerOptions): Promise<FastifyInstance> {
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const maxArtifactBytes = options.maxArtifactBytes ?? DEFAULT_MAX_ARTIFACT_BYTES;
  const storage = await openArtifactStorage(options.artifactsDestination);
  const metrics = createServerMetrics({ defaultMetrics: options.defaultMetrics });

  const app = Fastify({
    ...(isLogger(options.logger) ? fastifyLogging(options.logger) : { logger: loggerOption(options.logger) }),
    bodyLimit,
    return503OnClosing: true,
    frameworkErrors: (error, _request, reply) => {
      sendError(reply, 400, 'BAD_REQUEST', error.message);
    },
  }) as unknown as FastifyInstance;

  app.addHook('onClose', () => storage.close());
  if (isLogger(options.logger)) app.addHook('onResponse', accessLog);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler(handleNotFound);
  installRequestMetrics(app, metrics);
  // Before authentication: a forged request is refused whatever credentials the browser holds.
  await installSecurity(app, options.security);
  installAuth(app, options.auth);

  const store = timedStore(options.store, metrics.storeDuration);
  const context: ApiContext = { store, storage, metrics, maxArtifactBytes };
  await app.register(observabilityRoutes, { metrics, store });
  for (const prefix of API_PREFIXES) {
    await app.register(mlflowApi, { ...context, bodyLimit, prefix: `${prefix}/mlflow` });
    await app.register(proxiedArtifactRoutes, { ...context, prefix: `${prefix}/mlflow-artifacts` });
    await app.register(metricColumnRoutes, { ...context, prefix: `${prefix}/kiln` });
    if (options.studies) await app.register(studyRoutes, { studies: options.studies, prefix: `${prefix}/kiln` });
    if (options.studyStorage) await app.register(studyStorageRoutes, { storage: options.studyStorage, prefix: `${prefix}/kiln/study-storage` });
  }
  if (options.ui !== false) {
    const frames = options.security?.disabled ? 'NONE' : (options.security?.xFrameOptions ?? 'SAMEORIGIN');
    await app.register(uiRoutes, { root: options.ui ?? DEFAULT_UI_ROOT, frameAncestors: frames });
  }
  return app;
}
