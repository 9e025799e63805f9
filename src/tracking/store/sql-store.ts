/**
 * tracking/store/sql-store — the one SQL implementation of TrackingStore, shared by the SQLite
 * and PostgreSQL dialects through the small driver interface in driver.ts.
 *
 * This class owns the connection and composes one SQL module per entity, each holding that
 * entity's semantics: sql-experiments.ts, sql-runs.ts (runs, params, tags, metrics, inputs,
 * outputs), sql-registry.ts (registered models, versions, aliases) and sql-logged-models.ts
 * (MLflow 3's logged models); sql-model-links.ts joins logged models to runs and versions, and
 * sql-common.ts has what they all share.
 * Semantics follow MLflow's sqlalchemy stores (tracking and model registry). Every write
 * touching several rows runs in one transaction.
 */
import type { SqlDriver } from '../../db/driver.js';
import { SqlExperiments } from './sql-experiments.js';
import { SqlLoggedModels } from './sql-logged-models.js';
import { SqlRegistry } from './sql-registry.js';
import { SqlRuns } from './sql-runs.js';
import type {
  Actor,
  AliasEvent,
  CreateLoggedModelInput,
  DatasetInput,
  Experiment,
  LogBatch,
  LoggedModel,
  LoggedModelStatus,
  Metric,
  ModelOutput,
  ModelVersion,
  Page,
  Param,
  RegisteredModel,
  Run,
  RunInfo,
  RunStatus,
  SearchExperimentsQuery,
  SearchLoggedModelsQuery,
  SearchRegistryQuery,
  SearchRunsQuery,
  Tag,
  TrackingStore,
} from './types.js';

export { SEARCH_MAX_RESULTS_DEFAULT, SEARCH_MAX_RESULTS_THRESHOLD } from './sql-common.js';
export { DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME } from './sql-experiments.js';
export { PARENT_RUN_ID_TAG, RUN_NAME_TAG } from './sql-runs.js';
export { LOGGED_MODELS_TAG } from './model-history.js';
export { LOGGED_MODELS_MAX_RESULTS_DEFAULT, LOGGED_MODELS_MAX_RESULTS_THRESHOLD } from './sql-logged-models.js';
export {
  MODEL_VERSIONS_MAX_RESULTS_DEFAULT,
  MODEL_VERSIONS_MAX_RESULTS_THRESHOLD,
  REGISTERED_MODELS_MAX_RESULTS_DEFAULT,
  REGISTERED_MODELS_MAX_RESULTS_THRESHOLD,
} from './sql-registry.js';

export class SqlTrackingStore implements TrackingStore {
  private readonly experiments: SqlExperiments;
  private readonly runs: SqlRuns;
  private readonly registry: SqlRegistry;
  private readonly loggedModels: SqlLoggedModels;

  private constructor(
    private readonly db: SqlDriver,
    artifactRoot: string,
  ) {
    this.experiments = new SqlExperiments(db, artifactRoot);
    this.runs = new SqlRuns(db, this.experiments);
    this.registry = new SqlRegistry(db);
    this.loggedModels = new SqlLoggedModels(db, this.experiments);
  }

  /**
   * The store over a database whose schema is current (as `openDatabase` returns it); creates
   * the Default experiment when absent.
   */
  static async create(db: SqlDriver, artifactRoot: string): Promise<SqlTrackingStore> {
    const store = new SqlTrackingStore(db, artifactRoot.replace(/\/+$/, ''));
    await store.experiments.ensureDefault();
    return store;
  }

  // Experiments
  createExperiment(input: { name: string; artifact_location?: string; tags?: Tag[] }): Promise<string> {
    return this.experiments.createExperiment(input);
  }
  getExperiment(experimentId: string): Promise<Experiment> {
    return this.experiments.getExperiment(experimentId);
  }
  getExperimentByName(name: string): Promise<Experiment> {
    return this.experiments.getExperimentByName(name);
  }
  searchExperiments(query: SearchExperimentsQuery = {}): Promise<Page<Experiment>> {
    return this.experiments.searchExperiments(query);
  }
  renameExperiment(experimentId: string, newName: string): Promise<void> {
    return this.experiments.renameExperiment(experimentId, newName);
  }
  deleteExperiment(experimentId: string): Promise<void> {
    return this.experiments.deleteExperiment(experimentId);
  }
  restoreExperiment(experimentId: string): Promise<void> {
    return this.experiments.restoreExperiment(experimentId);
  }
  setExperimentTag(experimentId: string, tag: Tag): Promise<void> {
    return this.experiments.setExperimentTag(experimentId, tag);
  }
  deleteExperimentTag(experimentId: string, key: string): Promise<void> {
    return this.experiments.deleteExperimentTag(experimentId, key);
  }

