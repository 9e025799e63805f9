/**
 * train/run-training — one complete training run from configuration to a saved model folder:
 * verified data → seeded split → model → fit (early stopping, checkpoints) → best weights
 * restored → test → `kiln-model.json`. The CLI's `kiln train` and the tuner's objective both
 * call this, so a trial is exactly a `kiln train` run.
 */
import { join } from 'node:path';
import { Random } from '../common/random.js';
import { modelsDir, timestampSlug } from '../common/home.js';
import { KILN_VERSION, packageVersion } from '../common/version.js';
import {
  CLASS_NAMES,
  FASHION_MNIST_MEAN,
  FASHION_MNIST_STD,
  type FashionMnist,
  loadFashionMnist,
  splitTrainValidation,
  subsetImageSet,
} from '../data/index.js';
import type { EngineInfo } from '../engine/index.js';
import { buildModel, countParameters, FASHION_MNIST_INPUT, type KilnModelMetadata, saveModelFolder } from '../models/index.js';
import { type TrainingConfig, trainingParams, validateTrainingConfig } from './config.js';
import { type Callback, EarlyStopping, type EpochMetrics, ModelCheckpoint, ProgressBar, type ProgressStream, type StopReason } from './callbacks.js';
import type { MetricSink } from './metrics.js';
import { Trainer } from './trainer.js';

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
  const split = splitTrainValidation(data.train, { validationSize: config.validationSize, seed: config.seed });
  const { validation } = split;
  const limit = config.trainLimit ?? split.train.count;
  const train = limit < split.train.count ? subsetImageSet(split.train, Array.from({ length: limit }, (_, i) => i)) : split.train;
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
      preprocessing: { colorMode: 'grayscale', size: [28, 28], scale: 1 / 255, mean: FASHION_MNIST_MEAN, std: FASHION_MNIST_STD, invert: false, mode: 'auto' },
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
