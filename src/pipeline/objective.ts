/**
 * pipeline/objective — one training as one trial: the search space is sampled through the
 * trial, the trainer's epoch-end hook reports val_acc to the pruner, and the training is a
 * tracking run, a child of the study's parent run, tagged with the study and trial number.
 * Trials are compared on validation accuracy and never tested: only the study's best is.
 */
import { join } from 'node:path';
import type { LabelledDataset } from '../data/index.js';
import { type EngineInfo, engineTags } from '../engine/index.js';
import type { ModelSpec } from '../models/index.js';
import { finishTrainingRun, startTrainingRun, type TrackingSession } from '../tracking/client/index.js';
import { type Callback, DEFAULT_TRAINING, Deadline, EpochEndHook, runTraining, trainingParams, type TrainingConfig } from '../train/index.js';
import { TrialPruned } from '../tune/errors.js';
import type { BaseTrial } from '../tune/trial.js';
import { type FloatRange, type IntRange, type PipelineConfig, searchSpaceFor } from './config.js';

function int(trial: BaseTrial, name: string, value: number | IntRange): number {
  if (typeof value === 'number') return value;
  return trial.suggestInt(name, value.low, value.high, { log: value.log ?? false, ...(value.step !== undefined ? { step: value.step } : {}) });
}

function float(trial: BaseTrial, name: string, value: number | FloatRange): number {
  if (typeof value === 'number') return value;
  return trial.suggestFloat(name, value.low, value.high, { log: value.log ?? false, ...(value.step !== undefined ? { step: value.step } : {}) });
}

function pick<T extends string | number | boolean>(trial: BaseTrial, name: string, value: T | { choices: T[] }): T {
  return typeof value === 'object' ? trial.suggestCategorical(name, value.choices) : value;
}

/**
 * Samples a model spec and learning rate from the configured search space, as scaled to the
 * data's image size (searchSpaceFor) when `input` is given.
 */
export function sampleTrainingChoice(trial: BaseTrial, config: PipelineConfig, input?: { height: number; width: number }): { spec: ModelSpec; learningRate: number } {
  const space = input ? searchSpaceFor(config.search_space, input) : config.search_space;
  const learningRate = float(trial, 'lr', config.training.lr);
  if (space.model === 'mlp') {
    const layers = int(trial, 'n_layers', space.n_layers);
    const hiddenUnits = Array.from({ length: layers }, (_, i) => int(trial, `n_units_l${i}`, space.units));
    return { spec: { kind: 'mlp', hiddenUnits, dropout: float(trial, 'dropout', space.dropout) }, learningRate };
  }
  const channels = pick(trial, 'conv_channels', space.conv_channels).split(',').map(Number);
  return {
    spec: {
      kind: 'cnn',
      convChannels: channels,
      kernelSize: pick(trial, 'kernel', space.kernel),
      pool: 'max',
      batchNorm: pick(trial, 'batch_norm', space.batch_norm),
      convDropout: 0,
      denseUnits: [int(trial, 'dense_units', space.dense_units)],
      dropout: float(trial, 'dropout', space.dropout),
    },
    learningRate,
  };
}

export interface ObjectiveContext {
  config: PipelineConfig;
  home: string;
  /** The study's data: every trial trains on it, and its image size scales the search space. */
  data: LabelledDataset;
  engine: EngineInfo;
  tracking: TrackingSession | null;
  parentRunId: string | null;
  log: (message: string) => void;
  /** Trainer callbacks every trial gets (e.g. the Prometheus metrics). */
  callbacks?: Callback[];
  /** The study's deadline (Date.now() ms); with `study.timeout_mode: hard` a running trial stops there. */
  deadline?: number;
  /** A per-trial callback for structured epoch records (the CLI gives one writing to the log files). */
  trialCallback?: (trial: { study: string; trial: number; run_id: string | null }) => Callback;
}

/** Folder where a trial's model is written. */
export function trialModelPath(home: string, study: string, trialNumber: number): string {
  return join(home, 'studies', study, `trial-${trialNumber}`);
}

export function trainingObjective(context: ObjectiveContext): (trial: BaseTrial) => Promise<number> {
  const { config, tracking, log } = context;
  const dataset = context.data.identity;
  const datasetFiles = { sha256: context.data.sha256, sources: context.data.sources };
  return async (trial) => {
    const { spec, learningRate } = sampleTrainingChoice(trial, config, context.data.train);
    const training: TrainingConfig = {
      ...DEFAULT_TRAINING,
      spec,
      epochs: config.training.epochs,
      batchSize: config.training.batch_size,
      learningRate,
      // One seed for the whole study: every trial sees the same train/validation split.
      seed: config.study.seed,
      validationSize: config.training.validation_size,
      patience: config.training.patience,
      labelSmoothing: config.training.label_smoothing ?? 0,
      augmentation:
        (config.training.augment_flip ?? 0) > 0 || (config.training.augment_rotation ?? 0) > 0
          ? { flipProbability: config.training.augment_flip ?? 0, rotationDegrees: config.training.augment_rotation ?? 0 }
          : null,
      home: context.home,
      outDir: trialModelPath(context.home, config.study.name, trial.number),
      evaluateTest: false,
    };
    const run = tracking
      ? await startTrainingRun(tracking, {
          runName: `${config.study.name}-trial-${trial.number}`,
          parentRunId: context.parentRunId ?? undefined,
          params: trainingParams(training),
          tags: { 'kiln.study': config.study.name, 'kiln.trial': String(trial.number), ...engineTags(context.engine) },
          dataset,
          datasetFiles,
        })
      : null;
    if (run) trial.setUserAttr('run_id', run.runId);
    trial.setUserAttr('model_path', training.outDir);
    const pruner = new EpochEndHook(async (metrics) => {
      trial.report(metrics.val_acc, metrics.epoch);
      return trial.shouldPrune();
    });
    const trialLog = context.trialCallback ? [context.trialCallback({ study: config.study.name, trial: trial.number, run_id: run?.runId ?? null })] : [];
    const deadline = config.study.timeout_mode === 'hard' && context.deadline !== undefined ? [new Deadline(context.deadline)] : [];
    let outcome;
    try {
      outcome = await runTraining(training, { data: context.data, engine: context.engine, callbacks: [pruner, ...deadline, ...trialLog, ...(context.callbacks ?? [])], sinks: run ? [run.logger] : [], progress: null });
    } catch (error) {
      if (tracking && run) await finishTrainingRun(tracking, run, { status: 'FAILED' });
      throw error;
    }
    if (tracking && run) {
      await run.logger.setTags({ 'kiln.trial_state': outcome.stopped_by === 'pruned' ? 'PRUNED' : 'COMPLETE' });
      await finishTrainingRun(tracking, run, { modelPath: outcome.model_path, status: 'FINISHED' });
    }
    log(
      `trial ${trial.number}: val_acc ${outcome.val_acc.toFixed(4)} after ${outcome.epochs} epoch(s)` +
        `${outcome.stopped_by === 'pruned' ? ' — pruned' : outcome.stopped_by === 'deadline' ? ' — stopped at the study deadline' : ''}  ${JSON.stringify(trial.params)}`,
    );
    if (outcome.stopped_by === 'pruned') throw new TrialPruned(`pruned at epoch ${outcome.epochs}`);
    return outcome.val_acc;
  };
}
