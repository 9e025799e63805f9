/**
 * tracking/client/training-run — a training as an MLflow run: the run with its tags and the
 * dataset input before training, a RunLogger as the trainer's metric sink during it, and the
 * model folder as artifacts and the final status after it. The dataset's sample images and
 * profile (logDatasetSamples) go to the run's `dataset/` artifacts for the web UI.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import type { DatasetIdentity, LabelledDataset } from '../../data/labelled.js';
import { TrackingError } from '../store/errors.js';
import type { TrackingStore } from '../store/types.js';
import type { DatasetProfileFile } from '../dataset-json.js';
import { datasetInput, datasetProfileJson, datasetSchemaJson, legacyDatasetInput } from './dataset-input.js';
import { MODEL_ARTIFACT_PATH } from './registry.js';
import { RunLogger, type RunLoggerOptions } from './run-logger.js';
import type { TrackingSession } from './session.js';

export const DEFAULT_EXPERIMENT = 'fashion-mnist';
/** Where a run's dataset samples and profile go, below its artifact root. */
export const DATASET_ARTIFACT_PATH = 'dataset';

export interface TrainingRunSpec {
  experimentName?: string;
  runName?: string;
  params: Record<string, string>;
  tags?: Record<string, string>;
  parentRunId?: string;
  /**
   * The dataset the run trains on: its identity (logged as an MLflow dataset input with schema
   * and profile), or the older form, per-file sha256 and where each file came from.
   */
  dataset?: DatasetIdentity | LegacyDatasetSpec;
  /** For a dataset made of a few files (Fashion-MNIST's IDX files): their sha256 and paths, kept in the input's profile. */
  datasetFiles?: DatasetFiles;
  logger?: RunLoggerOptions;
}

/** A few files' sha256 and where each was read from. */
export interface DatasetFiles {
  sha256: Record<string, string>;
  sources: Record<string, string>;
}

/** What callers passed before datasets had an identity (still accepted, logged as before). */
export interface LegacyDatasetSpec extends DatasetFiles {
  name: string;
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
    const input = 'digest' in spec.dataset ? datasetInput(spec.dataset, spec.datasetFiles) : legacyDatasetInput(spec.dataset);
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

/** What logDatasetSamples needs of a LabelledDataset. */
export type SampledDataset = Pick<LabelledDataset, 'identity' | 'train' | 'classNames' | 'normalization'>;

/**
 * Logs `dataset/profile.json` (identity, schema, counts) and up to `perClass` PNG samples per
 * class (`dataset/samples/<label>_<class>/<n>.png`) to the run, for the web UI's dataset
 * section. Returns the number of files logged.
 */
export async function logDatasetSamples(
  session: TrackingSession,
  run: Pick<TrainingRun, 'artifactUri'>,
  dataset: SampledDataset,
  options: { perClass?: number } = {},
): Promise<number> {
  // The encoder (and sharp with it) loads only when samples are logged.
  const { datasetSamples, DEFAULT_SAMPLES_PER_CLASS } = await import('../../data/samples.js');
  const perClass = options.perClass ?? DEFAULT_SAMPLES_PER_CLASS;
  const samples = await datasetSamples(dataset, perClass);
  const { identity } = dataset;
  const profile: DatasetProfileFile = {
    name: identity.name,
    digest: identity.digest,
    source: identity.source,
    source_type: identity.sourceType,
    schema: datasetSchemaJson(identity),
    profile: datasetProfileJson(identity),
    samples: { per_class: perClass, files: samples.map((s) => s.path) },
  };
  const dir = await mkdtemp(join(tmpdir(), 'kiln-dataset-'));
  try {
    await writeFile(join(dir, 'profile.json'), `${JSON.stringify(profile, null, 2)}\n`);
    for (const sample of samples) {
      const file = join(dir, ...sample.path.split('/'));
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, sample.png);
    }
    return await session.artifacts.uploadDirectory(dir, run.artifactUri, DATASET_ARTIFACT_PATH);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
