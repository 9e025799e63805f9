/**
 * tracking/client/rest-store — the TrackingStore interface spoken over MLflow's REST API 2.0.
 *
 * Like MLflow's RestStore, it is just another store: everything in Kiln that takes a
 * TrackingStore (the run logger, the registry helpers, the CLI) works the same against a remote
 * server as against the embedded SQLite file. Transient failures (connection errors, 429, 5xx)
 * are retried with exponential backoff and full jitter (common/retry); MLflow-shaped errors come back as TrackingError.
 */
import { authorizationHeader, baseUrl, type RestConnectionOptions } from '../../common/rest-connection.js';
import { withRetry } from '../../common/retry.js';
import { TrackingError, type TrackingErrorCode } from '../store/errors.js';
import { decodeMetric, encodeValue, type WireMetric } from '../wire.js';
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
} from '../store/types.js';

/** Where the server is and how to reach it (common/rest-connection). */
export type RestStoreOptions = RestConnectionOptions;

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
type Json = Record<string, unknown>;

const API = '/api/2.0/mlflow/';

function decodeRun(run: Run): Run {
  return {
    ...run,
    data: { ...run.data, metrics: ((run.data?.metrics ?? []) as unknown as WireMetric[]).map(decodeMetric), params: run.data?.params ?? [], tags: run.data?.tags ?? [] },
    inputs: run.inputs ?? { dataset_inputs: [] },
    // MLflow's JSON leaves out empty lists (and an MLflow 2 server the whole field).
    outputs: { model_outputs: (run.outputs?.model_outputs ?? []).map((o) => ({ model_id: o.model_id, step: Number(o.step ?? 0) })) },
  };
}

function decodeLoggedModel(model: LoggedModel): LoggedModel {
  return {
    info: { ...model.info, tags: model.info?.tags ?? [], registrations: model.info?.registrations ?? [] },
    data: { params: model.data?.params ?? [], metrics: ((model.data?.metrics ?? []) as unknown as WireMetric[]).map(decodeMetric) },
  };
}

function withDefaults<T extends { tags?: Tag[] }>(entity: T): T {
  return { ...entity, tags: entity.tags ?? [] };
}

function page<T>(items: T[] | undefined, token: unknown): Page<T> {
  return typeof token === 'string' && token !== '' ? { items: items ?? [], next_page_token: token } : { items: items ?? [] };
}

/** Errors from answers worth retrying (429, 5xx), whatever error code their body gives. */
const transientErrors = new WeakSet<TrackingError>();

