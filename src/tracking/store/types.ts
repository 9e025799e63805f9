/**
 * tracking/store/types — the entities of experiment tracking and the model registry, and the
 * one store interface that the REST server, the client and every backend speak.
 *
 * Entities use MLflow's REST wire shapes (snake_case fields, int64 times as epoch milliseconds,
 * enums as strings, tags as {key, value} lists) so that the server passes them through unchanged
 * and existing MLflow clients read them as they are. Method names are Kiln's (camelCase);
 * each follows one call of `mlflow/protos/service.proto` or `model_registry.proto`.
 */

export type LifecycleStage = 'active' | 'deleted';
export type ViewType = 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';
export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';
export type ModelVersionStatus = 'PENDING_REGISTRATION' | 'FAILED_REGISTRATION' | 'READY';
/** MLflow 2's model version stages (deprecated in favour of aliases, still served). */
export type ModelStage = 'None' | 'Staging' | 'Production' | 'Archived';
export const MODEL_STAGES: readonly ModelStage[] = ['None', 'Staging', 'Production', 'Archived'];

export interface Tag {
  key: string;
  value: string;
}

export interface Param {
  key: string;
  value: string;
}

export interface Metric {
  key: string;
  value: number;
  /** Epoch milliseconds. */
  timestamp: number;
  step: number;
  /**
   * MLflow 3: the logged model this value measures. On a log-batch or log-metric call the value
   * is also recorded on that model (it must exist); run metrics never carry it back.
   */
  model_id?: string;
  /** MLflow 3: the dataset the value was measured on (name, and digest when known). */
  dataset_name?: string;
  dataset_digest?: string;
  /** MLflow 3: on a logged model's metrics, the run that logged the value. */
  run_id?: string;
}

export interface Experiment {
  experiment_id: string;
  name: string;
  artifact_location: string;
  lifecycle_stage: LifecycleStage;
  creation_time: number;
  last_update_time: number;
  tags: Tag[];
}

export interface RunInfo {
  run_id: string;
  /** Same as run_id (MLflow keeps the old name for compatibility). */
  run_uuid: string;
  run_name: string;
  experiment_id: string;
  user_id: string;
  status: RunStatus;
  start_time: number;
  end_time?: number;
  artifact_uri: string;
  lifecycle_stage: LifecycleStage;
}

export interface Dataset {
  name: string;
  digest: string;
  source_type: string;
  source: string;
  schema?: string;
  profile?: string;
}

export interface DatasetInput {
  tags: Tag[];
  dataset: Dataset;
}

export interface RunData {
  /** The latest value of each metric key (by step, then timestamp, then value — MLflow's rule). */
  metrics: Metric[];
  params: Param[];
  tags: Tag[];
}

/** MLflow 3: a logged model a run produced, and at which step. */
export interface ModelOutput {
  model_id: string;
  step: number;
}

export interface Run {
  info: RunInfo;
  data: RunData;
  inputs: { dataset_inputs: DatasetInput[] };
  /** MLflow 3: the logged models this run produced (created with it as source_run_id, or linked by log-outputs). */
  outputs: { model_outputs: ModelOutput[] };
}

export interface ModelVersion {
  name: string;
  version: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id?: string;
  /** 'None' until model-versions/transition-stage moves it (stages are deprecated; aliases replace them). */
  current_stage: ModelStage;
  description?: string;
  source: string;
  run_id?: string;
  run_link?: string;
  /** MLflow 3: the logged model this version registers (given, or read from a `models:/m-…` source). */
  model_id?: string;
  status: ModelVersionStatus;
  status_message?: string;
  tags: Tag[];
  aliases: string[];
}

export interface RegisteredModelAlias {
  alias: string;
  version: string;
}

export interface RegisteredModel {
  name: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id?: string;
  description?: string;
  /** The newest version in each stage, ordered by stage (MLflow's rule; 'None' first). */
  latest_versions: ModelVersion[];
  tags: Tag[];
  aliases: RegisteredModelAlias[];
}

/** One recorded move of an alias: Kiln keeps the full history of what was in production. */
export interface AliasEvent {
  name: string;
  alias: string;
  /** Version the alias pointed to before, or null when it was created. */
  from_version: string | null;
  /** Version it points to after, or null when it was deleted. */
  to_version: string | null;
  user_id: string;
  timestamp: number;
  reason?: string;
}

/** MLflow 3 logged models: created PENDING, finalized READY or UPLOAD_FAILED. */
export type LoggedModelStatus = 'LOGGED_MODEL_PENDING' | 'LOGGED_MODEL_READY' | 'LOGGED_MODEL_UPLOAD_FAILED';

