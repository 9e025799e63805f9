/**
 * tracking/server/schemas — the request schemas of every endpoint, the one source of truth for
 * validation (Fastify/Ajv) and, later, the OpenAPI document.
 *
 * Field names and types follow MLflow's service.proto and model_registry.proto. Ajv runs with
 * Fastify's defaults (coerceTypes: 'array'), which gives protobuf's JSON leniency for free:
 * int64 fields accept "123", a lone string for a repeated field becomes a one-element list, and
 * query-string values are typed. Unknown fields are ignored (no additionalProperties: false).
 * A required string must also be non-empty: MLflow's `_assert_required` rejects "".
 */
import { NON_FINITE } from './wire.js';

export type JsonSchema = Record<string, unknown>;

const string = { type: 'string' } as const;
const int64 = { type: 'integer' } as const;
const int32 = { type: 'integer', minimum: -2147483648, maximum: 2147483647 } as const;
const strings = { type: 'array', items: string } as const;

/** An object schema; required string members get minLength 1. */
function message(properties: Record<string, JsonSchema>, required: string[] = []): JsonSchema {
  const props: Record<string, JsonSchema> = {};
  for (const [key, schema] of Object.entries(properties)) {
    props[key] = required.includes(key) && schema.type === 'string' ? { ...schema, minLength: 1 } : schema;
  }
  return required.length > 0 ? { type: 'object', properties: props, required } : { type: 'object', properties: props };
}