/** Query string from defined values; arrays repeat the key as MLflow's GET endpoints expect. */
function query(params: Record<string, string | number | string[] | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) value.forEach((v) => search.append(key, v));
    else search.append(key, String(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

export class RestStore implements TrackingStore {
  readonly url: string;
  private readonly options: RestStoreOptions;
  private readonly authorization: string | undefined;

  constructor(options: RestStoreOptions) {
    this.options = options;
    this.url = baseUrl(options.url);
    this.authorization = authorizationHeader(options);
  }

  /** One API call with retries on transient failures; returns the parsed JSON body. */
  async call(method: Method, endpoint: string, body?: Json): Promise<Json> {
    const attempts = this.options.attempts ?? 5;
    try {
      return await withRetry(() => this.request(method, endpoint, body), {
        retries: attempts - 1,
        baseDelayMs: this.options.retryDelayMs ?? 200,
        // Connection errors and timeouts are worth another try; of the server's answers only 429 and 5xx.
        retryable: (error) => !(error instanceof TrackingError) || transientErrors.has(error),
      });
    } catch (error) {
      if (error instanceof TrackingError) throw error;
      const reason = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
      throw new TrackingError('TEMPORARILY_UNAVAILABLE', `tracking server ${this.url} unreachable after ${attempts} attempts: ${reason}`);
    }
  }

  /** One HTTP exchange: the parsed body of a 2xx answer, or the answer's error as a TrackingError. */
  private async request(method: Method, endpoint: string, body?: Json): Promise<Json> {
    const response = await fetch(`${this.url}${API}${endpoint}`, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(this.authorization ? { authorization: this.authorization } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 30000),
    });
    const text = await response.text();
    let parsed: Json;
    try {
      parsed = text === '' ? {} : (JSON.parse(text) as Json);
    } catch {
      throw new TrackingError('INTERNAL_ERROR', `${method} ${endpoint}: the server answered with invalid JSON`);
    }
    if (response.ok) return parsed;
    const transient = response.status === 429 || response.status >= 500;
    const error = new TrackingError(
      ((parsed.error_code as TrackingErrorCode | undefined) ?? (transient ? 'TEMPORARILY_UNAVAILABLE' : 'BAD_REQUEST')) as TrackingErrorCode,
      typeof parsed.message === 'string' ? parsed.message : `${method} ${endpoint}: HTTP ${response.status}`,
    );
    if (transient) transientErrors.add(error);
    throw error;
  }

  // Experiments
  async createExperiment(input: { name: string; artifact_location?: string; tags?: Tag[] }): Promise<string> {
    return (await this.call('POST', 'experiments/create', input)).experiment_id as string;
  }

  async getExperiment(experimentId: string): Promise<Experiment> {
    return withDefaults((await this.call('GET', `experiments/get${query({ experiment_id: experimentId })}`)).experiment as Experiment);
  }

  async getExperimentByName(name: string): Promise<Experiment> {
    return withDefaults((await this.call('GET', `experiments/get-by-name${query({ experiment_name: name })}`)).experiment as Experiment);
  }

  async searchExperiments(q: SearchExperimentsQuery): Promise<Page<Experiment>> {
    const body = await this.call('POST', 'experiments/search', { ...q });
    return page(((body.experiments as Experiment[] | undefined) ?? []).map(withDefaults), body.next_page_token);
  }

  async renameExperiment(experimentId: string, newName: string): Promise<void> {
    await this.call('POST', 'experiments/update', { experiment_id: experimentId, new_name: newName });
  }

  async deleteExperiment(experimentId: string): Promise<void> {
    await this.call('POST', 'experiments/delete', { experiment_id: experimentId });
  }

  async restoreExperiment(experimentId: string): Promise<void> {
    await this.call('POST', 'experiments/restore', { experiment_id: experimentId });
  }

  async setExperimentTag(experimentId: string, tag: Tag): Promise<void> {
    await this.call('POST', 'experiments/set-experiment-tag', { experiment_id: experimentId, ...tag });
  }

  async deleteExperimentTag(experimentId: string, key: string): Promise<void> {
    await this.call('POST', 'experiments/delete-experiment-tag', { experiment_id: experimentId, key });
  }

  // Runs
  async createRun(input: { experiment_id: string; user_id?: string; start_time?: number; tags?: Tag[]; run_name?: string }): Promise<Run> {
    return decodeRun((await this.call('POST', 'runs/create', input)).run as Run);
  }

  async getRun(runId: string): Promise<Run> {
    return decodeRun((await this.call('GET', `runs/get${query({ run_id: runId })}`)).run as Run);
  }

  async updateRun(runId: string, update: { status?: RunStatus; end_time?: number; run_name?: string }): Promise<RunInfo> {
    return (await this.call('POST', 'runs/update', { run_id: runId, run_uuid: runId, ...update })).run_info as RunInfo;
  }

  async deleteRun(runId: string): Promise<void> {
    await this.call('POST', 'runs/delete', { run_id: runId });
  }

  async restoreRun(runId: string): Promise<void> {
    await this.call('POST', 'runs/restore', { run_id: runId });
  }

  async searchRuns(q: SearchRunsQuery): Promise<Page<Run>> {
    const body = await this.call('POST', 'runs/search', { ...q });
    return page(((body.runs as Run[] | undefined) ?? []).map(decodeRun), body.next_page_token);
  }

  async logBatch(runId: string, batch: LogBatch): Promise<void> {
    await this.call('POST', 'runs/log-batch', {
      run_id: runId,
      metrics: (batch.metrics ?? []).map((m) => ({ ...m, value: encodeValue(m.value) })),
      params: batch.params ?? [],
      tags: batch.tags ?? [],
    });
  }

  async deleteTag(runId: string, key: string): Promise<void> {
    await this.call('POST', 'runs/delete-tag', { run_id: runId, key });
  }

  async recordLoggedModel(runId: string, model: Record<string, unknown>): Promise<void> {
    await this.call('POST', 'runs/log-model', { run_id: runId, model_json: JSON.stringify(model) });
  }

  async getMetricHistory(runId: string, key: string, p: { max_results?: number; page_token?: string } = {}): Promise<Page<Metric>> {
    const body = await this.call('GET', `metrics/get-history${query({ run_id: runId, metric_key: key, max_results: p.max_results, page_token: p.page_token })}`);
    return page(((body.metrics as WireMetric[] | undefined) ?? []).map(decodeMetric), body.next_page_token);
  }

  async logInputs(runId: string, datasets: DatasetInput[]): Promise<void> {
    await this.call('POST', 'runs/log-inputs', { run_id: runId, datasets });
  }

  async logOutputs(runId: string, models: ModelOutput[]): Promise<void> {
    await this.call('POST', 'runs/outputs', { run_id: runId, models });
  }

  // Registered models
  async createRegisteredModel(input: { name: string; tags?: Tag[]; description?: string }, actor: Actor = {}): Promise<RegisteredModel> {
    return this.model(await this.call('POST', 'registered-models/create', { ...input, ...actor }));
  }

  async getRegisteredModel(name: string): Promise<RegisteredModel> {
    return this.model(await this.call('GET', `registered-models/get${query({ name })}`));
  }

  async renameRegisteredModel(name: string, newName: string): Promise<RegisteredModel> {
    return this.model(await this.call('POST', 'registered-models/rename', { name, new_name: newName }));
  }

  async updateRegisteredModel(name: string, description: string): Promise<RegisteredModel> {
    return this.model(await this.call('PATCH', 'registered-models/update', { name, description }));
  }

  async deleteRegisteredModel(name: string): Promise<void> {
    await this.call('DELETE', 'registered-models/delete', { name });
  }

  async searchRegisteredModels(q: SearchRegistryQuery): Promise<Page<RegisteredModel>> {
    const body = await this.call('GET', `registered-models/search${query({ filter: q.filter, max_results: q.max_results, order_by: q.order_by, page_token: q.page_token })}`);
    return page(((body.registered_models as RegisteredModel[] | undefined) ?? []).map((m) => this.model({ registered_model: m })), body.next_page_token);
  }

  async setRegisteredModelTag(name: string, tag: Tag): Promise<void> {
    await this.call('POST', 'registered-models/set-tag', { name, ...tag });
  }

  async deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    await this.call('DELETE', 'registered-models/delete-tag', { name, key });
  }

  // Model versions
  async createModelVersion(
    input: { name: string; source: string; run_id?: string; tags?: Tag[]; run_link?: string; description?: string; model_id?: string },
    actor: Actor = {},
  ): Promise<ModelVersion> {
    return this.version(await this.call('POST', 'model-versions/create', { ...input, ...actor }));
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersion> {
    return this.version(await this.call('GET', `model-versions/get${query({ name, version })}`));
  }

  async updateModelVersion(name: string, version: string, description: string): Promise<ModelVersion> {
    return this.version(await this.call('PATCH', 'model-versions/update', { name, version, description }));
  }

  async deleteModelVersion(name: string, version: string): Promise<void> {
    await this.call('DELETE', 'model-versions/delete', { name, version });
  }

  async searchModelVersions(q: SearchRegistryQuery): Promise<Page<ModelVersion>> {
    const body = await this.call('GET', `model-versions/search${query({ filter: q.filter, max_results: q.max_results, order_by: q.order_by, page_token: q.page_token })}`);
    return page(((body.model_versions as ModelVersion[] | undefined) ?? []).map((v) => this.version({ model_version: v })), body.next_page_token);
  }

  async getModelVersionDownloadUri(name: string, version: string): Promise<string> {
    return (await this.call('GET', `model-versions/get-download-uri${query({ name, version })}`)).artifact_uri as string;
  }

  async setModelVersionTag(name: string, version: string, tag: Tag): Promise<void> {
    await this.call('POST', 'model-versions/set-tag', { name, version, ...tag });
  }

  async deleteModelVersionTag(name: string, version: string, key: string): Promise<void> {
    await this.call('DELETE', 'model-versions/delete-tag', { name, version, key });
  }

  async transitionModelVersionStage(name: string, version: string, stage: string, archiveExisting: boolean): Promise<ModelVersion> {
    return this.version(await this.call('POST', 'model-versions/transition-stage', { name, version, stage, archive_existing_versions: archiveExisting }));
  }

  // Aliases
  async setRegisteredModelAlias(name: string, alias: string, version: string, actor: Actor = {}): Promise<void> {
    await this.call('POST', 'registered-models/alias', { name, alias, version, ...actor });
  }

  async deleteRegisteredModelAlias(name: string, alias: string, actor: Actor = {}): Promise<void> {
    await this.call('DELETE', 'registered-models/alias', { name, alias, ...actor });
  }

  async getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    return this.version(await this.call('GET', `registered-models/alias${query({ name, alias })}`));
  }

  async getAliasHistory(name: string, alias?: string): Promise<AliasEvent[]> {
    const body = await this.call('GET', `registered-models/alias-history${query({ name, alias })}`);
    return (body.events ?? body.alias_history ?? []) as AliasEvent[];
  }

  // Logged models (MLflow 3): ids travel in the path, encoded.
  async createLoggedModel(input: CreateLoggedModelInput): Promise<LoggedModel> {
    return decodeLoggedModel((await this.call('POST', 'logged-models', { ...input })).model as LoggedModel);
  }

  async getLoggedModel(modelId: string): Promise<LoggedModel> {
    return decodeLoggedModel((await this.call('GET', `logged-models/${encodeURIComponent(modelId)}`)).model as LoggedModel);
  }

  async finalizeLoggedModel(modelId: string, status: LoggedModelStatus): Promise<LoggedModel> {
    const body = await this.call('PATCH', `logged-models/${encodeURIComponent(modelId)}`, { model_id: modelId, status });
    return decodeLoggedModel(body.model as LoggedModel);
  }

  async deleteLoggedModel(modelId: string): Promise<void> {
    await this.call('DELETE', `logged-models/${encodeURIComponent(modelId)}`);
  }

  async searchLoggedModels(q: SearchLoggedModelsQuery): Promise<Page<LoggedModel>> {
    const body = await this.call('POST', 'logged-models/search', { ...q });
    return page(((body.models as LoggedModel[] | undefined) ?? []).map(decodeLoggedModel), body.next_page_token);
  }

  async setLoggedModelTags(modelId: string, tags: Tag[]): Promise<LoggedModel> {
    const body = await this.call('PATCH', `logged-models/${encodeURIComponent(modelId)}/tags`, { model_id: modelId, tags });
    return decodeLoggedModel(body.model as LoggedModel);
  }

  async deleteLoggedModelTag(modelId: string, key: string): Promise<void> {
    await this.call('DELETE', `logged-models/${encodeURIComponent(modelId)}/tags/${encodeURIComponent(key)}`);
  }

  async logLoggedModelParams(modelId: string, params: Param[]): Promise<void> {
    await this.call('POST', `logged-models/${encodeURIComponent(modelId)}/params`, { model_id: modelId, params });
  }

  async close(): Promise<void> {
    // fetch keeps no connection state that needs closing.
  }

  private model(body: Json): RegisteredModel {
    const model = body.registered_model as RegisteredModel;
    return {
      ...model,
      tags: model.tags ?? [],
      aliases: model.aliases ?? [],
      latest_versions: (model.latest_versions ?? []).map((v) => this.version({ model_version: v })),
    };
  }

  private version(body: Json): ModelVersion {
    const version = body.model_version as ModelVersion;
    return { ...version, tags: version.tags ?? [], aliases: version.aliases ?? [] };
  }
}
