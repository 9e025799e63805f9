/**
 * tracking/store/validation — MLflow's input checks and limits, with its messages.
 */
import { invalid } from './errors.js';
import { LOG_BATCH_LIMITS, MODEL_STAGES, type DatasetInput, type LogBatch, type Metric, type ModelStage, type Param, type RunStatus, type Tag } from './types.js';

export const MAX_ENTITY_KEY_LENGTH = 250;
export const MAX_PARAM_VAL_LENGTH = 6000;
export const MAX_TAG_VAL_LENGTH = 8000;
export const MAX_EXPERIMENT_NAME_LENGTH = 500;
export const MAX_MODEL_NAME_LENGTH = 500;
export const MAX_ALIAS_LENGTH = 255;

const VALID_NAME = /^[/\w.\- :]*$/;
const RUN_STATUSES: readonly RunStatus[] = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'];

function normpath(name: string): string {
  const absolute = name.startsWith('/');
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..' && parts.length > 0 && parts[parts.length - 1] !== '..') parts.pop();
    else if (part === '..' && absolute) continue;
    else parts.push(part);
  }
  const joined = parts.join('/');
  return absolute ? `/${joined}` : joined || '.';
}

function validateName(kind: 'metric' | 'parameter' | 'tag', name: unknown): string {
  if (typeof name !== 'string' || name === '') {
    throw invalid(`Missing value for required parameter 'key': ${kind} name must be a non-empty string`);
  }
  if (!VALID_NAME.test(name)) {
    throw invalid(
      `Invalid ${kind} name: '${name}'. Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).`,
    );
  }
  const resolved = normpath(name);
  if (resolved !== name || resolved === '.' || resolved.startsWith('..') || resolved.startsWith('/')) {
    throw invalid(
      `Invalid ${kind} name: '${name}'. Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '${resolved}'`,
    );
  }
  if (name.length > MAX_ENTITY_KEY_LENGTH) {
    const label = kind === 'parameter' ? 'Param' : kind === 'tag' ? 'Tag' : 'Metric';
    throw invalid(`${label} key '${name}' had length ${name.length}, which exceeded length limit of ${MAX_ENTITY_KEY_LENGTH}`);
  }
  return name;
}

export function validateParam(param: Param): void {
  validateName('parameter', param?.key);
  if (typeof param.value !== 'string') throw invalid(`Invalid value for parameter '${param.key}': expected a string`);
  if (param.value.length > MAX_PARAM_VAL_LENGTH) {
    throw invalid(`Param value '${param.value.slice(0, 100)}...' had length ${param.value.length}, which exceeded length limit of ${MAX_PARAM_VAL_LENGTH}`);
  }
}

export function validateTag(tag: Tag): void {
  validateName('tag', tag?.key);
  if (typeof tag.value !== 'string') throw invalid(`Invalid value for tag '${tag.key}': expected a string`);
  if (tag.value.length > MAX_TAG_VAL_LENGTH) {
    throw invalid(`Tag value '${tag.value.slice(0, 100)}...' had length ${tag.value.length}, which exceeded length limit of ${MAX_TAG_VAL_LENGTH}`);
  }
}

/** A run's name is stored as its `mlflow.runName` tag, so it obeys the tag value limit. */
export function validateRunName(name: string | undefined): void {
  if (name === undefined || name === null) return;
  if (typeof name !== 'string') throw invalid(`Invalid run_name ${String(name)}: expected a string`);
  if (name.length > MAX_TAG_VAL_LENGTH) {
    throw invalid(`Run name '${name.slice(0, 100)}...' had length ${name.length}, which exceeded length limit of ${MAX_TAG_VAL_LENGTH}`);
  }
}

export function validateTags(tags: Tag[] | undefined): Tag[] {
  if (tags === undefined || tags === null) return [];
  if (!Array.isArray(tags)) throw invalid('tags must be a list of {key, value}');
  for (const tag of tags) validateTag(tag);
  return tags;
}

