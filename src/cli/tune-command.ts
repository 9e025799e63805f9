/**
 * cli/tune-command — `kiln tune`: run a study from a profile (and kiln.yml), register its best
 * model and promote it if it beats the champion. `--json` ends with one JSON object.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { resolveHome } from '../common/home.js';
import type { PipelineConfig, ResolvedConfig } from '../pipeline/config.js';
import type { StudyRunResult, StudyWorker } from '../pipeline/study-run.js';
import { openTracking, type TrackingSession } from '../tracking/client/index.js';
import { serveMetrics, TrainingMetrics } from '../observability/trainer-metrics.js';
import type { WebGpuMemory } from '../observability/webgpu-metrics.js';
import { EpochLog, LogSink, logFunction, resolveLogDir } from '../observability/logging.js';
import { addLogDirOption, openCliLogs } from './logs.js';
import { checkExplicitDataDir } from './data-dir.js';
import { addDataOptions, checkDataDirWithData, type DataFlags, dataOptionsFor, loadData } from './data-flags.js';
import { CliError, listeningOn } from './errors.js';
import { checkStoreUri, checkTrackingUriSources, optionInteger, optionNumber, parsePort } from './parse.js';

export interface TuneFlags extends DataFlags {
  profile?: string;
  config?: string;
  workers?: string;
  nTrials?: string;
  timeout?: string;
  epochs?: string;
  studyName?: string;
  sampler?: string;
  pruner?: string;
  trackingUri?: string;
  storage?: string;
  home?: string;
  dataDir?: string;
  threads?: string;
  device?: string;
  metricsPort?: string;
  metricsHost?: string;
  logDir?: string;
  json?: boolean;
  dryRun?: boolean;
}

/** Flags in configuration shape (they override file and environment). */
export function flagOverrides(flags: TuneFlags, configFlags: typeof import('../pipeline/config.js').CONFIG_FLAGS): Record<string, unknown> {
  const overrides: Record<string, unknown> = {};
  for (const { key, flag, kind } of configFlags) {
    if (key === 'profile') continue; // it picks the profile, it is no value of it
    const field = flag.slice(2); // n-trials
    const text = flags[field.replace(/-(\w)/g, (_, letter: string) => letter.toUpperCase()) as keyof TuneFlags]; // flags.nTrials
    if (typeof text !== 'string') continue;
    const value = kind === 'integer' ? optionInteger(flag, text) : kind === 'number' ? optionNumber(flag, text) : text;
    const [section, name] = key.split('.') as [string, string | undefined];
    if (name === undefined) overrides[section] = value; // a top-level key (device)
    else ((overrides[section] ??= {}) as Record<string, unknown>)[name] = value;
  }
  return overrides;
}

export async function resolveTuneConfig(flags: TuneFlags): Promise<ResolvedConfig> {
  const file = flags.config ?? (existsSync('kiln.yml') ? 'kiln.yml' : undefined);
  // The configuration module (and its schema library) loads only when a study is configured.
  const { CONFIG_FLAGS, resolveConfig } = await import('../pipeline/config.js');
  const overrides = flagOverrides(flags, CONFIG_FLAGS);
  if (flags.skipBadImages) overrides.data = { ...(overrides.data as Record<string, unknown> | undefined), skip_bad_images: true };
  return resolveConfig({ profile: flags.profile, file, overrides });
}

export async function loadTuneConfig(flags: TuneFlags): Promise<PipelineConfig> {
  return (await resolveTuneConfig(flags)).config;
}

/** `--dry-run`: the effective configuration, each value with its origin (flag, env, profile, file, default). */
export async function printDryRun(resolved: ResolvedConfig, json: boolean | undefined): Promise<void> {
  const { describeOrigin, effectiveValues } = await import('../pipeline/config.js');
  const rows = effectiveValues(resolved);
  if (json) {
    // Origins of every value set, a range's ends apart (search_space.units.low, …).
    console.log(JSON.stringify({ dry_run: true, config: resolved.config, origins: Object.fromEntries(resolved.origins), warnings: resolved.warnings }));
    return;
  }
  const shown = rows.map(([key, value, origins]) => [key, typeof value === 'string' ? value : JSON.stringify(value), origins.map(describeOrigin).join(' + ')] as const);
  const keyWidth = Math.max(...shown.map(([key]) => key.length));
  const valueWidth = Math.min(48, Math.max(...shown.map(([, value]) => value.length)));
  console.log(`effective configuration (profile ${resolved.config.profile}; precedence: flag > env > profile > file > default):`);
  for (const [key, value, origin] of shown) console.log(`  ${key.padEnd(keyWidth)}  ${value.padEnd(valueWidth)}  ${origin}`);
}

/** The flags `kiln tune` and `kiln start` share, checked before anything starts (the configuration aside). */
export async function checkTuneFlags(flags: TuneFlags): Promise<{ threads: number | undefined; metricsPort: number | undefined }> {
  const threads = flags.threads !== undefined ? optionInteger('--threads', flags.threads, { min: 1 }) : undefined;
  const metricsPort = flags.metricsPort !== undefined ? parsePort('--metrics-port', flags.metricsPort) : undefined;
  checkTrackingUriSources(flags.trackingUri);
  if (flags.storage !== undefined) checkStoreUri(flags.storage, '--storage');
  await checkExplicitDataDir(flags.dataDir);
  checkDataDirWithData(flags, flags.data ?? process.env.KILN_DATA);
  return { threads, metricsPort };
}

