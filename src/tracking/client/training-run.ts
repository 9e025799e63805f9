/**
 * tracking/client/training-run — a training as an MLflow run: the run with its tags and the
 * dataset input before training, a RunLogger as the trainer's metric sink during it, and the
 * model folder as artifacts and the final status after it.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { TrackingError } from '../store/errors.js';
import type { DatasetInput, TrackingStore } from '../store/types.js';
import { MODEL_ARTIFACT_PATH } from './registry.js';
import { RunLogger, type RunLoggerOptions } from './run-logger.js';
import type { TrackingSession } from './session.js';

export const DEFAULT_EXPERIMENT = 'fashion-mnist';

export interface TrainingRunSpec {
  experimentName?: string;
  runName?: string;
  params: Record<string, string>;
  tags?: Record<string, string>;
  parentRunId?: string;
  /** The dataset the run trains on: per-file sha256 and where each file came from. */
  dataset?: { name: string; sha256: Record<string, string>; sources: Record<string, string> };
  logger?: RunLoggerOptions;
}

export interface TrainingRun {
  runId: string;
  experimentId: string;
  artifactUri: string;
  logger: RunLogger;
}

export async function getOrCreateExperiment(store: TrackingStore, name: string): Promise<string> {
  try {
    const experiment = await store.getExperimentByName(name);
    if (experiment.lifecycle_stage === 'deleted') await store.restoreExperiment(experiment.experiment_id);
    return experiment.experiment_id;
  } catch (error) {
    if (!(error instanceof TrackingError && error.errorCode === 'RESOURCE_DOES_NOT_EXIST')) throw error;
  }
  try {
    return await store.createExperiment({ name });
  } catch (error) {
    // Several workers may create it at once; the loser reads the winner's.
    if (error instanceof TrackingError && error.errorCode === 'RESOURCE_ALREADY_EXISTS') return (await store.getExperimentByName(name)).experiment_id;
    throw error;
  }
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 2000 }).trim() || null;
  } catch {
    return null;
  }
}

function user(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** MLflow-style dataset digest: a short hash over the files' own digests. */
export function datasetDigest(sha256: Record<string, string>): string {
  const hash = createHash('sha256');
  for (const file of Object.keys(sha256).sort()) hash.update(`${file}:${sha256[file]}\n`);
  return hash.digest('hex').slice(0, 16);
}

/** Creates the run (tags, params, dataset input) and the logger that will carry its metrics. */
export async function startTrainingRun(session: TrackingSession, spec: TrainingRunSpec): Promise<TrainingRun> {
  const store = session.store;
  const experimentId = await getOrCreateExperiment(store, spec.experimentName ?? DEFAULT_EXPERIMENT);
  const commit = gitCommit();
  const tags: Record<string, string> = {
    'mlflow.user': user(),
    'mlflow.source.type': 'LOCAL',
    'mlflow.source.name': 'kiln train',
    'kiln.host': hostname(),
    ...(commit ? { 'mlflow.source.git.commit': commit } : {}),
    ...(spec.parentRunId ? { 'mlflow.parentRunId': spec.parentRunId } : {}),
    ...spec.tags,
  };
  const run = await store.createRun({
    experiment_id: experimentId,
    user_id: tags['mlflow.user'],
    start_time: Date.now(),
    ...(spec.runName ? { run_name: spec.runName } : {}),
    tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
  });
  const logger = new RunLogger(store, run.info.run_id, spec.logger);
  await logger.logParams(spec.params);
  if (spec.dataset) {
    const input: DatasetInput = {
      tags: [{ key: 'mlflow.data.context', value: 'training' }],
      dataset: {
        name: spec.dataset.name,
        digest: datasetDigest(spec.dataset.sha256),
        source_type: 'local',
        source: JSON.stringify(spec.dataset.sources),
        profile: JSON.stringify({ sha256: spec.dataset.sha256 }),
      },
    };
    await store.logInputs(run.info.run_id, [input]);
  }
  return { runId: run.info.run_id, experimentId, artifactUri: run.info.artifact_uri, logger };
}

/** Uploads the model folder (when there is one), flushes every metric and closes the run. */
export async function finishTrainingRun(
  session: TrackingSession,
  run: TrainingRun,
  outcome: { modelPath?: string; status: 'FINISHED' | 'FAILED' | 'KILLED' },
): Promise<{ artifacts: number }> {
  let artifacts = 0;
  try {
    if (outcome.modelPath) artifacts = await session.artifacts.uploadDirectory(outcome.modelPath, run.artifactUri, MODEL_ARTIFACT_PATH);
  } finally {
    await run.logger.end(outcome.status);
  }
  return { artifacts };
}