export function validateMetric(metric: Metric): void {
  validateName('metric', metric?.key);
  if (typeof metric.value !== 'number') {
    throw invalid(
      `Got invalid value ${String(metric.value)} for metric '${metric.key}' (timestamp=${metric.timestamp}). Please specify value as a valid double (64-bit floating point)`,
    );
  }
  if (typeof metric.timestamp !== 'number' || !Number.isSafeInteger(metric.timestamp) || metric.timestamp < 0) {
    throw invalid(
      `Got invalid timestamp ${String(metric.timestamp)} for metric '${metric.key}' (value=${metric.value}). Timestamp must be a nonnegative long (64-bit integer) `,
    );
  }
  if (metric.step !== undefined && (typeof metric.step !== 'number' || !Number.isSafeInteger(metric.step))) {
    throw invalid(`Got invalid step ${String(metric.step)} for metric '${metric.key}' (value=${metric.value}). Step must be a valid long (64-bit integer).`);
  }
}

export function validateBatch(batch: LogBatch): { metrics: Metric[]; params: Param[]; tags: Tag[] } {
  const metrics = batch.metrics ?? [];
  const params = batch.params ?? [];
  const tags = batch.tags ?? [];
  for (const [name, list] of [
    ['metrics', metrics],
    ['params', params],
    ['tags', tags],
  ] as const) {
    if (!Array.isArray(list)) throw invalid(`${name} must be a list`);
    const limit = LOG_BATCH_LIMITS[name];
    if (list.length > limit) {
      throw invalid(
        `A batch logging request can contain at most ${limit} ${name}. Got ${list.length} ${name}. Please split up ${name} across multiple requests and try again.`,
      );
    }
  }
  const total = metrics.length + params.length + tags.length;
  if (total > LOG_BATCH_LIMITS.total) {
    throw invalid(
      `A batch logging request can contain at most ${LOG_BATCH_LIMITS.total} metrics, params, and tags in total. Received ${metrics.length} metrics, ${params.length} params, and ${tags.length} tags. Please split up metrics, params, and tags across multiple requests and try again.`,
    );
  }
  for (const metric of metrics) validateMetric(metric);
  for (const param of params) validateParam(param);
  for (const tag of tags) validateTag(tag);
  const seen = new Map<string, string>();
  const duplicates = new Set<string>();
  for (const param of params) {
    const before = seen.get(param.key);
    if (before !== undefined && before !== param.value) duplicates.add(param.key);
    seen.set(param.key, param.value);
  }
  if (duplicates.size > 0) {
    throw invalid(
      `Duplicate parameter keys have been submitted: ${JSON.stringify([...duplicates])}. Please ensure the request contains only one param value per param key.`,
    );
  }
  return { metrics, params, tags };
}

export function validateExperimentName(name: unknown): string {
  if (name === '' || name === undefined || name === null) throw invalid(`Invalid experiment name: '${String(name ?? '')}'`);
  if (typeof name !== 'string') throw invalid(`Invalid experiment name: ${String(name)}. Expects a string.`);
  if (name.trim() === '') throw invalid(`Invalid experiment name: '${name}'`);
  if (name.length > MAX_EXPERIMENT_NAME_LENGTH) {
    throw invalid(`Experiment name '${name.slice(0, 50)}...' had length ${name.length}, which exceeded length limit of ${MAX_EXPERIMENT_NAME_LENGTH}`);
  }
  return name;
}

export function validateRunStatus(status: unknown): RunStatus {
  if (typeof status !== 'string' || !RUN_STATUSES.includes(status as RunStatus)) {
    throw invalid(`Invalid run status '${String(status)}'. Valid values are ${JSON.stringify(RUN_STATUSES)}`);
  }
  return status as RunStatus;
}