/** What a worker process needs, handed over in the KILN_TUNE_WORKER environment variable. */
interface WorkerTask extends StudyWorker {
  config: PipelineConfig;
  home: string;
  trackingUri: string;
  dataDir?: string;
  threads: number;
  logDir: string;
}

const KILN_BIN = fileURLToPath(new URL('../../../bin/kiln.js', import.meta.url));

/** The engine, the data and the study loop load only when a study runs (not for `kiln --help` or `kiln serve`). */
async function loadTrainingModules() {
  const [engine, studyRun] = await Promise.all([import('../engine/index.js'), import('../pipeline/study-run.js')]);
  return { tf: engine.tf, initEngine: engine.initEngine, describeEngine: engine.describeEngine, runStudy: studyRun.runStudy, runStudyWorker: studyRun.runStudyWorker };
}

export async function tune(
  flags: TuneFlags,
  log: (message: string) => void,
  onInterruptible?: (interrupt: () => Promise<void>) => void,
  logs?: LogSink,
  resolved?: PipelineConfig,
): Promise<StudyRunResult> {
  const config = resolved ?? (await loadTuneConfig(flags));
  const checked = await checkTuneFlags(flags);
  const home = resolveHome(flags.home);
  const workers = config.study.workers;
  // The metrics port is taken first: a port in use fails the command before the engine or the data load.
  const metrics = checked.metricsPort !== undefined ? new TrainingMetrics() : undefined;
  const endpoint = metrics ? await listeningOn('--metrics-port', () => serveMetrics(metrics, { host: flags.metricsHost, port: checked.metricsPort })) : null;
  let tracking: TrackingSession | null = null;
  try {
    if (endpoint) log(`trainer metrics (Prometheus): ${endpoint.url}`);
    if (metrics && (await metrics.addGpuMetrics())) log('GPU metrics (nvidia-smi): on');
    // The cores are divided among the workers' BLAS pools.
    const threads = checked.threads ?? (workers > 1 ? Math.max(1, Math.floor(availableParallelism() / workers)) : undefined);
    const dataOptions = await dataOptionsFor(config.data, { home, dataDir: flags.dataDir, log, progress: process.stderr });
    const { tf, initEngine, describeEngine, runStudy } = await loadTrainingModules();
    const engine = await initEngine({ threads, quiet: false, device: config.device ?? 'auto' });
    log(describeEngine(engine));
    if (metrics && engine.adapter !== null) {
      metrics.addWebGpuMetrics({ adapter: engine.adapter, memory: () => tf.memory() as WebGpuMemory });
      log('GPU metrics (WebGPU: adapter, tfjs memory, step wait): on');
    }
    const data = await loadData(dataOptions);
    const session = await openTracking({ uri: flags.trackingUri, home });
    tracking = session;
    const spawnWorker = (worker: StudyWorker): Promise<number | null> => {
      const task: WorkerTask = { config, ...worker, home, trackingUri: session.uri, dataDir: flags.dataDir, threads: threads ?? 1, logDir: resolveLogDir(flags.logDir) };
      const child = spawn(process.execPath, [KILN_BIN, 'tune-worker'], {
        env: { ...process.env, KILN_TUNE_WORKER: JSON.stringify(task) },
        // Under --json the parent's stdout is for its JSON result only: a worker's stdout goes to stderr.
        stdio: ['ignore', flags.json ? 2 : 'inherit', 'inherit'],
      });
      log(`worker ${worker.index} (pid ${String(child.pid)}): trials until the study has ${worker.target}, ${task.threads} BLAS thread(s)`);
      return new Promise((resolve) => child.once('close', (code) => resolve(code)));
    };
    log(
      `tuning: profile ${config.profile}, ${config.study.n_trials} trials, ${config.training.epochs} epochs each, ${config.study.sampler} + ${config.study.pruner}, ` +
        `${workers} worker${workers === 1 ? '' : 's'}, tracking ${session.uri}`,
    );
    // One structured record per trial epoch in server_log.log, carrying study, trial and run id.
    const trialCallback = logs ? (fields: { study: string; trial: number; run_id: string | null }) => new EpochLog(logs.logger('trainer', fields, { terminal: false })) : undefined;
    return await runStudy({ config, home, data, engine, tracking: session, storageUri: flags.storage, log, metrics, onInterruptible, trialCallback, ...(workers > 1 ? { spawnWorker } : {}) });
  } finally {
    await endpoint?.close();
    await tracking?.close();
  }
}

