/**
 * cli/train-command — `kiln train` (one model) and, until the tuning pipeline exists,
 * `kiln start` (the seed's MLP with defaults).
 */
import type { Command } from 'commander';
import { resolveHome } from '../common/home.js';
import { InvalidHyperparameterError } from '../common/errors.js';
import { initEngine } from '../engine/index.js';
import { DEFAULT_CNN, DEFAULT_MLP, type ModelSpec } from '../models/index.js';
import { DEFAULT_TRAINING, runTraining, type TrainingConfig, type TrainingOutcome } from '../train/index.js';
import { parseInteger, parseIntegerList, parseNumber } from './parse.js';

interface TrainFlags {
  model: string;
  layers?: string;
  dropout?: string;
  conv?: string;
  kernel?: string;
  pool?: string;
  batchNorm?: boolean;
  convDropout?: string;
  dense?: string;
  epochs: string;
  batchSize: string;
  lr: string;
  lrSchedule: string;
  labelSmoothing: string;
  seed: string;
  validationSize: string;
  patience: string;
  earlyStopping: boolean;
  topK: string;
  augmentRotation?: string;
  augmentFlip?: string;
  out?: string;
  home?: string;
  dataDir?: string;
  threads?: string;
  blas: boolean;
  json?: boolean;
}

function specFromFlags(flags: TrainFlags): ModelSpec {
  if (flags.model === 'mlp') {
    return {
      kind: 'mlp',
      hiddenUnits: flags.layers !== undefined ? parseIntegerList('layers', flags.layers) : DEFAULT_MLP.hiddenUnits,
      dropout: flags.dropout !== undefined ? parseNumber('dropout', flags.dropout) : DEFAULT_MLP.dropout,
    };
  }
  if (flags.model === 'cnn') {
    return {
      kind: 'cnn',
      convChannels: flags.conv !== undefined ? parseIntegerList('conv', flags.conv) : DEFAULT_CNN.convChannels,
      kernelSize: flags.kernel !== undefined ? parseInteger('kernel', flags.kernel) : DEFAULT_CNN.kernelSize,
      pool: (flags.pool ?? DEFAULT_CNN.pool) as 'max' | 'avg' | 'none',
      batchNorm: flags.batchNorm ?? DEFAULT_CNN.batchNorm,
      convDropout: flags.convDropout !== undefined ? parseNumber('conv-dropout', flags.convDropout) : DEFAULT_CNN.convDropout,
      denseUnits: flags.dense !== undefined ? parseIntegerList('dense', flags.dense) : DEFAULT_CNN.denseUnits,
      dropout: flags.dropout !== undefined ? parseNumber('dropout', flags.dropout) : DEFAULT_CNN.dropout,
    };
  }
  throw new InvalidHyperparameterError('model', `expected mlp or cnn, got "${flags.model}"`);
}

function configFromFlags(flags: TrainFlags): TrainingConfig {
  const rotation = flags.augmentRotation !== undefined ? parseNumber('augment-rotation', flags.augmentRotation) : 0;
  const flip = flags.augmentFlip !== undefined ? parseNumber('augment-flip', flags.augmentFlip) : 0;
  return {
    ...DEFAULT_TRAINING,
    spec: specFromFlags(flags),
    epochs: parseInteger('epochs', flags.epochs),
    batchSize: parseInteger('batch-size', flags.batchSize),
    learningRate: parseNumber('lr', flags.lr),
    lrSchedule: flags.lrSchedule as TrainingConfig['lrSchedule'],
    labelSmoothing: parseNumber('label-smoothing', flags.labelSmoothing),
    seed: parseInteger('seed', flags.seed),
    validationSize: parseInteger('validation-size', flags.validationSize),
    patience: flags.earlyStopping ? parseInteger('patience', flags.patience) : null,
    checkpointTopK: parseInteger('top-k', flags.topK),
    augmentation: rotation > 0 || flip > 0 ? { rotationDegrees: rotation, flipProbability: flip } : null,
    home: resolveHome(flags.home),
    outDir: flags.out,
    dataDir: flags.dataDir,
  };
}

