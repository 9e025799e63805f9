/**
 * train/run-training — one complete training run from configuration to a saved model folder:
 * verified data → seeded split → model → fit (early stopping, checkpoints) → best weights
 * restored → test → `kiln-model.json`. The CLI's `kiln train` and the tuner's objective both
 * call this, so a trial is exactly a `kiln train` run.
 */
import { join } from 'node:path';
import { Random } from '../common/random.js';
import { modelsDir, timestampSlug } from '../common/home.js';
import { InvalidHyperparameterError } from '../common/errors.js';
import { KILN_VERSION, packageVersion } from '../common/version.js';
import {
  CLASS_NAMES,
  FASHION_MNIST_MEAN,
  FASHION_MNIST_STD,
  type FashionMnist,
  loadFashionMnist,
  splitTrainValidation,
} from '../data/index.js';
import type { EngineInfo } from '../engine/index.js';
import { buildModel, countParameters, FASHION_MNIST_INPUT, type KilnModelMetadata, type ModelSpec, saveModelFolder, specToParams, validateSpec } from '../models/index.js';
import { type Callback, EarlyStopping, type EpochMetrics, ModelCheckpoint, ProgressBar, type ProgressStream, type StopReason } from './callbacks.js';
import type { MetricSink } from './metrics.js';
import { type LrSchedule, Trainer } from './trainer.js';

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

export interface TrainingHooks {
  /** Where progress lines go; null for silence. */
  progress?: ProgressStream | null;
  sinks?: MetricSink[];
  callbacks?: Callback[];
  /** Already-loaded data (the tuner loads it once for all trials). */
  data?: FashionMnist;
  engine?: EngineInfo | null;
  log?: (message: string) => void;
}

export interface TrainingOutcome {
  /** Null when the run was not tested (evaluateTest: false). */
  test_acc: number | null;
  test_loss: number | null;
  /** Validation metrics of the restored (best) epoch. */
  val_acc: number;
  val_loss: number;
  epochs: number;
  best_epoch: number;
  stopped_by: StopReason;
  seconds: number;
  model_path: string;
  params: Record<string, string>;
  history: EpochMetrics[];
}

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
  };
}

/**
 * Trains, tests and saves one model.
 *
 * @example
 * const outcome = await runTraining({ ...DEFAULT_TRAINING, spec: DEFAULT_MLP, home: resolveHome() });
 * console.log(outcome.test_acc, outcome.model_path);
 */
export async function runTraining(config: TrainingConfig, hooks: TrainingHooks = {}): Promise<TrainingOutcome> {
  validateTrainingConfig(config);
  const started = performance.now();
  const log = hooks.log ?? (() => undefined);
  const data = hooks.data ?? (await loadFashionMnist({ dataDir: config.dataDir, log }));
  const { train, validation } = splitTrainValidation(data.train, { validationSize: config.validationSize, seed: config.seed });
  const model = buildModel(config.spec, FASHION_MNIST_INPUT, new Random(config.seed ^ 0x5eed));
  const checkpoint = new ModelCheckpoint({ monitor: 'val_acc', topK: config.checkpointTopK });
  const callbacks: Callback[] = [checkpoint];
  if (config.patience !== null) callbacks.push(new EarlyStopping({ monitor: 'val_acc', patience: config.patience }));
  if (hooks.progress) callbacks.push(new ProgressBar(hooks.progress));
  callbacks.push(...(hooks.callbacks ?? []));
  const trainer = new Trainer({
    maxEpochs: config.epochs,
    batchSize: config.batchSize,
    learningRate: config.learningRate,
    seed: config.seed,
    augmentation: config.augmentation ?? undefined,
    lrSchedule: config.lrSchedule,
    labelSmoothing: config.labelSmoothing,
    callbacks,
    sinks: hooks.sinks ?? [],
  });
  log(`training ${config.spec.kind} (${countParameters(model)} parameters) on ${train.count} images, validating on ${validation.count}`);
  try {
    const fit = await trainer.fit(model, train, validation);
    const bestEpoch = checkpoint.restoreBest(model) ?? fit.epochs;
    const best = fit.history.find((m) => m.epoch === bestEpoch) ?? fit.history[fit.history.length - 1];
    const test = config.evaluateTest === false ? null : await trainer.test(model, data.test);
    const testMetrics: Record<string, number> = test ? { test_acc: test.acc, test_loss: test.loss } : {};
    const params = trainingParams(config);
    const outDir = config.outDir ?? join(modelsDir(config.home), `${config.spec.kind}-${timestampSlug()}`);
    const metadata: KilnModelMetadata = {
      format: 'kiln-model',
      formatVersion: 1,
      name: 'fashion-mnist',
      framework: 'tfjs-layers',
      inputShape: [FASHION_MNIST_INPUT.height, FASHION_MNIST_INPUT.width, FASHION_MNIST_INPUT.channels],
      classNames: [...CLASS_NAMES],
      preprocessing: { colorMode: 'grayscale', size: [28, 28], scale: 1 / 255, mean: FASHION_MNIST_MEAN, std: FASHION_MNIST_STD, invert: false },
      spec: config.spec,
      hyperparameters: params,
      metrics: { ...testMetrics, val_acc: best.val_acc, val_loss: best.val_loss, best_epoch: bestEpoch, epochs: fit.epochs },
      dataset: { name: 'fashion-mnist', sha256: data.sha256 },
      engine: hooks.engine
        ? { backend: hooks.engine.backend, blas: hooks.engine.blas.enabled, blasLibrary: hooks.engine.blas.library, blasThreads: hooks.engine.blas.threads }
        : { backend: 'unknown' },
      versions: { kiln: KILN_VERSION, tfjs: packageVersion('@tensorflow/tfjs'), node: process.version },
      parameters: countParameters(model),
      createdAt: new Date().toISOString(),
    };
    await saveModelFolder(model, metadata, outDir);
    return {
      test_acc: test?.acc ?? null,
      test_loss: test?.loss ?? null,
      val_acc: best.val_acc,
      val_loss: best.val_loss,
      epochs: fit.epochs,
      best_epoch: bestEpoch,
      stopped_by: fit.stoppedBy,
      seconds: (performance.now() - started) / 1000,
      model_path: outDir,
      params,
      history: fit.history,
    };
  } finally {
    checkpoint.dispose();
    model.dispose();
  }
}