export interface LoggedModelInfo {
  /** `m-` and 32 hex digits. */
  model_id: string;
  experiment_id: string;
  name: string;
  creation_timestamp_ms: number;
  last_updated_timestamp_ms: number;
  /** `<experiment artifact location>/models/<model_id>/artifacts`, as MLflow lays it out. */
  artifact_uri: string;
  status: LoggedModelStatus;
  model_type?: string;
  source_run_id?: string;
  status_message?: string;
  tags: Tag[];
  /** The registered model versions made from this model. */
  registrations: { name: string; version: string }[];
}

export interface LoggedModel {
  info: LoggedModelInfo;
  /** Params (immutable, like a run's) and every metric value logged against the model. */
  data: { params: Param[]; metrics: Metric[] };
}

export interface CreateLoggedModelInput {
  experiment_id: string;
  /** Generated (`<adjective>-<noun>-<number>`) when absent. */
  name?: string;
  model_type?: string;
  /** The run that produced the model: it must exist, and lists the model in its outputs (step 0). */
  source_run_id?: string;
  params?: Param[];
  tags?: Tag[];
}

export interface SearchLoggedModelsQuery {
  experiment_ids: string[];
  /**
   * MLflow's grammar (AND only): attributes `name`, `model_id`, `model_type`, `status`,
   * `source_run_id`, `creation_timestamp`, `last_updated_timestamp`; `metrics.<key>` (the
   * latest value per dataset), `params.<key>`, `tags.<key>`.
   */
  filter?: string;
  /** Metric clauses (and nothing else) only look at values measured on these datasets. */
  datasets?: { dataset_name: string; dataset_digest?: string }[];
  max_results?: number;
  order_by?: { field_name: string; ascending?: boolean; dataset_name?: string; dataset_digest?: string }[];
  page_token?: string;
}

/** A page of results; `next_page_token` is absent on the last page. */
export interface Page<T> {
  items: T[];
  next_page_token?: string;
}

export interface SearchExperimentsQuery {
  view_type?: ViewType;
  max_results?: number;
  /** MLflow filter grammar over `name`, `tags.<key>`, `attributes.<name>`. */
  filter?: string;
  order_by?: string[];
  page_token?: string;
}

export interface SearchRunsQuery {
  experiment_ids: string[];
  /** MLflow filter grammar: `metrics.`, `params.`, `tags.`, `attributes.` with = != < <= > >= LIKE ILIKE IN. */
  filter?: string;
  run_view_type?: ViewType;
  max_results?: number;
  order_by?: string[];
  page_token?: string;
}

export interface SearchRegistryQuery {
  filter?: string;
  max_results?: number;
  order_by?: string[];
  page_token?: string;
}

export interface LogBatch {
  metrics?: Metric[];
  params?: Param[];
  tags?: Tag[];
}

/** MLflow's limits on one log-batch call. */
export const LOG_BATCH_LIMITS = { metrics: 1000, params: 100, tags: 100, total: 1000 } as const;

/** Who does something, for the audit fields (user_id, alias history). */
export interface Actor {
  user_id?: string;
  reason?: string;
}

/**
 * The tracking and registry store. Every backend (SQLite, PostgreSQL) implements all of it and
 * passes the same contract suite; errors are TrackingError with MLflow's codes.
 */
export interface TrackingStore {
  // Experiments
  createExperiment(input: { name: string; artifact_location?: string; tags?: Tag[] }): Promise<string>;
  getExperiment(experimentId: string): Promise<Experiment>;
  getExperimentByName(name: string): Promise<Experiment>;
  searchExperiments(query: SearchExperimentsQuery): Promise<Page<Experiment>>;
  renameExperiment(experimentId: string, newName: string): Promise<void>;
  deleteExperiment(experimentId: string): Promise<void>;
  restoreExperiment(experimentId: string): Promise<void>;
  setExperimentTag(experimentId: string, tag: Tag): Promise<void>;
  /** RESOURCE_DOES_NOT_EXIST when the experiment has no such tag; INVALID_PARAMETER_VALUE when it is deleted. */
  deleteExperimentTag(experimentId: string, key: string): Promise<void>;

