/**
 * tune — Kiln's hyperparameter tuner, an Optuna-class define-by-run optimiser.
 *
 * A Study asks its Sampler for parameter values as the objective calls `trial.suggest*`, records
 * trials in a StudyStorage (in memory here; the tracking database for many workers), and stops
 * unpromising trials through a Pruner fed by `trial.report` / `trial.shouldPrune`.
 *
 * - types.ts: the vocabulary (distributions, FrozenTrial, StudyStorage, StudyView, Sampler, Pruner)
 * - distributions.ts: constructing, validating and converting distributions
 * - study.ts: createStudy / loadStudy, ask / tell / optimize, best trial, enqueueTrial
 * - trial.ts: Trial (synchronous suggestions, write-behind storage) and FixedTrial
 * - storage/memory.ts: InMemoryStorage
 * - samplers/: RandomSampler, GridSampler, intersectionSearchSpace (and TPE, separately)
 * - pruners/: NopPruner, MedianPruner, PercentilePruner, SuccessiveHalvingPruner, HyperbandPruner
 *
 * @example
 * import { createStudy, TrialPruned } from './tune/index.js';
 * const study = await createStudy({ direction: 'maximize' });
 * await study.optimize(async (trial) => {
 *   const lr = trial.suggestFloat('lr', 1e-4, 1e-1, { log: true });
 *   let accuracy = 0;
 *   for (let epoch = 0; epoch < 10; epoch++) {
 *     accuracy = await trainOneEpoch(lr);
 *     trial.report(accuracy, epoch);
 *     if (await trial.shouldPrune()) throw new TrialPruned();
 *   }
 *   return accuracy;
 * }, { nTrials: 40 });
 */
export type * from './types.js';
export * from './distributions.js';
export {
  TrialPruned,
  InvalidDistributionError,
  IncompatibleDistributionError,
  TrialFinishedError,
  StudyError,
} from './errors.js';
export * from './study.js';
export * from './trial.js';
export { SnapshotView, type SnapshotViewHooks } from './study-view.js';
export { InMemoryStorage, isFinished, type InMemoryStorageOptions } from './storage/memory.js';
export * from './samplers/random.js';
export * from './samplers/grid.js';
export * from './samplers/search-space.js';
export { NopPruner } from './pruners/nop.js';
export * from './pruners/percentile.js';
export * from './pruners/median.js';
export * from './pruners/successive-halving.js';
export * from './pruners/hyperband.js';
export { lastStep } from './pruners/util.js';
export { TPESampler, type TPESamplerOptions, defaultGamma, defaultWeights } from './samplers/tpe.js';
export { parameterImportances, type ImportanceEvaluator, type ImportanceOptions } from './importance.js';
export { SqlStudyStorage, openSqlStudyStorage } from './storage/sql.js';
export { openStudyStorage, isServerUri } from './storage/open.js';
export { RestStudyStorage, type RestStudyStorageOptions } from './storage/rest.js';
