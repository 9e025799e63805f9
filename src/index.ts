/**
 * kiln-ml — Kiln as a library: track runs, tune hyperparameters and serve the tracking UI from
 * TypeScript or JavaScript. This entry point gathers what most programs need; the full APIs are
 * `kiln-ml/tracking`, `kiln-ml/tune`, `kiln-ml/train` (loads TensorFlow.js) and `kiln-ml/serve`.
 *
 * @example
 * import { closeTracking, createStudy, logMetric, logParams, mlflowCallback, setTrackingUri, startRun } from 'kiln-ml';
 * setTrackingUri('sqlite:///mlruns.db'); // or postgresql://…, or http://127.0.0.1:5000
 *
 * await startRun({ runName: 'baseline' }, async () => {
 *   await logParams({ lr: 0.01 });
 *   await logMetric('loss', 0.25, { step: 1 });
 * });
 *
 * const study = await createStudy({ studyName: 'quadratic', direction: 'minimize' });
 * await startRun({ runName: 'quadratic-study' }, () =>
 *   study.optimize((trial) => (trial.suggestFloat('x', -10, 10) - 2) ** 2, { nTrials: 20, callbacks: [mlflowCallback()] }),
 * );
 * await closeTracking();
 */
export { KILN_VERSION } from './common/version.js';
export { KilnError } from './common/errors.js';
export {
  ActiveRun,
  activeRun,
  closeTracking,
  endRun,
  flushMetrics,
  getTrackingUri,
  logArtifact,
  logArtifacts,
  logMetric,
  logMetrics,
  logParam,
  logParams,
  setExperiment,
  setLoggerOptions,
  setTag,
  setTags,
  setTrackingUri,
  startRun,
  type MetricOptions,
  type ParamValue,
  type StartRunOptions,
} from './tracking/client/fluent.js';
export { TrackingError } from './tracking/store/errors.js';
export { startTrackingServer, type StartTrackingServerOptions } from './tracking/server/index.js';
export { createStudy, loadStudy, Study, type CreateStudyOptions, type OptimizeOptions, type StudyCallback } from './tune/study.js';
export { Trial } from './tune/trial.js';
export { TrialPruned } from './tune/errors.js';
export { RandomSampler } from './tune/samplers/random.js';
export { TPESampler } from './tune/samplers/tpe.js';
export { openStudyStorage } from './tune/storage/open.js';
export type { FrozenTrial, StudyDirection } from './tune/types.js';
export { mlflowCallback, type MLflowCallbackOptions } from './tune/mlflow-callback.js';