/** The hidden `kiln tune-worker` command: one extra worker of a running study. */
async function tuneWorker(): Promise<void> {
  const text = process.env.KILN_TUNE_WORKER;
  if (!text) throw new CliError('KILN_ERR_USAGE', 'kiln tune-worker is started by kiln tune --workers N, not by hand');
  const task = JSON.parse(text) as WorkerTask;
  // Workers append to the parent's log files; only the parent rotates them.
  const logs = new LogSink({ dir: task.logDir, terminal: process.stderr, rotation: { rotate: false } });
  const workerLog = logFunction(logs.logger('trainer', { study: task.config.study.name, worker: task.index }));
  const log = (message: string): void => workerLog(`[worker ${task.index}] ${message}`);
  const { initEngine, describeEngine, runStudyWorker } = await loadTrainingModules();
  const engine = await initEngine({ threads: task.threads, quiet: true, device: task.config.device ?? 'auto' });
  log(describeEngine(engine));
  // The parent decoded the data first: a worker reads the cache.
  const data = await loadData(await dataOptionsFor(task.config.data, { home: task.home, dataDir: task.dataDir }));
  const tracking = await openTracking({ uri: task.trackingUri, home: task.home });
  try {
    await runStudyWorker({
      config: task.config,
      home: task.home,
      data,
      engine,
      tracking,
      storageUri: task.storageUri,
      parentRunId: task.parentRunId,
      workerIndex: task.index,
      target: task.target,
      seed: task.seed,
      deadline: task.deadline,
      log,
      trialCallback: (fields) => new EpochLog(logs.logger('trainer', { ...fields, worker: task.index }, { terminal: false })),
    });
  } finally {
    await tracking.close();
    logs.close();
  }
}

export function addTuneOptions(command: Command): Command {
  return addDataOptions(addLogDirOption(command))
    .option('--profile <name>', 'seed, quick (default) or best, or a profile defined in the config file')
    .option('--config <file>', 'YAML configuration (default ./kiln.yml when present)')
    .option('--workers <n>', 'trials run in parallel')
    .option('--n-trials <n>', 'number of trials')
    .option('--timeout <seconds>', 'no new trial starts after this many seconds')
    .option('--epochs <n>', 'epochs per trial')
    .option('--study-name <name>', 'study to create or resume')
    .option('--sampler <name>', 'tpe or random')
    .option('--pruner <name>', 'median, percentile, successive-halving, hyperband or none')
    .option('--tracking-uri <uri>', 'tracking server URL or store URI (default $KILN_TRACKING_URI, $MLFLOW_TRACKING_URI, then sqlite:///<home>/tracking.db)')
    .option('--storage <uri>', 'database holding the study (default: where tracking goes: the tracking database, or the tracking server)')
    .option('--home <dir>', 'Kiln data directory (default $KILN_HOME or ./kiln-data)')
    .option('--data-dir <dir>', 'folder holding the four Fashion-MNIST files, used alone (default $KILN_DATA_DIR; without either: the Debian package, the cache, then a download)')
    .option('--threads <n>', 'OpenBLAS threads')
    .option('--device <kind>', 'what trains (each worker): auto (a hardware GPU when present, else the CPU), cpu, or gpu (software adapters too); env KILN_DEVICE, kiln.yml device:')
    .option('--metrics-port <port>', 'expose the trainer/study Prometheus metrics on this port (kiln start: 8001)')
    .option('--metrics-host <host>', 'interface of the metrics endpoint (default 127.0.0.1; 0.0.0.0 in a container)')
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .option('--dry-run', 'print the effective configuration, each value with its origin (flag, env, profile, file, default), and exit');
}

export function registerTuneCommand(program: Command): void {
  program.command('tune-worker', { hidden: true }).action(tuneWorker);
  addTuneOptions(program.command('tune').description('run a hyperparameter study, register its best model, promote it if it beats the champion')).action(
    async (flags: TuneFlags) => {
      // The configuration and the flags are checked before a log file is opened.
      const resolved = await resolveTuneConfig(flags);
      if (flags.dryRun) {
        for (const warning of resolved.warnings) console.error(`warning: ${warning}`);
        await printDryRun(resolved, flags.json);
        return;
      }
      await checkTuneFlags(flags);
      const logs = openCliLogs(flags);
      const log = logFunction(logs.logger('trainer', { study: resolved.config.study.name }));
      for (const warning of resolved.warnings) log(`warning: ${warning}`);
      let interrupt: (() => Promise<void>) | null = null;
      const stop = (): void => {
        log('interrupted: marking running trials FAIL and the study run KILLED');
        void (interrupt?.() ?? Promise.resolve()).finally(() => process.exit(130));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const result = await tune(flags, log, (fn) => (interrupt = fn), logs, resolved.config);
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
      log(
        `best trial ${String(result.best_trial)}: val_acc ${result.best_value?.toFixed(4) ?? '-'}, test_acc ${result.test_acc?.toFixed(4) ?? '-'}; ` +
          `${result.trials.complete} complete, ${result.trials.pruned} pruned, ${result.trials.failed} failed in ${result.seconds.toFixed(1)} s` +
          (result.version ? `; version ${result.version}${result.promoted ? ' is @champion' : ''}` : ''),
      );
      if (flags.json) console.log(JSON.stringify(result));
      logs.close();
    },
  );
}