const tag = message({ key: string, value: string }, ['key']);
const tags = { type: 'array', items: tag };
const param = message({ key: string, value: string }, ['key']);
const metricValue = { anyOf: [{ type: 'number' }, { type: 'string', enum: [...NON_FINITE] }] };
/** MLflow 3: a metric value may name the logged model it measures and the dataset it was measured on. */
const modelLink = { model_id: string, dataset_name: string, dataset_digest: string };
const metric = message({ key: string, value: metricValue, timestamp: int64, step: int64, ...modelLink }, ['key', 'value', 'timestamp']);
const viewType = { enum: ['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL', 1, 2, 3, '1', '2', '3'] };
const runStatus = { enum: ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED', 1, 2, 3, 4, 5, '1', '2', '3', '4', '5'] };
const dataset = message(
  { name: string, digest: string, source_type: string, source: string, schema: string, profile: string },
  ['name', 'digest', 'source_type', 'source'],
);
const datasetInput = message({ tags, dataset }, ['dataset']);
const loggedModelStatus = {
  enum: ['LOGGED_MODEL_STATUS_UNSPECIFIED', 'LOGGED_MODEL_PENDING', 'LOGGED_MODEL_READY', 'LOGGED_MODEL_UPLOAD_FAILED', 0, 1, 2, 3, '0', '1', '2', '3'],
};
const searchPage = { max_results: int64, order_by: strings, page_token: string, filter: string };
/** Kiln's audit fields, accepted beside MLflow's on registry writes. */
const actor = { user_id: string, reason: string };

export const schemas = {
  // service.proto — experiments
  createExperiment: message({ name: string, artifact_location: string, tags }, ['name']),
  getExperiment: message({ experiment_id: string }, ['experiment_id']),
  getExperimentByName: message({ experiment_name: string }, ['experiment_name']),
  searchExperiments: message({ ...searchPage, view_type: viewType }),
  updateExperiment: message({ experiment_id: string, new_name: string }, ['experiment_id', 'new_name']),
  deleteExperiment: message({ experiment_id: string }, ['experiment_id']),
  restoreExperiment: message({ experiment_id: string }, ['experiment_id']),
  setExperimentTag: message({ experiment_id: string, key: string, value: string }, ['experiment_id', 'key']),
  deleteExperimentTag: message({ experiment_id: string, key: string }, ['experiment_id', 'key']),

  // service.proto — runs (run_uuid is copied into run_id before validation)
  createRun: message({ experiment_id: string, user_id: string, start_time: int64, tags, run_name: string }, ['experiment_id']),
  getRun: message({ run_id: string, run_uuid: string }, ['run_id']),
  updateRun: message({ run_id: string, run_uuid: string, status: runStatus, end_time: int64, run_name: string }, ['run_id']),
  deleteRun: message({ run_id: string }, ['run_id']),
  restoreRun: message({ run_id: string }, ['run_id']),
  searchRuns: message({ ...searchPage, experiment_ids: strings, run_view_type: viewType, max_results: int32 }),
  logMetric: message(
    { run_id: string, run_uuid: string, key: string, value: metricValue, timestamp: int64, step: int64, ...modelLink },
    ['run_id', 'key', 'value', 'timestamp'],
  ),
  logParam: message({ run_id: string, run_uuid: string, key: string, value: string }, ['run_id', 'key']),
  setTag: message({ run_id: string, run_uuid: string, key: string, value: string }, ['run_id', 'key']),
  deleteTag: message({ run_id: string, key: string }, ['run_id', 'key']),
  logBatch: message(
    { run_id: string, metrics: { type: 'array', items: metric }, params: { type: 'array', items: param }, tags },
    ['run_id'],
  ),
  logInputs: message({ run_id: string, datasets: { type: 'array', items: datasetInput } }, ['run_id']),
  logOutputs: message({ run_id: string, models: { type: 'array', items: message({ model_id: string, step: int64 }, ['model_id', 'step']) } }, ['run_id']),
  getMetricHistory: message(
    { run_id: string, run_uuid: string, metric_key: string, max_results: int32, page_token: string },
    ['run_id', 'metric_key'],
  ),
  // Limits on run_ids and max_results are checked by the route, with MLflow's messages.
  getMetricHistoryBulkInterval: message(
    { run_ids: { ...strings, minItems: 1 }, metric_key: string, start_step: int64, end_step: int64, max_results: int32 },
    ['run_ids', 'metric_key'],
  ),
  logModel: message({ run_id: string, run_uuid: string, model_json: string }, ['run_id', 'model_json']),
  listArtifacts: message({ run_id: string, run_uuid: string, path: string, page_token: string }, ['run_id']),

  // model_registry.proto — registered models
  createRegisteredModel: message({ name: string, tags, description: string, ...actor }, ['name']),
  getRegisteredModel: message({ name: string }, ['name']),
  renameRegisteredModel: message({ name: string, new_name: string }, ['name', 'new_name']),
  updateRegisteredModel: message({ name: string, description: string }, ['name']),
  deleteRegisteredModel: message({ name: string }, ['name']),
  searchRegisteredModels: message(searchPage),
  getLatestVersions: message({ name: string, stages: strings }, ['name']),
  setRegisteredModelTag: message({ name: string, key: string, value: string }, ['name', 'key']),
  deleteRegisteredModelTag: message({ name: string, key: string }, ['name', 'key']),

  // model_registry.proto — model versions
  createModelVersion: message(
    { name: string, source: string, run_id: string, tags, run_link: string, description: string, model_id: string, ...actor },
    ['name', 'source'],
  ),
  getModelVersion: message({ name: string, version: string }, ['name', 'version']),
  updateModelVersion: message({ name: string, version: string, description: string }, ['name', 'version']),
  deleteModelVersion: message({ name: string, version: string }, ['name', 'version']),
  searchModelVersions: message(searchPage),
  getModelVersionDownloadUri: message({ name: string, version: string }, ['name', 'version']),
  transitionModelVersionStage: message(
    { name: string, version: string, stage: string, archive_existing_versions: { type: 'boolean' } },
    ['name', 'version', 'stage', 'archive_existing_versions'],
  ),
  setModelVersionTag: message({ name: string, version: string, key: string, value: string }, ['name', 'version', 'key']),
  deleteModelVersionTag: message({ name: string, version: string, key: string }, ['name', 'version', 'key']),

  // model_registry.proto — aliases, and Kiln's alias history
  setRegisteredModelAlias: message({ name: string, alias: string, version: string, ...actor }, ['name', 'alias', 'version']),
  deleteRegisteredModelAlias: message({ name: string, alias: string, ...actor }, ['name', 'alias']),
  getModelVersionByAlias: message({ name: string, alias: string }, ['name', 'alias']),
  getAliasHistory: message({ name: string, alias: string }, ['name']),

  // service.proto — MLflow 3 logged models (model_id and tag_key also come from the path)
  createLoggedModel: message(
    { experiment_id: string, name: string, model_type: string, source_run_id: string, params: { type: 'array', items: param }, tags },
    ['experiment_id'],
  ),
  getLoggedModel: message({ model_id: string }, ['model_id']),
  finalizeLoggedModel: message({ model_id: string, status: loggedModelStatus }, ['model_id', 'status']),
  deleteLoggedModel: message({ model_id: string }, ['model_id']),
  searchLoggedModels: message({
    experiment_ids: strings,
    filter: string,
    datasets: { type: 'array', items: message({ dataset_name: string, dataset_digest: string }, ['dataset_name']) },
    max_results: int32,
    order_by: { type: 'array', items: message({ field_name: string, ascending: { type: 'boolean' }, dataset_name: string, dataset_digest: string }, ['field_name']) },
    page_token: string,
  }),
  setLoggedModelTags: message({ model_id: string, tags }, ['model_id']),
  deleteLoggedModelTag: message({ model_id: string, tag_key: string }, ['model_id', 'tag_key']),
  logLoggedModelParams: message({ model_id: string, params: { type: 'array', items: param } }, ['model_id']),
  listLoggedModelArtifacts: message({ model_id: string, artifact_directory_path: string, page_token: string }, ['model_id']),

  // mlflow-artifacts (proxied artifact API)
  listProxiedArtifacts: message({ path: string }),
} satisfies Record<string, JsonSchema>;