  // Runs
  createRun(input: { experiment_id: string; user_id?: string; start_time?: number; tags?: Tag[]; run_name?: string }): Promise<Run> {
    return this.runs.createRun(input);
  }
  getRun(runId: string): Promise<Run> {
    return this.runs.getRun(runId);
  }
  updateRun(runId: string, update: { status?: RunStatus; end_time?: number; run_name?: string }): Promise<RunInfo> {
    return this.runs.updateRun(runId, update);
  }
  deleteRun(runId: string): Promise<void> {
    return this.runs.deleteRun(runId);
  }
  restoreRun(runId: string): Promise<void> {
    return this.runs.restoreRun(runId);
  }
  searchRuns(query: SearchRunsQuery): Promise<Page<Run>> {
    return this.runs.searchRuns(query);
  }
  logBatch(runId: string, batch: LogBatch): Promise<void> {
    return this.runs.logBatch(runId, batch);
  }
  deleteTag(runId: string, key: string): Promise<void> {
    return this.runs.deleteTag(runId, key);
  }
  recordLoggedModel(runId: string, model: Record<string, unknown>): Promise<void> {
    return this.runs.recordLoggedModel(runId, model);
  }
  getMetricHistory(runId: string, key: string, page: { max_results?: number; page_token?: string } = {}): Promise<Page<Metric>> {
    return this.runs.getMetricHistory(runId, key, page);
  }
  logInputs(runId: string, datasets: DatasetInput[]): Promise<void> {
    return this.runs.logInputs(runId, datasets);
  }
  logOutputs(runId: string, models: ModelOutput[]): Promise<void> {
    return this.runs.logOutputs(runId, models);
  }

  // Registered models
  createRegisteredModel(input: { name: string; tags?: Tag[]; description?: string }, actor: Actor = {}): Promise<RegisteredModel> {
    return this.registry.createRegisteredModel(input, actor);
  }
  getRegisteredModel(name: string): Promise<RegisteredModel> {
    return this.registry.getRegisteredModel(name);
  }
  renameRegisteredModel(name: string, newName: string): Promise<RegisteredModel> {
    return this.registry.renameRegisteredModel(name, newName);
  }
  updateRegisteredModel(name: string, description: string): Promise<RegisteredModel> {
    return this.registry.updateRegisteredModel(name, description);
  }
  deleteRegisteredModel(name: string): Promise<void> {
    return this.registry.deleteRegisteredModel(name);
  }
  searchRegisteredModels(query: SearchRegistryQuery = {}): Promise<Page<RegisteredModel>> {
    return this.registry.searchRegisteredModels(query);
  }
  setRegisteredModelTag(name: string, tag: Tag): Promise<void> {
    return this.registry.setRegisteredModelTag(name, tag);
  }
  deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    return this.registry.deleteRegisteredModelTag(name, key);
  }

  // Model versions
  createModelVersion(
    input: { name: string; source: string; run_id?: string; tags?: Tag[]; run_link?: string; description?: string; model_id?: string },
    actor: Actor = {},
  ): Promise<ModelVersion> {
    return this.registry.createModelVersion(input, actor);
  }
  getModelVersion(name: string, version: string): Promise<ModelVersion> {
    return this.registry.getModelVersion(name, version);
  }
  updateModelVersion(name: string, version: string, description: string): Promise<ModelVersion> {
    return this.registry.updateModelVersion(name, version, description);
  }
  deleteModelVersion(name: string, version: string): Promise<void> {
    return this.registry.deleteModelVersion(name, version);
  }
  searchModelVersions(query: SearchRegistryQuery = {}): Promise<Page<ModelVersion>> {
    return this.registry.searchModelVersions(query);
  }
  getModelVersionDownloadUri(name: string, version: string): Promise<string> {
    return this.registry.getModelVersionDownloadUri(name, version);
  }
  setModelVersionTag(name: string, version: string, tag: Tag): Promise<void> {
    return this.registry.setModelVersionTag(name, version, tag);
  }
  deleteModelVersionTag(name: string, version: string, key: string): Promise<void> {
    return this.registry.deleteModelVersionTag(name, version, key);
  }
  transitionModelVersionStage(name: string, version: string, stage: string, archiveExisting: boolean): Promise<ModelVersion> {
    return this.registry.transitionModelVersionStage(name, version, stage, archiveExisting);
  }

  // Aliases
  setRegisteredModelAlias(name: string, alias: string, version: string, actor: Actor = {}): Promise<void> {
    return this.registry.setRegisteredModelAlias(name, alias, version, actor);
  }
  deleteRegisteredModelAlias(name: string, alias: string, actor: Actor = {}): Promise<void> {
    return this.registry.deleteRegisteredModelAlias(name, alias, actor);
  }
  getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    return this.registry.getModelVersionByAlias(name, alias);
  }
  getAliasHistory(name: string, alias?: string): Promise<AliasEvent[]> {
    return this.registry.getAliasHistory(name, alias);
  }

  // Logged models
  createLoggedModel(input: CreateLoggedModelInput): Promise<LoggedModel> {
    return this.loggedModels.createLoggedModel(input);
  }
  getLoggedModel(modelId: string): Promise<LoggedModel> {
    return this.loggedModels.getLoggedModel(modelId);
  }
  finalizeLoggedModel(modelId: string, status: LoggedModelStatus): Promise<LoggedModel> {
    return this.loggedModels.finalizeLoggedModel(modelId, status);
  }
  deleteLoggedModel(modelId: string): Promise<void> {
    return this.loggedModels.deleteLoggedModel(modelId);
  }
  searchLoggedModels(query: SearchLoggedModelsQuery): Promise<Page<LoggedModel>> {
    return this.loggedModels.searchLoggedModels(query);
  }
  setLoggedModelTags(modelId: string, tags: Tag[]): Promise<LoggedModel> {
    return this.loggedModels.setLoggedModelTags(modelId, tags);
  }
  deleteLoggedModelTag(modelId: string, key: string): Promise<void> {
    return this.loggedModels.deleteLoggedModelTag(modelId, key);
  }
  logLoggedModelParams(modelId: string, params: Param[]): Promise<void> {
    return this.loggedModels.logLoggedModelParams(modelId, params);
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
