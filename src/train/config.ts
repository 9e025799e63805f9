/**
 * train/config — what a training run is asked to do (TrainingConfig), its defaults, its
 * validation and its flat MLflow params. Free of tfjs, so the CLI can parse and check a
 * configuration without loading the engine.
 */
import { InvalidHyperparameterError } from '../common/errors.js';
import { type ModelSpec, specToParams, validateSpec } from '../models/spec.js';
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
  /** Images held out of the canonical train set for validation. Default 5000 (55,000/5,000). */
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

function check(field: string, ok: boolean, range: string, value: unknown): void {
  if (!ok) throw new InvalidHyperparameterError(field, `expected ${range}, got ${String(value)}`);
}

/** Throws InvalidHyperparameterError naming the first field outside its range. */
export function validateTrainingConfig(config: TrainingConfig): void {
  validateSpec(config.spec);
  const int = (v: number, min: number, max: number): boolean => Number.isInteger(v) && v >= min && v <= max;
  check('epochs', int(config.epochs, 1, 1000), 'an integer in [1, 1000]', config.epochs);
  check('batch-size', int(config.batchSize, 1, 8192), 'an integer in [1, 8192]', config.batchSize);
  check('lr', Number.isFinite(config.learningRate) && config.learningRate > 0 && config.learningRate <= 1, 'a number in (0, 1]', config.learningRate);
  check('lr-schedule', config.lrSchedule === 'cosine' || config.lrSchedule === 'constant', 'cosine or constant', config.lrSchedule);
  check('label-smoothing', Number.isFinite(config.labelSmoothing) && config.labelSmoothing >= 0 && config.labelSmoothing <= 0.5, 'a number in [0, 0.5]', config.labelSmoothing);
  check('seed', int(config.seed, 0, 2 ** 32 - 1), 'an integer in [0, 4294967295]', config.seed);
  check('validation-size', int(config.validationSize, 1, 30000), 'an integer in [1, 30000]', config.validationSize);
  if (config.patience !== null) check('patience', int(config.patience, 1, 1000), 'an integer in [1, 1000]', config.patience);
  if (config.trainLimit != null) check('train-limit', int(config.trainLimit, 1, 60000), 'an integer in [1, 60000]', config.trainLimit);
  check('checkpoint-top-k', int(config.checkpointTopK, 1, 100), 'an integer in [1, 100]', config.checkpointTopK);
  if (config.augmentation) {
    const { rotationDegrees, flipProbability } = config.augmentation;
    check('augment-rotation', Number.isFinite(rotationDegrees) && rotationDegrees >= 0 && rotationDegrees <= 180, 'degrees in [0, 180]', rotationDegrees);
    check('augment-flip', Number.isFinite(flipProbability) && flipProbability >= 0 && flipProbability <= 1, 'a probability in [0, 1]', flipProbability);
  }
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
