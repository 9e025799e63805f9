/**
 * kiln-ml/tune — Kiln's Optuna-class hyperparameter tuner: define-by-run studies, TPE / random /
 * grid samplers, median / percentile / successive-halving / Hyperband pruners, storages shared
 * by many workers (SQL, or a tracking server over REST), parameter importances, and
 * `mlflowCallback`, which logs every trial as a child run of the study's tracking run.
 *
 * @example
 * import { createStudy, mlflowCallback, RandomSampler } from 'kiln-ml/tune';
 * const study = await createStudy({ direction: 'minimize', sampler: new RandomSampler({ seed: 1 }) });
 * await study.optimize((trial) => (trial.suggestFloat('x', -10, 10) - 2) ** 2, { nTrials: 30, timeout: 60 });
 * console.log(await study.bestParams()); // { x: 2.0… }
 *
 * @example
 * // Shared by processes and machines: a study in the tracking database, or on a tracking server.
 * import { createStudy, openStudyStorage } from 'kiln-ml/tune';
 * const storage = await openStudyStorage('sqlite:///studies.db'); // or 'http://tracking:5000'
 * const study = await createStudy({ studyName: 'shared', storage, loadIfExists: true });
 */
export * from '../tune/index.js';
export { mlflowCallback, type MLflowCallbackOptions } from '../tune/mlflow-callback.js';