  // Runs
  createRun(input: { experiment_id: string; user_id?: string; start_time?: number; tags?: Tag[]; run_name?: string }): Promise<Run>;
  getRun(runId: string): Promise<Run>;
  updateRun(runId: string, update: { status?: RunStatus; end_time?: number; run_name?: string }): Promise<RunInfo>;
  deleteRun(runId: string): Promise<void>;
  restoreRun(runId: string): Promise<void>;
  searchRuns(query: SearchRunsQuery): Promise<Page<Run>>;
  /** All of a batch is written in one transaction, or none of it. Params are immutable: a different value for a logged key is INVALID_PARAMETER_VALUE. */
  logBatch(runId: string, batch: LogBatch): Promise<void>;
  deleteTag(runId: string, key: string): Promise<void>;
  getMetricHistory(runId: string, key: string, page?: { max_results?: number; page_token?: string }): Promise<Page<Metric>>;
  logInputs(runId: string, datasets: DatasetInput[]): Promise<void>;
  /**
   * MLflow 2's runs/log-model: appends the model's summary (run_id, artifact_path,
   * utc_time_created, flavors without their config, model_uuid when given) to the run's
   * `mlflow.log-model.history` tag, a JSON list, in one transaction. `model` is the MLmodel as
   * a dict; INVALID_PARAMETER_VALUE without artifact_path, flavors, utc_time_created or run_id.
   */
  recordLoggedModel(runId: string, model: Record<string, unknown>): Promise<void>;

  // Registered models
  createRegisteredModel(input: { name: string; tags?: Tag[]; description?: string }, actor?: Actor): Promise<RegisteredModel>;
  getRegisteredModel(name: string): Promise<RegisteredModel>;
  renameRegisteredModel(name: string, newName: string): Promise<RegisteredModel>;
  updateRegisteredModel(name: string, description: string): Promise<RegisteredModel>;
  deleteRegisteredModel(name: string): Promise<void>;
  searchRegisteredModels(query: SearchRegistryQuery): Promise<Page<RegisteredModel>>;
  setRegisteredModelTag(name: string, tag: Tag): Promise<void>;
  deleteRegisteredModelTag(name: string, key: string): Promise<void>;

  // Model versions
  createModelVersion(
    input: { name: string; source: string; run_id?: string; tags?: Tag[]; run_link?: string; description?: string; model_id?: string },
    actor?: Actor,
  ): Promise<ModelVersion>;
  getModelVersion(name: string, version: string): Promise<ModelVersion>;
  updateModelVersion(name: string, version: string, description: string): Promise<ModelVersion>;
  deleteModelVersion(name: string, version: string): Promise<void>;
  searchModelVersions(query: SearchRegistryQuery): Promise<Page<ModelVersion>>;
  getModelVersionDownloadUri(name: string, version: string): Promise<string>;
  setModelVersionTag(name: string, version: string, tag: Tag): Promise<void>;
  deleteModelVersionTag(name: string, version: string, key: string): Promise<void>;
  /**
   * Moves a version to `stage` (case-insensitive); with `archiveExisting` (only for Staging or
   * Production) every other version of the model in that stage goes to Archived.
   */
  transitionModelVersionStage(name: string, version: string, stage: string, archiveExisting: boolean): Promise<ModelVersion>;

  // Aliases (every move is recorded in the alias history)
  setRegisteredModelAlias(name: string, alias: string, version: string, actor?: Actor): Promise<void>;
  deleteRegisteredModelAlias(name: string, alias: string, actor?: Actor): Promise<void>;
  getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion>;
  getAliasHistory(name: string, alias?: string): Promise<AliasEvent[]>;

  // Logged models (MLflow 3). Deleted models are gone for every call (soft delete, as MLflow).
  createLoggedModel(input: CreateLoggedModelInput): Promise<LoggedModel>;
  getLoggedModel(modelId: string): Promise<LoggedModel>;
  /** Only LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED. */
  finalizeLoggedModel(modelId: string, status: LoggedModelStatus): Promise<LoggedModel>;
  deleteLoggedModel(modelId: string): Promise<void>;
  searchLoggedModels(query: SearchLoggedModelsQuery): Promise<Page<LoggedModel>>;
  setLoggedModelTags(modelId: string, tags: Tag[]): Promise<LoggedModel>;
  /** RESOURCE_DOES_NOT_EXIST when the model has no such tag. */
  deleteLoggedModelTag(modelId: string, key: string): Promise<void>;
  /** Params are immutable: a different value for a logged key is INVALID_PARAMETER_VALUE. */
  logLoggedModelParams(modelId: string, params: Param[]): Promise<void>;
  /** Records logged models as outputs of a run (MLflow 3's runs/outputs). */
  logOutputs(runId: string, models: ModelOutput[]): Promise<void>;

  /** Releases connections and file handles. */
  close(): Promise<void>;
}
