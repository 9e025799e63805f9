/**
 * pipeline/study-run — a whole tuning study, as `kiln tune` and `kiln start` run it:
 * a parent tracking run, the study in the tracking database or on the tracking server (resumed by
 * name), trials as child runs, then the best trial by validation accuracy tested on the canonical
 * test set, registered as a new version and promoted to the alias only if it beats the current
 * holder; the study's summary (best params, importances, trial counts) goes to the parent run.
 */
import type { LabelledDataset } from '../data/index.js';
import type { EngineInfo } from '../engine/index.js';
import { loadModelFolder } from '../models/index.js';
import {
  logDatasetSamples,
  promoteIfBetter,
  registerModelVersion,
  type SampledDataset,
  startTrainingRun,
  type TrackingSession,
  type TrainingRun,
} from '../tracking/client/index.js';
import { Trainer } from '../train/index.js';
import { parameterImportances } from '../tune/importance.js';
import { HyperbandPruner } from '../tune/pruners/hyperband.js';
import { MedianPruner } from '../tune/pruners/median.js';
import { NopPruner } from '../tune/pruners/nop.js';
import { PercentilePruner } from '../tune/pruners/percentile.js';
import { SuccessiveHalvingPruner } from '../tune/pruners/successive-halving.js';
import { RandomSampler } from '../tune/samplers/random.js';
import { TPESampler } from '../tune/samplers/tpe.js';
import { openStudyStorage } from '../tune/storage/open.js';
import { createStudyIfAbsent, processSeed, roundTarget } from '../tune/shared-study.js';
import { createStudy, loadStudy } from '../tune/study.js';
import type { FrozenTrial, Pruner, Sampler } from '../tune/types.js';
import type { TrainingMetrics } from '../observability/trainer-metrics.js';
import type { PipelineConfig } from './config.js';
import { type ObjectiveContext, trainingObjective } from './objective.js';

export interface StudyRunOptions {
  config: PipelineConfig;
  /**
   * Starts worker `index` (1 … workers-1) as another process working on the study until it has
   * `target` trials (counted for the study as a whole, tune/shared-study), its sampler seeded
   * from `seed`; resolves when it exits, with its exit code. Without it, all trials run here.
   */
  spawnWorker?: (worker: StudyWorker) => Promise<number | null>;
  home: string;
  data: LabelledDataset;
  engine: EngineInfo;
  tracking: TrackingSession;
  /** Database holding the study (default: where tracking goes, a database or a tracking server). */
  storageUri?: string;
  log: (message: string) => void;
  /** Prometheus metrics of the trainer and the study, when exposed. */
  metrics?: TrainingMetrics;
  /** Structured per-epoch records of each trial (see ObjectiveContext.trialCallback). */
  trialCallback?: ObjectiveContext['trialCallback'];
  /**
   * Receives a function that winds the study down after an interruption (Ctrl-C): trials still
   * RUNNING become FAIL (reason "interrupted") and the parent run ends KILLED.
   */
  onInterruptible?: (interrupt: () => Promise<void>) => void;
}

export interface StudyRunResult {
  study: string;
  profile: string;
  best_value: number | null;
  best_params: Record<string, unknown>;
  best_trial: number | null;
  test_acc: number | null;
  trials: { complete: number; pruned: number; failed: number; total: number };
  importances: Record<string, number>;
  version: string | null;
  promoted: boolean;
  promotion: string | null;
  parent_run_id: string;
  seconds: number;
}

/** What a worker process of `kiln tune --workers N` is handed. */
export interface StudyWorker {
  index: number;
  parentRunId: string;
  storageUri: string;
  deadline: number;
  /** The study-wide trial count to reach (tune/shared-study's round target). */
  target: number;
  /** The parent's sampler seed (its workers add index × 7919). */
  seed: number;
}

export const HEARTBEAT_INTERVAL_MS = 5000;

