/**
 * ui/app/api — the browser's typed client of the tracking server (MLflow REST 2.0 and Kiln's
 * study endpoints). Entity types come from the store and the tuner, so the UI and the server
 * cannot drift apart silently.
 */
import type { AliasEvent, Experiment, LoggedModel, Metric, ModelVersion, RegisteredModel, Run, ViewType } from '../../tracking/store/types.js';
import type { ImportanceReport, StudyListItem, StudyReport } from '../../tune/report.js';

export type { AliasEvent, Experiment, LoggedModel, Metric, ModelVersion, RegisteredModel, Run, ViewType, ImportanceReport, StudyListItem, StudyReport };
export type { TrialReport } from '../../tune/report.js';

export interface ArtifactFile {
  path: string;
  is_dir: boolean;
  file_size?: number;
}

/** An error answered by the server, with MLflow's error_code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Query = Record<string, string | number | string[] | undefined>;

function queryString(query: Query): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) params.append(key, String(v));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

async function call<T>(method: string, path: string, query: Query = {}, body?: object): Promise<T> {
  const response = await fetch(`/api/2.0/${path}${queryString(query)}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  const data = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
  if (!response.ok) throw new ApiError(response.status, String(data.error_code ?? 'ERROR'), String(data.message ?? response.statusText));
  return data as T;
}

/** Metric values arrive as numbers or MLflow's "NaN"/"Infinity" strings. */
function metricValue(value: number | string): number {
  return typeof value === 'number' ? value : Number(value);
}

export interface MetricColumns {
  steps: Float64Array;
  timestamps: Float64Array;
  values: Float64Array;
}

const columns = new Map<string, Promise<MetricColumns>>();