export function validateModelName(name: unknown): string {
  if (name === undefined || name === null || name === '') throw invalid('Registered model name cannot be empty.');
  if (typeof name !== 'string') throw invalid(`Registered model name must be a string, got ${String(name)}.`);
  if (name.length > MAX_MODEL_NAME_LENGTH) throw invalid(`Registered model name '${name.slice(0, 50)}...' exceeds the length limit of ${MAX_MODEL_NAME_LENGTH}.`);
  return name;
}

/** MLflow's rule for logged model names: they become path segments and URI parts. */
const LOGGED_MODEL_NAME_BAD_CHARS = ['/', ':', '.', '%', '"', "'"];

export function validateLoggedModelName(name: unknown): string | undefined {
  if (name === undefined || name === null) return undefined;
  if (typeof name !== 'string' || name === '' || LOGGED_MODEL_NAME_BAD_CHARS.some((c) => name.includes(c))) {
    throw invalid(
      `Invalid model name (${JSON.stringify(name)}) provided. Model name must be a non-empty string and cannot contain the following characters: ${LOGGED_MODEL_NAME_BAD_CHARS.join(' ')}`,
    );
  }
  if (name.length > MAX_MODEL_NAME_LENGTH) throw invalid(`Logged model name '${name.slice(0, 50)}...' exceeds the length limit of ${MAX_MODEL_NAME_LENGTH}.`);
  return name;
}

/** Params of one call: each valid, and one value per key. */
export function validateParams(params: Param[] | undefined): Param[] {
  if (params === undefined || params === null) return [];
  if (!Array.isArray(params)) throw invalid('params must be a list of {key, value}');
  for (const param of params) validateParam(param);
  const seen = new Map<string, string>();
  for (const param of params) {
    const before = seen.get(param.key);
    if (before !== undefined && before !== param.value) {
      throw invalid(`Duplicate parameter keys have been submitted: ["${param.key}"]. Please ensure the request contains only one param value per param key.`);
    }
    seen.set(param.key, param.value);
  }
  return params;
}

export function parseVersion(version: unknown): number {
  const text = String(version);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw invalid(`Parameter 'version' must be an integer, got '${text}'.`);
  }
  return Number(text);
}

export function validateAlias(alias: unknown): string {
  if (typeof alias !== 'string' || alias === '') throw invalid('Registered model alias name cannot be empty.');
  if (!/^[\w-]*$/.test(alias)) {
    throw invalid(`Invalid alias name: '${alias}'. Names may only contain alphanumerics, underscores (_), and dashes (-).`);
  }
  if (alias.length > MAX_ALIAS_LENGTH) throw invalid(`Registered model alias name '${alias}' exceeded length limit of ${MAX_ALIAS_LENGTH}.`);
  if (alias.toLowerCase() === 'latest') throw invalid(`'latest' alias name (case insensitive) is reserved.`);
  if (/^v\d+$/i.test(alias)) throw invalid(`Version alias name '${alias}' is reserved.`);
  return alias;
}

export function validateDatasetInputs(inputs: DatasetInput[]): void {
  if (!Array.isArray(inputs)) throw invalid('datasets must be a list');
  for (const input of inputs) {
    const dataset = input?.dataset;
    if (dataset === undefined || dataset === null) throw invalid('Dataset input must have a dataset');
    for (const field of ['name', 'digest', 'source_type', 'source'] as const) {
      if (typeof dataset[field] !== 'string' || dataset[field] === '') {
        throw invalid(`Dataset ${field} must be specified (got ${JSON.stringify(dataset[field])})`);
      }
    }
    validateTags(input.tags);
  }
}

/** MLflow's get_canonical_stage: a stage name in any case, as MLflow spells it. */
export function canonicalStage(stage: unknown): ModelStage {
  const found = typeof stage === 'string' ? MODEL_STAGES.find((s) => s.toLowerCase() === stage.toLowerCase()) : undefined;
  if (found === undefined) throw invalid(`Invalid Model Version stage: ${String(stage)}. Value must be one of ${MODEL_STAGES.join(', ')}.`);
  return found;
}
