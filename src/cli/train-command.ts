/**
 * cli/train-command — `kiln train`: one model, trained, tested, saved and (by default) tracked.
 */
import type { Command } from 'commander';
import { EpochLog, logFunction } from '../observability/logging.js';
import { addLogDirOption, openCliLogs } from './logs.js';
import { resolveHome } from '../common/home.js';
import { InvalidHyperparameterError } from '../common/errors.js';
import { DEFAULT_CNN, DEFAULT_MLP, type ModelSpec } from '../models/spec.js';
import { DEFAULT_EXPERIMENT, finishTrainingRun, logDatasetSamples, openTracking, startTrainingRun } from '../tracking/client/index.js';
import { DEFAULT_TRAINING, trainingParams, validateTrainingConfig, type TrainingConfig } from '../train/config.js';
import type { TrainingOutcome } from '../train/index.js';
import { checkExplicitDataDir } from './data-dir.js';
import { addDataOptions, checkDataDirWithData, type DataFlags, dataFlagValues, dataOptionsFor, loadData } from './data-flags.js';
import { checkTrackingUriSources, optionInteger, parseInteger, parseIntegerList, parseNumber } from './parse.js';
import { parseDevice } from '../engine/device-choice.js';

interface TrainFlags extends DataFlags {
  logDir?: string;
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
  device: string;
  dryRun?: boolean;
  trainLimit?: string;
  blas: boolean;
  json?: boolean;
  tracking: boolean;
  trackingUri?: string;
  experiment: string;
  runName?: string;
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

/** `--dry-run`: the configuration and the device that would train, without loading data or training. */
async function dryRun(flags: TrainFlags): Promise<void> {
  const config = configFromFlags(flags);
  validateTrainingConfig(config);
  const data = { source: 'fashion-mnist', ...dataFlagValues(flags, process.env) };
  await dataOptionsFor(data, { home: config.home }); // parses every data flag, so a bad one fails here too
  const { initEngine, describeEngine, engineTags } = await import('../engine/index.js');
  const engine = await initEngine({ blas: flags.blas ? 'auto' : 'off', quiet: true, device: parseDevice(flags.device) });
  if (flags.json) {
    console.log(JSON.stringify({ params: trainingParams(config), data, engine: { ...engineTags(engine), adapter: engine.adapter, device_reason: engine.deviceReason ?? null } }));
    return;
  }
  console.log(describeEngine(engine));
  for (const [key, value] of Object.entries(trainingParams(config))) console.log(`${key}: ${value}`);
  for (const [key, value] of Object.entries(data)) console.log(`data.${key}: ${String(value)}`);
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
    trainLimit: flags.trainLimit !== undefined ? parseInteger('train-limit', flags.trainLimit) : null,
  };
}