export const api = {
  searchExperiments: (q: { filter?: string; view_type?: ViewType; max_results?: number; order_by?: string[] }) =>
    call<{ experiments?: Experiment[] }>('GET', 'mlflow/experiments/search', { max_results: 1000, ...q }).then((r) => r.experiments ?? []),
  getExperiment: (id: string) => call<{ experiment: Experiment }>('GET', 'mlflow/experiments/get', { experiment_id: id }).then((r) => r.experiment),
  createExperiment: (name: string) => call<{ experiment_id: string }>('POST', 'mlflow/experiments/create', {}, { name }),
  renameExperiment: (id: string, name: string) => call('POST', 'mlflow/experiments/update', {}, { experiment_id: id, new_name: name }),
  deleteExperiment: (id: string) => call('POST', 'mlflow/experiments/delete', {}, { experiment_id: id }),
  restoreExperiment: (id: string) => call('POST', 'mlflow/experiments/restore', {}, { experiment_id: id }),

  searchRuns: (q: { experiment_ids: string[]; filter?: string; order_by?: string[]; max_results?: number; page_token?: string; run_view_type?: ViewType }) =>
    call<{ runs?: Run[]; next_page_token?: string }>('POST', 'mlflow/runs/search', {}, q).then((r) => ({ runs: (r.runs ?? []).map(decodeRun), next_page_token: r.next_page_token })),
  getRun: (id: string) => call<{ run: Run }>('GET', 'mlflow/runs/get', { run_id: id }).then((r) => decodeRun(r.run)),
  /** A metric's whole history as columns in step order (Kiln's compact form, for long histories). */
  metricColumns: (runId: string, key: string): Promise<MetricColumns> => {
    const cacheKey = `${runId}\u0000${key}`;
    const cached = columns.get(cacheKey);
    if (cached) return cached;
    // Binary columns: no decimal formatting on the server nor parsing here (see routes/metric-columns.ts).
    const loading = fetch(`/api/2.0/kiln/metrics/history-columns${queryString({ run_id: runId, metric_key: key })}`, { headers: { accept: 'application/octet-stream' } }).then(async (response) => {
      if (!response.ok) {
        const data = (await response.json().catch(() => ({}))) as { error_code?: string; message?: string };
        throw new ApiError(response.status, data.error_code ?? 'ERROR', data.message ?? response.statusText);
      }
      const all = new Float64Array(await response.arrayBuffer());
      const n = all.length / 3;
      return { steps: all.subarray(0, n), timestamps: all.subarray(n, 2 * n), values: all.subarray(2 * n) };
    });
    columns.set(cacheKey, loading);
    // Shared only while in flight and just after (a page and its charts); a revisit refetches.
    void loading.finally(() => setTimeout(() => columns.delete(cacheKey), 1000)).catch(() => undefined);
    return loading;
  },
  /** Sets (adds or overwrites) a run's tag; `mlflow.note.content` is the run's description. */
  setTag: (runId: string, key: string, value: string) => call('POST', 'mlflow/runs/set-tag', {}, { run_id: runId, key, value }),
  deleteTag: (runId: string, key: string) => call('POST', 'mlflow/runs/delete-tag', {}, { run_id: runId, key }),
  listArtifacts: (runId: string, path: string) =>
    call<{ root_uri?: string; files?: ArtifactFile[] }>('GET', 'mlflow/artifacts/list', { run_id: runId, path: path || undefined }).then((r) => ({
      root: r.root_uri ?? '',
      files: r.files ?? [],
    })),
  /** A proxied artifact's download URL (runs here use mlflow-artifacts:/ URIs). */
  artifactUrl: (rootUri: string, path: string) =>
    `/api/2.0/mlflow-artifacts/artifacts/${rootUri.replace(/^mlflow-artifacts:(\/\/[^/]*)?\/*/, '').split('/').concat(path.split('/')).filter((s) => s !== '').map(encodeURIComponent).join('/')}`,

  searchModels: () => call<{ registered_models?: RegisteredModel[] }>('GET', 'mlflow/registered-models/search', { max_results: 1000 }).then((r) => r.registered_models ?? []),
  getModel: (name: string) => call<{ registered_model: RegisteredModel }>('GET', 'mlflow/registered-models/get', { name }).then((r) => r.registered_model),
  searchVersions: (filter: string) =>
    call<{ model_versions?: ModelVersion[] }>('GET', 'mlflow/model-versions/search', { filter, max_results: 10000 }).then((r) => r.model_versions ?? []),
  updateModel: (name: string, description: string) => call('PATCH', 'mlflow/registered-models/update', {}, { name, description }),
  setModelTag: (name: string, key: string, value: string) => call('POST', 'mlflow/registered-models/set-tag', {}, { name, key, value }),
  deleteModelTag: (name: string, key: string) => call('DELETE', 'mlflow/registered-models/delete-tag', {}, { name, key }),
  updateVersion: (name: string, version: string, description: string) => call('PATCH', 'mlflow/model-versions/update', {}, { name, version, description }),
  setAlias: (name: string, alias: string, version: string, reason?: string) =>
    call('POST', 'mlflow/registered-models/alias', {}, { name, alias, version, ...(reason ? { reason } : {}) }),
  aliasHistory: (name: string) => call<{ events?: AliasEvent[] }>('GET', 'mlflow/registered-models/alias-history', { name }).then((r) => r.events ?? []),

  /** MLflow 3 logged models of some experiments (newest first), metric values decoded. */
  searchLoggedModels: (q: { experiment_ids: string[]; filter?: string; max_results?: number; page_token?: string }) =>
    call<{ models?: LoggedModel[]; next_page_token?: string }>('POST', 'mlflow/logged-models/search', {}, q).then((r) => ({
      models: (r.models ?? []).map(decodeLoggedModel),
      next_page_token: r.next_page_token,
    })),

  listStudies: () => call<{ studies: StudyListItem[] }>('GET', 'kiln/studies').then((r) => r.studies),
  getStudy: (name: string) => call<{ study: StudyReport }>('GET', `kiln/studies/${encodeURIComponent(name)}`).then((r) => r.study),
  importances: (name: string) => call<{ importances: ImportanceReport }>('GET', `kiln/studies/${encodeURIComponent(name)}/importances`).then((r) => r.importances),
};

function decodeRun(run: Run): Run {
  const data = run.data ?? { metrics: [], params: [], tags: [] };
  return {
    ...run,
    data: {
      metrics: (data.metrics ?? []).map((m) => ({ ...m, value: metricValue(m.value) })),
      params: data.params ?? [],
      tags: data.tags ?? [],
    },
    inputs: { dataset_inputs: run.inputs?.dataset_inputs ?? [] },
    outputs: { model_outputs: run.outputs?.model_outputs ?? [] },
  };
}

function decodeLoggedModel(model: LoggedModel): LoggedModel {
  return {
    info: { ...model.info, tags: model.info.tags ?? [], registrations: model.info.registrations ?? [] },
    data: { params: model.data?.params ?? [], metrics: (model.data?.metrics ?? []).map((m) => ({ ...m, value: metricValue(m.value) })) },
  };
}

/** The tag MLflow keeps a run's description (its "notes") in. */
export const NOTE_TAG = 'mlflow.note.content';
/** The tag naming a child run's parent (every study trial names its study's parent run). */
export const PARENT_RUN_TAG = 'mlflow.parentRunId';

/** SQL-ish string literal for the filter grammar. */
export const quote = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
