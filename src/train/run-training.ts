/**
 * train/run-training — one complete training run from configuration to a saved model folder:
 * verified data (any LabelledDataset) → seeded split → model shaped by the data → fit (early
 * stopping, checkpoints) → best weights restored → test → `kiln-model.json`. The CLI's `kiln train` and the tuner's objective both
 * call this, so a trial is exactly a `kiln train` run.
 */
import { join } from 'node:path';
import { Random } from '../common/random.js';
import { modelsDir, timestampSlug } from '../common/home.js';
import { KILN_VERSION, packageVersion } from '../common/version.js';
import {
  fashionMnistDataset,
  type ImageSet,
  type LabelledDataset,
  loadFashionMnist,
  normalizePixel,
  splitTrainValidation,
  subsetImageSet,
} from '../data/index.js';
import type { EngineInfo } from '../engine/index.js';
import { buildModel, countParameters, type InputSpec, type KilnModelMetadata, type Preprocessing, saveModelFolder, validateSpecForInput } from '../models/index.js';
import { type TrainingConfig, trainingParams, validateTrainingConfig } from './config.js';
import { type Callback, EarlyStopping, type EpochMetrics, ModelCheckpoint, ProgressBar, type ProgressStream, type StopReason } from './callbacks.js';
import type { MetricSink } from './metrics.js';
import { Trainer } from './trainer.js';

export interface TrainingHooks {
  /** Where progress lines go; null for silence. */
  progress?: ProgressStream | null;
  sinks?: MetricSink[];
  callbacks?: Callback[];
  /**
   * Already-loaded data (the tuner loads it once for all trials): any LabelledDataset, its shape,
   * colour and classes decide the model's. Default: Fashion-MNIST from `config.dataDir`'s chain.
   */
  data?: LabelledDataset;
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
  const data = hooks.data ?? fashionMnistDataset(await loadFashionMnist({ dataDir: config.dataDir, log }));
  const input = inputOf(data);
  // A model the images cannot take (too many pooling blocks) is refused before any copy or work.
  validateSpecForInput(config.spec, input);
  const { train: fullTrain, validation } = trainAndValidation(data, config);
  const limit = config.trainLimit ?? fullTrain.count;
  const train = limit < fullTrain.count ? subsetImageSet(fullTrain, Array.from({ length: limit }, (_, i) => i)) : fullTrain;
  const model = buildModel(config.spec, input, new Random(config.seed ^ 0x5eed));
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
    // Rotated-in pixels are the dataset's black, normalized as the data was.
    augmentation: config.augmentation ? { ...config.augmentation, fill: Math.fround(normalizePixel(0, data.normalization.mean, data.normalization.std)) } : undefined,
    lrSchedule: config.lrSchedule,
    labelSmoothing: config.labelSmoothing,
    callbacks,
    sinks: hooks.sinks ?? [],
  });
  log(
    `training ${config.spec.kind} (${countParameters(model)} parameters) on ${train.count} ${input.height}x${input.width}x${input.channels} images ` +
      `of ${data.identity.name} (${input.classes} classes), validating on ${validation.count}`,
  );
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
      name: data.identity.name,
      framework: 'tfjs-layers',
      inputShape: [input.height, input.width, input.channels],
      classNames: [...data.classNames],
      preprocessing: preprocessingOf(data, input),
      spec: config.spec,
      hyperparameters: params,
      metrics: { ...testMetrics, val_acc: best.val_acc, val_loss: best.val_loss, best_epoch: bestEpoch, epochs: fit.epochs },
      dataset: datasetOf(data),
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

/** The source's own validation split, else a seeded split of train (Fashion-MNIST: 55,000/5,000). */
function trainAndValidation(data: LabelledDataset, config: TrainingConfig): { train: ImageSet; validation: ImageSet } {
  if (data.validation) return { train: data.train, validation: data.validation };
  return splitTrainValidation(data.train, { validationSize: config.validationSize, seed: config.seed });
}

/** The model's input and output, as the data says: HxWxC of its images, one output per class. */
function inputOf(data: LabelledDataset): InputSpec {
  const { height, width, channels } = data.train;
  return { height, width, channels, classes: data.classNames.length };
}

/** How a server must turn an image into this model's input: the data's size, colour and normalization. */
function preprocessingOf(data: LabelledDataset, input: InputSpec): Preprocessing {
  const builtin = data.identity.sourceType === 'builtin';
  return {
    colorMode: input.channels === 3 ? 'rgb' : 'grayscale',
    size: [input.height, input.width],
    scale: 1 / 255,
    mean: data.normalization.mean,
    std: data.normalization.std,
    invert: false,
    // Photos of garments need Fashion-MNIST's own conversion; a user's images are served as they were trained.
    mode: builtin ? 'auto' : 'dataset',
  };
}

function datasetOf(data: LabelledDataset): KilnModelMetadata['dataset'] {
  const { name, digest, source, sourceType, schema, counts } = data.identity;
  return { name, sha256: data.sha256, digest, source, sourceType, schema, counts };
}