/**
 * The sampler of worker `workerIndex` seeded from `seed` (default the configured one). `shared`:
 * the study is in a storage other processes may use (a database or a server), where the constant
 * liar keeps workers from proposing the same point; alone on a study it changes nothing, as
 * there is no other RUNNING trial to lie about.
 */
export function makeSampler(config: PipelineConfig, workerIndex = 0, options: { seed?: number; shared?: boolean } = {}): Sampler {
  // Each worker its own stream, or parallel workers would propose the same first points.
  const seed = ((options.seed ?? config.study.seed) + workerIndex * 7919) >>> 0;
  const constantLiar = options.shared ?? config.study.workers > 1;
  return config.study.sampler === 'random' ? new RandomSampler({ seed }) : new TPESampler({ seed, constantLiar });
}

export function makePruner(config: PipelineConfig): Pruner {
  switch (config.study.pruner) {
    case 'median':
      return new MedianPruner({ nStartupTrials: 3, nWarmupSteps: 1 });
    case 'percentile':
      return new PercentilePruner(25, { nStartupTrials: 3, nWarmupSteps: 1 });
    case 'successive-halving':
      return new SuccessiveHalvingPruner();
    case 'hyperband':
      return new HyperbandPruner({ minResource: 1, maxResource: config.training.epochs });
    case 'none':
      return new NopPruner();
  }
}

/**
 * Where the study lives: `--storage` when given, else where tracking goes — the tracking
 * database, or the tracking server (which keeps it in its own database, so its Studies page and
 * every worker that knows only its URL share the study).
 */
export function studyStorageUri(options: { storageUri?: string; tracking: TrackingSession }): string {
  return options.storageUri || options.tracking.uri;
}

function count(trials: FrozenTrial[]): StudyRunResult['trials'] {
  const by = (state: string): number => trials.filter((t) => t.state === state).length;
  return { complete: by('COMPLETE'), pruned: by('PRUNED'), failed: by('FAIL'), total: trials.length };
}

/** The dataset's sample images on the parent run; a failure costs the UI its pictures, not the study. */
async function logSamples(tracking: TrackingSession, run: TrainingRun, dataset: SampledDataset, log: (line: string) => void): Promise<void> {
  try {
    await logDatasetSamples(tracking, run, dataset);
  } catch (error) {
    log(`tracking: the dataset's sample images could not be logged: ${String(error)}`);
  }
}

