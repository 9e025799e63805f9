/**
 * train/config — what a training run is asked to do (TrainingConfig), its defaults, its
 * validation and its flat MLflow params. Free of tfjs, so the CLI can parse and check a
 * configuration without loading the engine.
 */
import { InvalidHyperparameterError } from '../common/errors.js';
import { firstProblem } from '../common/schema-problems.js';
import { type ModelSpec, specToParams, validateSpec } from '../models/spec.js';
import { TrainingFlagsSchema } from './config-schema.js';
import type { LrSchedule } from './trainer.js';

export interface TrainingConfig {
  spec: ModelSpec;
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** 'cosine' anneals the learning rate to 1 % over `epochs`; 'constant' keeps it. */
  lrSchedule: LrSchedule;
  /** Cross-entropy label smoothing in [0, 0.5]. */
  labelSmoothing: number;
  seed: number;
  /**
   * Images held out of the train set for validation (seeded by `seed`). Default 5000 (Fashion-MNIST's
   * 55,000/5,000). Unused when the dataset brings its own validation split (a user's data always does).
   */
  validationSize: number;
  augmentation: { rotationDegrees: number; flipProbability: number } | null;
  /** Early-stopping patience on val_acc; null disables it. */
  patience: number | null;
  /** How many best epochs the checkpoint keeps. */
  checkpointTopK: number;
  /** Data directory of Kiln (`--home`). */
  home: string;
  /** Where to write the model folder; default `<home>/models/<kind>-<timestamp>`. */
  outDir?: string;
  /** Explicit dataset folder; otherwise the data area's source chain applies. */
  dataDir?: string;
  /**
   * Evaluate on the canonical test set (default true). A tuning trial sets false: trials are
   * compared on validation accuracy, and only the study's best is ever tested.
   */
  evaluateTest?: boolean;
  /** Train on only the first N images of the training split (smoke runs, slow devices); default all. */
  trainLimit?: number | null;
}

export const DEFAULT_TRAINING: Omit<TrainingConfig, 'spec' | 'home'> = {
  epochs: 10,
  batchSize: 128,
  learningRate: 1e-3,
  lrSchedule: 'cosine',
  labelSmoothing: 0,
  seed: 42,
  validationSize: 5000,
  augmentation: null,
  patience: 3,
  checkpointTopK: 1,
};

/** The settings in the shape of their flags, as the schema checks them. */
function flagShaped(config: TrainingConfig): Record<string, unknown> {
  return {
    epochs: config.epochs,
    'batch-size': config.batchSize,
    lr: config.learningRate,
    'lr-schedule': config.lrSchedule,
    'label-smoothing': config.labelSmoothing,
    seed: config.seed,
    'validation-size': config.validationSize,
    patience: config.patience,
    'train-limit': config.trainLimit ?? null,
    'checkpoint-top-k': config.checkpointTopK,
    ...(config.augmentation ? { 'augment-rotation': config.augmentation.rotationDegrees, 'augment-flip': config.augmentation.flipProbability } : {}),
  };
}

/** Throws InvalidHyperparameterError naming the first setting outside its range (by its flag). */
export function validateTrainingConfig(config: TrainingConfig): void {
  validateSpec(config.spec);
  const problem = firstProblem(TrainingFlagsSchema, flagShaped(config));
  if (problem) throw new InvalidHyperparameterError(problem.key, problem.message);
}

/** The run's hyperparameters as flat MLflow params (what a tracking run records). */
export function trainingParams(config: TrainingConfig): Record<string, string> {
  return {
    ...specToParams(config.spec),
    epochs: String(config.epochs),
    batch_size: String(config.batchSize),
    lr: String(config.learningRate),
    lr_schedule: config.lrSchedule,
    label_smoothing: String(config.labelSmoothing),
    seed: String(config.seed),
    validation_size: String(config.validationSize),
    patience: config.patience === null ? 'none' : String(config.patience),
    augment_rotation: String(config.augmentation?.rotationDegrees ?? 0),
    augment_flip: String(config.augmentation?.flipProbability ?? 0),
    ...(config.trainLimit != null ? { train_limit: String(config.trainLimit) } : {}),
  };
}