async function train(flags: TrainFlags): Promise<TrainingOutcome> {
  const config = configFromFlags(flags);
  const threads = flags.threads !== undefined ? parseInteger('threads', flags.threads) : undefined;
  // Human-readable progress goes to stdout unless stdout is reserved for the JSON result.
  const out = flags.json ? process.stderr : process.stdout;
  const engine = await initEngine({ blas: flags.blas ? 'auto' : 'off', threads, quiet: false });
  out.write(
    `engine: tfjs ${engine.tfjsVersion} on ${engine.backend}` +
      (engine.blas.enabled ? `, OpenBLAS (${engine.blas.threads} thread${engine.blas.threads === 1 ? '' : 's'})\n` : `, no BLAS: ${engine.blas.reason ?? 'disabled'}\n`),
  );
  const outcome = await runTraining(config, { progress: out, engine, log: (message: string) => out.write(`${message}\n`) });
  out.write(
    `test_acc ${outcome.test_acc.toFixed(4)}  val_acc ${outcome.val_acc.toFixed(4)} (epoch ${outcome.best_epoch})  ` +
      `${outcome.epochs} epochs (${outcome.stopped_by})  ${outcome.seconds.toFixed(1)}s\nmodel saved to ${outcome.model_path}\n`,
  );
  if (flags.json) {
    const { history, ...summary } = outcome;
    console.log(JSON.stringify({ ...summary, history }));
  }
  return outcome;
}

function addTrainOptions(command: Command): Command {
  return command
    .option('--model <kind>', 'model family: mlp or cnn', 'mlp')
    .option('--layers <units>', `mlp: units per hidden layer, comma-separated (default ${DEFAULT_MLP.hiddenUnits.join(',')})`)
    .option('--dropout <rate>', `dropout after hidden dense layers (default mlp ${DEFAULT_MLP.dropout}, cnn ${DEFAULT_CNN.dropout})`)
    .option('--conv <channels>', `cnn: channels per conv block (default ${DEFAULT_CNN.convChannels.join(',')})`)
    .option('--kernel <size>', `cnn: conv kernel size, odd (default ${DEFAULT_CNN.kernelSize})`)
    .option('--pool <kind>', 'cnn: pooling after each block: max, avg or none (default max)')
    .option('--batch-norm', 'cnn: batch normalisation after each conv')
    .option('--conv-dropout <rate>', 'cnn: dropout after each conv block (default 0)')
    .option('--dense <units>', `cnn: hidden dense layers after the convs (default ${DEFAULT_CNN.denseUnits.join(',')})`)
    .option('--epochs <n>', 'maximum epochs', String(DEFAULT_TRAINING.epochs))
    .option('--batch-size <n>', 'training batch size', String(DEFAULT_TRAINING.batchSize))
    .option('--lr <rate>', 'Adam learning rate', String(DEFAULT_TRAINING.learningRate))
    .option('--lr-schedule <kind>', 'cosine (anneal to 1% over the epochs) or constant', DEFAULT_TRAINING.lrSchedule)
    .option('--label-smoothing <amount>', 'cross-entropy label smoothing in [0, 0.5]', String(DEFAULT_TRAINING.labelSmoothing))
    .option('--seed <n>', 'seed for split, initialisation, shuffling, augmentation and dropout', String(DEFAULT_TRAINING.seed))
    .option('--validation-size <n>', 'images of the canonical train set held out for validation', String(DEFAULT_TRAINING.validationSize))
    .option('--patience <n>', 'early stopping: epochs without val_acc improvement', String(DEFAULT_TRAINING.patience))
    .option('--no-early-stopping', 'train for all epochs')
    .option('--top-k <n>', 'checkpoint: best epochs kept (the best is restored before test)', String(DEFAULT_TRAINING.checkpointTopK))
    .option('--augment-rotation <degrees>', 'random rotation up to this many degrees (default 0: off)')
    .option('--augment-flip <probability>', 'horizontal flip probability (default 0: off)')
    .option('--out <folder>', 'model folder to write (default <home>/models/<kind>-<timestamp>)')
    .option('--home <dir>', 'Kiln data directory (default $KILN_HOME or ./kiln-data)')
    .option('--data-dir <dir>', 'folder holding the Fashion-MNIST files (default $KILN_DATA_DIR, then the Debian package, then download)')
    .option('--threads <n>', 'OpenBLAS threads (default: the cores available)')
    .option('--no-blas', 'run on the plain wasm kernels, without OpenBLAS')
    .option('--json', 'print the result as one JSON object on the last stdout line');
}

export function registerTrainCommands(program: Command): void {
  addTrainOptions(program.command('train').description('train one model on Fashion-MNIST, test it, and save the model folder')).action(
    async (flags: TrainFlags) => {
      await train(flags);
    },
  );
  addTrainOptions(
    program.command('start').description('run the main job (for now: train the seed MLP with defaults; tuning, registry and serving will follow)'),
  ).action(async (flags: TrainFlags) => {
    await train(flags);
  });
}