export async function runStudy(options: StudyRunOptions): Promise<StudyRunResult> {
  const { config, tracking, log } = options;
  const started = performance.now();
  /** When the study's time budget ends (Date.now() ms): no trial starts after it; with timeout_mode hard, running trials stop too. */
  const deadline = Date.now() + config.study.timeout_s * 1000;
  const storageUri = studyStorageUri(options);
  const storage = await openStudyStorage(storageUri);
  // Before the parent run, so that a storage that cannot keep the study (an MLflow server has no
  // study API) fails the command at once and leaves no run behind. The creator keeps the
  // configured seed (reproducible); a process joining an existing study mixes in its own entropy,
  // or two processes would propose the same trials.
  let seed: number;
  try {
    seed = processSeed(config.study.seed, !(await createStudyIfAbsent(storage, config.study.name, 'maximize')));
  } catch (error) {
    await storage.close();
    throw error;
  }
  const dataset = options.data;
  const parent = await startTrainingRun(tracking, {
    runName: `${config.study.name}`,
    params: {
      profile: config.profile,
      sampler: config.study.sampler,
      pruner: config.study.pruner,
      n_trials: String(config.study.n_trials),
      timeout_s: String(config.study.timeout_s),
      workers: String(config.study.workers),
      epochs: String(config.training.epochs),
      search_space: JSON.stringify(config.search_space),
    },
    tags: { 'kiln.study': config.study.name, 'kiln.run_type': 'study', 'mlflow.source.name': 'kiln tune' },
    dataset: dataset.identity,
    datasetFiles: { sha256: options.data.sha256, sources: options.data.sources },
  });
  log(`study ${config.study.name} (profile ${config.profile}): parent run ${parent.runId}`);
  await logSamples(tracking, parent, dataset, log);
  options.onInterruptible?.(async () => {
    const studyId = await storage.getStudyIdByName(config.study.name);
    if (studyId !== undefined) {
      for (const trial of await storage.getAllTrials(studyId, ['RUNNING'])) {
        if (await storage.setTrialStateValue(trial.trialId, 'FAIL')) await storage.setTrialSystemAttr(trial.trialId, 'fail_reason', 'interrupted');
      }
    }
    await parent.logger.end('KILLED');
  });
  try {
    const study = await createStudy({
      studyName: config.study.name,
      direction: 'maximize',
      sampler: makeSampler(config, 0, { seed, shared: true }),
      pruner: makePruner(config),
      storage,
      loadIfExists: true,
      heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
    });
    const objective = trainingObjective({
      config,
      home: options.home,
      data: options.data,
      engine: options.engine,
      tracking,
      parentRunId: parent.runId,
      log,
      callbacks: options.metrics ? [options.metrics] : [],
      deadline,
      trialCallback: options.trialCallback,
    });
    const metrics = options.metrics;
    const observe = metrics
      ? [
          async (): Promise<void> => {
            const all = await study.trials();
            const counts = count(all);
            const running = all.filter((t) => t.state === 'RUNNING').length;
            const values = all.filter((t) => t.state === 'COMPLETE' && t.value !== null).map((t) => t.value as number);
            metrics.setStudy({ running, complete: counts.complete, pruned: counts.pruned, failed: counts.failed }, values.length ? Math.max(...values) : null);
          },
        ]
      : [];
    // n_trials counts for the study as a whole: every process works until it has them, so the
    // trials of a worker that dies are run by the others.
    const target = await roundTarget(storage, study.studyId, config.study.n_trials);
    const spawnWorker = options.spawnWorker;
    const extra = spawnWorker ? Math.max(0, Math.min(config.study.workers, config.study.n_trials) - 1) : 0;
    const workers = Array.from({ length: extra }, (_, i) => spawnWorker!({ index: i + 1, parentRunId: parent.runId, storageUri, deadline, target, seed }));
    await study.optimize(objective, { studyTarget: target, timeout: config.study.timeout_s, callbacks: observe });
    const exits = await Promise.all(workers);
    exits.forEach((code, i) => {
      if (code !== 0) log(`worker ${i + 1} exited with ${String(code)}; its unfinished trial is marked FAIL once its heartbeat is stale`);
    });
    if (exits.some((code) => code !== 0)) {
      // Every worker of this run has exited: whatever is still RUNNING past the grace period is orphaned.
      const studyId = await storage.getStudyIdByName(config.study.name);
      if (studyId !== undefined) {
        await new Promise((resolve) => setTimeout(resolve, 2 * HEARTBEAT_INTERVAL_MS));
        await storage.failStaleTrials(studyId, 2 * HEARTBEAT_INTERVAL_MS);
      }
    }

    const trials = await study.trials();
    const counts = count(trials);
    const completed = trials.filter((t) => t.state === 'COMPLETE');
    let best: FrozenTrial | null = null;
    for (const trial of completed) if (best === null || (trial.value ?? -Infinity) > (best.value ?? -Infinity)) best = trial;
    let importances: Record<string, number> = {};
    if (completed.length >= 2) {
      try {
        importances = parameterImportances(completed, { evaluator: 'fanova', seed: config.study.seed });
      } catch (error) {
        log(`importances not computed: ${(error as Error).message}`);
      }
    }
    let testAcc: number | null = null;
    let version: string | null = null;
    let promotion: { moved: boolean; reason: string } | null = null;
    if (best !== null) {
      // Selection used validation accuracy only; the test set is touched once, here.
      const { model } = await loadModelFolder(String(best.userAttrs.model_path));
      try {
        testAcc = (await new Trainer().test(model, options.data.test)).acc;
      } finally {
        model.dispose();
      }
      const bestRun = typeof best.userAttrs.run_id === 'string' ? best.userAttrs.run_id : null;
      if (bestRun) {
        await tracking.store.logBatch(bestRun, { metrics: [{ key: 'test_acc', value: testAcc, step: 0, timestamp: Date.now() }] });
        // A resumed study whose best trial did not change already registered that run: reuse it.
        const earlier = await tracking.store
          .searchModelVersions({ filter: `name = '${config.registry.model_name.replace(/'/g, "\\'")}' and run_id = '${bestRun}'`, max_results: 1 });
        const registered =
          earlier.items[0] ?? (await registerModelVersion(tracking.store, { runId: bestRun, name: config.registry.model_name, description: `best of study ${config.study.name}` }));
        version = registered.version;
        promotion = await promoteIfBetter(tracking.store, { name: config.registry.model_name, version, alias: config.registry.alias, metric: config.registry.metric });
        log(`registered ${config.registry.model_name} version ${version}; ${promotion.moved ? 'moved' : 'kept'} @${config.registry.alias}: ${promotion.reason}`);
      }
    }
    const summary: Record<string, number> = {
      n_complete: counts.complete,
      n_pruned: counts.pruned,
      n_failed: counts.failed,
      ...(best?.value !== null && best?.value !== undefined ? { best_val_acc: best.value } : {}),
      ...(testAcc !== null ? { test_acc: testAcc } : {}),
    };
    const now = Date.now();
    await tracking.store.logBatch(parent.runId, {
      metrics: Object.entries(summary).map(([key, value]) => ({ key, value, step: 0, timestamp: now })),
      tags: [
        { key: 'kiln.best_params', value: JSON.stringify(best?.params ?? {}) },
        { key: 'kiln.best_trial', value: String(best?.number ?? '') },
        { key: 'kiln.importances', value: JSON.stringify(importances) },
        ...(version ? [{ key: 'kiln.registered_version', value: version }] : []),
      ],
    });
    await parent.logger.end('FINISHED');
    return {
      study: config.study.name,
      profile: config.profile,
      best_value: best?.value ?? null,
      best_params: best?.params ?? {},
      best_trial: best?.number ?? null,
      test_acc: testAcc,
      trials: counts,
      importances,
      version,
      promoted: promotion?.moved ?? false,
      promotion: promotion?.reason ?? null,
      parent_run_id: parent.runId,
      seconds: (performance.now() - started) / 1000,
    };
  } catch (error) {
    await parent.logger.end('FAILED');
    throw error;
  } finally {
    await storage.close();
  }
}

/** One extra worker process of a study that `runStudy` started: runs its share of trials. */
export async function runStudyWorker(options: {
  config: PipelineConfig;
  home: string;
  data: LabelledDataset;
  engine: EngineInfo;
  tracking: TrackingSession;
  storageUri: string;
  parentRunId: string;
  workerIndex: number;
  /** The study-wide target and the parent's seed, as runStudy handed them (StudyWorker). */
  target: number;
  seed: number;
  /** The study's deadline, as runStudy set it (Date.now() ms). */
  deadline: number;
  log: (message: string) => void;
  trialCallback?: ObjectiveContext['trialCallback'];
}): Promise<void> {
  const { config } = options;
  const storage = await openStudyStorage(options.storageUri);
  try {
    const study = await loadStudy(config.study.name, storage, {
      sampler: makeSampler(config, options.workerIndex, { seed: options.seed, shared: true }),
      pruner: makePruner(config),
      heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
    });
    const objective = trainingObjective({ ...options, parentRunId: options.parentRunId });
    await study.optimize(objective, { studyTarget: options.target, timeout: Math.max(0, (options.deadline - Date.now()) / 1000) });
  } finally {
    await storage.close();
  }
}