async function train(flags: TrainFlags): Promise<TrainingOutcome> {
  // Everything a user can get wrong is checked before the engine loads or a file is written.
  const config = configFromFlags(flags);
  validateTrainingConfig(config);
  const threads = flags.threads !== undefined ? optionInteger('--threads', flags.threads, { min: 1 }) : undefined;
  if (flags.tracking) checkTrackingUriSources(flags.trackingUri);
  await checkExplicitDataDir(config.dataDir);
  const dataConfig = dataFlagValues(flags, process.env);
  checkDataDirWithData(flags, dataConfig.source);
  // Human-readable progress goes to stdout unless stdout is reserved for the JSON result.
  const out = flags.json ? process.stderr : process.stdout;
  const logs = openCliLogs(flags);
  const logger = logs.logger('trainer');
  let log = logFunction(logger);
  // The engine (tfjs, wasm, OpenBLAS) loads only for commands that train: `kiln serve` never pays for it.
  const dataOptions = await dataOptionsFor(dataConfig, { home: config.home, dataDir: config.dataDir, log: (line) => log(line), progress: out });
  const [{ initEngine, describeEngine, engineTags }, { runTraining }] = await Promise.all([import('../engine/index.js'), import('../train/run-training.js')]);
  const engine = await initEngine({ blas: flags.blas ? 'auto' : 'off', threads, quiet: false, device: parseDevice(flags.device) });
  log(describeEngine(engine));
  const data = await loadData(dataOptions);
  const tracking = flags.tracking ? await openTracking({ uri: flags.trackingUri, home: config.home }) : null;
  try {
    const run = tracking
      ? await startTrainingRun(tracking, {
          experimentName: flags.experiment,
          runName: flags.runName,
          params: trainingParams(config),
          tags: { ...engineTags(engine), 'kiln.engine.blas': String(engine.blas.enabled), 'kiln.model': config.spec.kind },
          dataset: data.identity,
          datasetFiles: { sha256: data.sha256, sources: data.sources },
          logger: { onError: (error, lost) => log(`tracking: ${lost} metric points could not be stored: ${String(error)}`) },
        })
      : null;
    if (tracking && run) {
      log(`tracking: run ${run.runId} in experiment ${run.experimentId} (${tracking.uri})`);
      // Samples help a reviewer in the UI; losing them must not cost the training.
      await logDatasetSamples(tracking, run, data).catch((error: unknown) => log(`tracking: the dataset's sample images could not be logged: ${String(error)}`));
    }
    if (run) log = logFunction(logger.child({ run_id: run.runId }));
    const epochLog = new EpochLog(logs.logger('trainer', run ? { run_id: run.runId } : {}, { terminal: false }));
    const interrupted = (): void => {
      log('interrupted: marking the run KILLED');
      const done = tracking && run ? finishTrainingRun(tracking, run, { status: 'KILLED' }) : Promise.resolve();
      void done.finally(() => process.exit(130));
    };
    process.once('SIGINT', interrupted);
    let outcome: TrainingOutcome;
    try {
      outcome = await runTraining(config, { progress: out, engine, log, data, sinks: run ? [run.logger] : [], callbacks: [epochLog] });
    } catch (error) {
      if (tracking && run) await finishTrainingRun(tracking, run, { status: 'FAILED' });
      throw error;
    } finally {
      process.removeListener('SIGINT', interrupted);
    }
    if (tracking && run) {
      const { artifacts } = await finishTrainingRun(tracking, run, { modelPath: outcome.model_path, status: 'FINISHED' });
      log(`tracking: ${run.logger.stored} metric points and ${artifacts} model files logged to run ${run.runId}`);
    }
    log(
      `test_acc ${(outcome.test_acc ?? Number.NaN).toFixed(4)}  val_acc ${outcome.val_acc.toFixed(4)} (epoch ${outcome.best_epoch})  ` +
        `${outcome.epochs} epochs (${outcome.stopped_by})  ${outcome.seconds.toFixed(1)}s\nmodel saved to ${outcome.model_path}`,
    );
    if (flags.json) {
      const { history, ...summary } = outcome;
      const ids = run ? { run_id: run.runId, experiment_id: run.experimentId, tracking_uri: tracking?.uri } : {};
      console.log(JSON.stringify({ ...summary, ...ids, history }));
    }
    return outcome;
  } finally {
    await tracking?.close();
    logs.close();
  }
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
    .option('--train-limit <n>', 'train on only the first n images of the training split (smoke runs; default all)')
    .option('--validation-size <n>', 'images of the canonical train set held out for validation', String(DEFAULT_TRAINING.validationSize))
    .option('--patience <n>', 'early stopping: epochs without val_acc improvement', String(DEFAULT_TRAINING.patience))
    .option('--no-early-stopping', 'train for all epochs')
    .option('--top-k <n>', 'checkpoint: best epochs kept (the best is restored before test)', String(DEFAULT_TRAINING.checkpointTopK))
    .option('--augment-rotation <degrees>', 'random rotation up to this many degrees (default 0: off)')
    .option('--augment-flip <probability>', 'horizontal flip probability (default 0: off)')
    .option('--out <folder>', 'model folder to write (default <home>/models/<kind>-<timestamp>)')
    .option('--home <dir>', 'Kiln data directory (default $KILN_HOME or ./kiln-data)')
    .option('--data-dir <dir>', 'folder holding the four Fashion-MNIST files, used alone (default $KILN_DATA_DIR; without either: the Debian package, the cache, then a download)')
    .option('--threads <n>', 'OpenBLAS threads (default: the cores available)')
    .option('--no-blas', 'run on the plain wasm kernels, without OpenBLAS')
    .option('--device <kind>', 'what trains: auto (a hardware GPU when present, else the CPU), cpu, or gpu (any WebGPU adapter, software ones too)', process.env.KILN_DEVICE ?? 'auto')
    .option('--dry-run', 'print the device that would train (the GPU adapter, or why not) and the parameters, then exit')
    .option('--tracking-uri <uri>', 'tracking server URL or store URI (default $KILN_TRACKING_URI, $MLFLOW_TRACKING_URI, then sqlite:///<home>/tracking.db)')
    .option('--experiment <name>', 'experiment to log the run in', DEFAULT_EXPERIMENT)
    .option('--run-name <name>', 'name of the tracking run (default: generated)')
    .option('--no-tracking', 'do not log the run to a tracking store')
    .option('--json', 'print the result as one JSON object on the last stdout line');
}

export function registerTrainCommands(program: Command): void {
  addLogDirOption(addDataOptions(addTrainOptions(program.command('train').description('train one model (on Fashion-MNIST, or your own images with --data), test it, and save the model folder')))).action(
    async (flags: TrainFlags) => {
      if (flags.dryRun) await dryRun(flags);
      else await train(flags);
    },
  );
}
