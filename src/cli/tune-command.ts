/**
 * cli/tune-command — `kiln tune`: run a study from a profile (and kiln.yml), register its best
 * model and promote it if it beats the champion. `--json` ends with one JSON object.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { resolveHome } from '../common/home.js';
import { loadFashionMnist } from '../data/index.js';
import { initEngine } from '../engine/index.js';
import { loadConfig, type PipelineConfig } from '../pipeline/config.js';
import { runStudy, type StudyRunResult } from '../pipeline/study-run.js';
import { openTracking } from '../tracking/client/index.js';
import { parseInteger, parseNumber } from './parse.js';

export interface TuneFlags {
  profile?: string;
  config?: string;
  workers?: string;
  nTrials?: string;
  timeout?: string;
  epochs?: string;
  studyName?: string;
  trackingUri?: string;
  storage?: string;
  home?: string;
  dataDir?: string;
  threads?: string;
  json?: boolean;
}

/** Flags in configuration shape (they override file and environment). */
export function flagOverrides(flags: TuneFlags): Record<string, unknown> {
  const study: Record<string, unknown> = {};
  if (flags.workers !== undefined) study.workers = parseInteger('workers', flags.workers);
  if (flags.nTrials !== undefined) study.n_trials = parseInteger('n-trials', flags.nTrials);
  if (flags.timeout !== undefined) study.timeout_s = parseNumber('timeout', flags.timeout);
  if (flags.studyName !== undefined) study.name = flags.studyName;
  const overrides: Record<string, unknown> = {};
  if (Object.keys(study).length > 0) overrides.study = study;
  if (flags.epochs !== undefined) overrides.training = { epochs: parseInteger('epochs', flags.epochs) };
  return overrides;
}

export async function loadTuneConfig(flags: TuneFlags): Promise<PipelineConfig> {
  const file = flags.config ?? (existsSync('kiln.yml') ? 'kiln.yml' : undefined);
  return loadConfig({ profile: flags.profile, file, overrides: flagOverrides(flags) });
}

export async function tune(flags: TuneFlags, log: (message: string) => void): Promise<StudyRunResult> {
  const config = await loadTuneConfig(flags);
  if (config.study.workers > 1) {
    log(`note: ${config.study.workers} workers requested; this version runs the study's trials in one process`);
  }
  const home = resolveHome(flags.home);
  const threads = flags.threads !== undefined ? parseInteger('threads', flags.threads) : undefined;
  const engine = await initEngine({ threads, quiet: false });
  const data = await loadFashionMnist({ dataDir: flags.dataDir, log });
  const tracking = await openTracking({ uri: flags.trackingUri, home });
  try {
    log(`tuning: profile ${config.profile}, ${config.study.n_trials} trials, ${config.training.epochs} epochs each, ${config.study.sampler} + ${config.study.pruner}, tracking ${tracking.uri}`);
    return await runStudy({ config, home, data, engine, tracking, storageUri: flags.storage, log });
  } finally {
    await tracking.close();
  }
}

export function addTuneOptions(command: Command): Command {
  return command
    .option('--profile <name>', 'seed, quick (default) or best, or a profile defined in the config file')
    .option('--config <file>', 'YAML configuration (default ./kiln.yml when present)')
    .option('--workers <n>', 'trials run in parallel')
    .option('--n-trials <n>', 'number of trials')
    .option('--timeout <seconds>', 'no new trial starts after this many seconds')
    .option('--epochs <n>', 'epochs per trial')
    .option('--study-name <name>', 'study to create or resume')
    .option('--tracking-uri <uri>', 'tracking server URL or store URI (default $KILN_TRACKING_URI, $MLFLOW_TRACKING_URI, then sqlite:///<home>/tracking.db)')
    .option('--storage <uri>', 'database holding the study (default: the tracking database)')
    .option('--home <dir>', 'Kiln data directory (default $KILN_HOME or ./kiln-data)')
    .option('--data-dir <dir>', 'folder holding the Fashion-MNIST files')
    .option('--threads <n>', 'OpenBLAS threads')
    .option('--json', 'print the result as one JSON object on the last stdout line');
}

export function registerTuneCommand(program: Command): void {
  addTuneOptions(program.command('tune').description('run a hyperparameter study, register its best model, promote it if it beats the champion')).action(
    async (flags: TuneFlags) => {
      const out = flags.json ? process.stderr : process.stdout;
      const log = (message: string): void => void out.write(`${message}\n`);
      const result = await tune(flags, log);
      log(
        `best trial ${String(result.best_trial)}: val_acc ${result.best_value?.toFixed(4) ?? '-'}, test_acc ${result.test_acc?.toFixed(4) ?? '-'}; ` +
          `${result.trials.complete} complete, ${result.trials.pruned} pruned, ${result.trials.failed} failed in ${result.seconds.toFixed(1)} s` +
          (result.version ? `; version ${result.version}${result.promoted ? ' is @champion' : ''}` : ''),
      );
      if (flags.json) console.log(JSON.stringify(result));
    },
  );
}
