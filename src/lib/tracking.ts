/**
 * kiln-ml/tracking — experiment tracking from TypeScript, against a local SQLite file, a
 * PostgreSQL database or a Kiln/MLflow tracking server (`sqlite:///…`, `postgresql://…`,
 * `http(s)://…`), and the tracking server itself.
 *
 * - The fluent run API (MLflow's): startRun, logParam(s), logMetric(s), setTag(s),
 *   logArtifact(s), endRun, activeRun, setTrackingUri, setExperiment, closeTracking.
 * - The lower layers: openTracking (a session: store + artifact repository), RunLogger (buffered,
 *   retried metric batches), openStore (the SQL store), the registry helpers.
 * - startTrackingServer: MLflow's REST API, the proxied artifact API and the web UI.
 *
 * @example
 * import { closeTracking, logMetric, logParams, setTrackingUri, startRun } from 'kiln-ml/tracking';
 * setTrackingUri('sqlite:///mlruns.db');
 * await startRun({ runName: 'baseline' }, async () => {
 *   await logParams({ lr: 0.01, batch_size: 64 });
 *   for (let epoch = 0; epoch < 3; epoch++) await logMetric('loss', 1 / (epoch + 1), { step: epoch });
 * });
 * await closeTracking();
 *
 * @example
 * import { startTrackingServer } from 'kiln-ml/tracking';
 * const server = await startTrackingServer({ backendStoreUri: 'sqlite:///mlruns.db', artifactsDestination: './artifacts', port: 5000 });
 * // open http://127.0.0.1:5000/ ; later: await server.close();
 */
export * from '../tracking/client/index.js';
export * from '../tracking/store/index.js';
export {
  createTrackingServer,
  startTrackingServer,
  PROXIED_ARTIFACT_ROOT,
  type StartTrackingServerOptions,
  type TrackingServerOptions,
  type AuthOptions,
  type SecurityOptions,
} from '../tracking/server/index.js';
