/**
 * tracking/server — Kiln's tracking server and model registry, speaking MLflow's REST API 2.0.
 *
 * Existing MLflow clients (Python `mlflow`, the MLflow UI's ajax calls) and Kiln's own RestStore
 * talk to it unchanged. It is a Fastify app over any TrackingStore (SQLite or PostgreSQL), with
 * one plugin per concern and the request JSON schemas (schemas.ts) as the single source of
 * validation.
 *
 * Usage
 *   const app = await createTrackingServer({ store, artifactsDestination: './artifacts' });
 *   await app.listen({ host: '127.0.0.1', port: 5000 });
 * or, opening the store from a URI and closing it with the server:
 *   const app = await startTrackingServer({ backendStoreUri: 'sqlite:///kiln.db', artifactsDestination: './artifacts' });
 *
 * Routes (each under both /api/2.0/mlflow and /ajax-api/2.0/mlflow, as MLflow serves them)
 *   experiments/create POST · get GET ?experiment_id · get-by-name GET ?experiment_name ·
 *     search POST|GET · update POST · delete POST · restore POST · set-experiment-tag POST
 *   runs/create · get GET ?run_id|run_uuid · update · delete · restore · search · log-batch ·
 *     log-metric · log-parameter · set-tag · delete-tag · log-inputs (all POST but get)
 *   metrics/get-history GET ?run_id&metric_key&max_results&page_token
 *   artifacts/list GET ?run_id&path → {root_uri, files: [{path, is_dir, file_size}]}
 *   registered-models/create POST · get GET · search GET · rename POST · update PATCH ·
 *     delete DELETE · set-tag POST · delete-tag DELETE · get-latest-versions POST|GET ·
 *     alias POST (set) | DELETE (delete) | GET ?name&alias (model version) ·
 *     alias-history GET ?name[&alias] → {events: AliasEvent[]} (Kiln's addition)
 *   model-versions/create POST · get GET · search GET · update PATCH · delete DELETE ·
 *     get-download-uri GET · set-tag POST · delete-tag DELETE
 * Proxied artifacts (under /api/2.0/mlflow-artifacts and /ajax-api/2.0/mlflow-artifacts)
 *   artifacts/<path> PUT (upload, streamed, atomic) · GET (download) · DELETE;
 *   artifacts?path= GET (list one folder, basenames). Files live under artifactsDestination;
 *   a run's `mlflow-artifacts:/<exp>/<run>/artifacts` URI maps to `<dest>/<exp>/<run>/artifacts`.
 * Kiln's additions (under /api/2.0/kiln and /ajax-api/2.0/kiln)
 *   studies GET · studies/:name GET · studies/:name/importances GET ?evaluator (routes/studies.ts, read-only)
 *   study-storage/studies/… and study-storage/trials/… : the tuner's StudyStorage for remote
 *     workers, over the same tables (routes/study-storage.ts; client tune/storage/rest.ts)
 *   metrics/history-columns GET ?run_id&metric_key → {steps, timestamps, values} (routes/metric-columns.ts)
 * Web UI: GET / (the built src/ui/app, hash-routed; see ui.ts).
 * Operations: GET /health → "OK" (never authenticated), GET /version → Kiln's version,
 *   GET /metrics → Prometheus text (own registry).
 *
 * Wire rules, as MLflow: GET parameters in the query string (repeated keys for lists); int64 and
 * booleans as JSON numbers/booleans (numeric strings accepted); non-finite metric values as
 * "NaN" / "Infinity" / "-Infinity"; empty responses `{}`; unknown fields ignored; every error
 * `{"error_code", "message"}` with MLflow's HTTP status (400 INVALID_PARAMETER_VALUE for a bad or
 * missing field, BAD_REQUEST for malformed JSON, 404 ENDPOINT_NOT_FOUND, 413 for an oversize body
 * or artifact, 401 UNAUTHENTICATED, 500 INTERNAL_ERROR without internals).
 *
 * Security: Host validation against DNS rebinding, refusal of cross-origin writes, CORS and
 * security headers (security.ts, MLflow 3.5+'s flags and defaults; startTrackingServer allows
 * the loopback names and the bound host); writes accept only application/json (415);
 * experiments/create accepts only artifact locations the server owns (artifact-location.ts);
 * optional bearer/basic auth (constant-time comparison, Authorization never logged);
 * artifact paths refused with 400 when any variant (`..`, absolute, %2e%2e, %2f, double encoding,
 * backslashes, NUL, symlinks leading out of the root) would leave the artifact root.
 */
import type { FastifyInstance } from 'fastify';
import { openStore } from '../store/index.js';
import { openSqlStudyStorage } from '../../tune/storage/sql.js';
import { studyReports } from '../../tune/report.js';
import { createTrackingServer, type TrackingServerOptions } from './app.js';
import { defaultAllowedHosts } from './security-policy.js';

export { createTrackingServer, API_PREFIXES, DEFAULT_BODY_LIMIT, DEFAULT_MAX_ARTIFACT_BYTES, type TrackingServerOptions } from './app.js';
export type { AuthOptions } from './auth.js';
export type { SecurityOptions } from './security.js';
export { defaultAllowedHosts, parseList, parseXFrameOptions, X_FRAME_OPTIONS, type XFrameOptions } from './security-policy.js';
export { schemas, type JsonSchema } from './schemas.js';

/** The artifact root handed to the store in proxied mode: experiments get `mlflow-artifacts:/<id>`. */
export const PROXIED_ARTIFACT_ROOT = 'mlflow-artifacts:';

export interface StartTrackingServerOptions extends Omit<TrackingServerOptions, 'store'> {
  /** Default 127.0.0.1 (0.0.0.0 exposes the server to the network). */
  host?: string;
  /** Default 5000; 0 picks a free port. */
  port?: number;
  /** sqlite:///path/to/file.db, sqlite::memory:, or postgresql://user:pass@host:port/db */
  backendStoreUri: string;
}

/** Opens the store, builds the server and listens; closing the server closes the store. */
export async function startTrackingServer(options: StartTrackingServerOptions): Promise<FastifyInstance> {
  const { host = '127.0.0.1', port = 5000, backendStoreUri, ...rest } = options;
  const store = await openStore(backendStoreUri, { artifactRoot: PROXIED_ARTIFACT_ROOT });
  // The tuner's studies live in the same database (one shared connection per file).
  const studies = await openSqlStudyStorage(backendStoreUri).catch(async (error: unknown) => {
    await store.close();
    throw error;
  });
  let app: FastifyInstance;
  try {
    const security = { ...rest.security, allowedHosts: rest.security?.allowedHosts ?? defaultAllowedHosts(host) };
    app = await createTrackingServer({ ...rest, security, store, studies: rest.studies ?? studyReports(studies), studyStorage: rest.studyStorage ?? studies });
    app.addHook('onClose', async () => {
      await studies.close();
      await store.close();
    });
    await app.listen({ host, port });
  } catch (error) {
    await studies.close();
    await store.close();
    throw error;
  }
  return app;
}
