/**
 * tune/mlflow-callback — the bridge Optuna users know as `MLflowCallback`: a StudyCallback
 * that logs every finished trial as a tracking run.
 *
 * Each trial becomes a child run (`mlflow.parentRunId`) of the study's parent run: the run
 * given as `parentRunId`, else the run active where `study.optimize` was called (startRun's
 * scope), else one parent run the callback starts for the study on its first trial, named
 * after the study and marked FINISHED after every trial. A trial's run holds its params, its
 * value as the metric `metricName` (when it has one) and Optuna's tags: `number`, `state`,
 * `direction`, `study_name`, `datetime_start`, `datetime_complete`. The run's status follows
 * the trial: COMPLETE → FINISHED, PRUNED → KILLED, FAIL → FAILED.
 */
import { activeRun, type ActiveRun, startRun, type StartRunOptions, logMetric, logParams, setTags, endRun } from '../tracking/client/fluent.js';
import type { RunStatus } from '../tracking/store/types.js';
import type { Study, StudyCallback } from './study.js';
import type { FrozenTrial, TrialState } from './types.js';

export interface MLflowCallbackOptions {
  /** The metric a trial's value is logged as. Default "value" (Optuna's default). */
  metricName?: string;
  /** Experiment of the trial runs (and of the parent run the callback starts). */
  experimentName?: string;
  /** Default: setTrackingUri's, else the environment's, else the local store. */
  trackingUri?: string;
  /** The study's parent run; see the module comment for the default. */
  parentRunId?: string;
  /** Extra tags on every trial run. */
  tags?: Record<string, string>;
}

const STATUS: Record<TrialState, RunStatus> = { COMPLETE: 'FINISHED', PRUNED: 'KILLED', FAIL: 'FAILED', RUNNING: 'RUNNING', WAITING: 'SCHEDULED' };

const iso = (ms: number | null): string => (ms === null ? '' : new Date(ms).toISOString());

/**
 * @example
 * import { createStudy, mlflowCallback } from 'kiln-ml/tune';
 * import { startRun } from 'kiln-ml/tracking';
 * const study = await createStudy({ studyName: 'quadratic' });
 * await startRun({ runName: 'quadratic-study' }, () =>
 *   study.optimize((trial) => (trial.suggestFloat('x', -10, 10) - 2) ** 2, { nTrials: 20, callbacks: [mlflowCallback()] }));
 */
export function mlflowCallback(options: MLflowCallbackOptions = {}): StudyCallback {
  const metricName = options.metricName ?? 'value';
  const target: StartRunOptions = { experimentName: options.experimentName, trackingUri: options.trackingUri };
  let ownParent: Promise<ActiveRun> | undefined;

  /** The parent run of the study's trials: given, active, or started once for the study. */
  const parentOf = async (study: Study): Promise<string> => {
    if (options.parentRunId !== undefined) return options.parentRunId;
    const active = activeRun();
    if (active !== undefined) return active.runId;
    ownParent ??= startRun({ ...target, runName: study.studyName, tags: { 'kiln.study': study.studyName } }, async (run) => run);
    return (await ownParent).runId;
  };

  return async (study: Study, trial: FrozenTrial): Promise<void> => {
    const parentRunId = await parentOf(study);
    await startRun({ ...target, runName: `trial-${trial.number}`, parentRunId }, async () => {
      await logParams(trial.params);
      if (trial.value !== null) await logMetric(metricName, trial.value);
      await setTags({
        ...options.tags,
        number: String(trial.number),
        state: trial.state,
        direction: study.direction.toUpperCase(),
        study_name: study.studyName,
        datetime_start: iso(trial.datetimeStart),
        datetime_complete: iso(trial.datetimeComplete),
      });
      if (trial.state !== 'COMPLETE') await endRun(STATUS[trial.state]);
    });
    if (ownParent !== undefined) {
      const parent = await ownParent;
      await parent.session.store.updateRun(parent.runId, { status: 'FINISHED', end_time: Date.now() });
    }
  };
}
