/**
 * tracking/server/routes/runs — service.proto's run endpoints (create, get, update, delete,
 * restore, search, and the logging calls, with MLflow 3's runs/outputs and model_id on metrics,
 * and MLflow 2's runs/log-model).
 * `run_uuid` is accepted wherever `run_id` is.
 */
import type { FastifyPluginAsync } from 'fastify';
import { invalid } from '../../store/errors.js';
import type { DatasetInput, RunStatus, Tag, ViewType } from '../../store/types.js';
import { endpoint, optional, type ApiContext } from '../endpoint.js';
import { schemas } from '../schemas.js';
import { decodeMetric, encodeRun, runStatus, viewType, type WireMetric } from '../wire.js';

const tagList = (tags: Tag[] | undefined): Tag[] | undefined => tags?.map((t) => ({ key: t.key, value: t.value ?? '' }));

export const runRoutes: FastifyPluginAsync<ApiContext> = async (app, { store, metrics }) => {
  endpoint<{ experiment_id: string; user_id?: string; start_time?: number; tags?: Tag[]; run_name?: string }>(
    app,
    'POST',
    '/runs/create',
    schemas.createRun,
    async (m) => {
      const run = await store.createRun({
        experiment_id: m.experiment_id,
        user_id: optional(m.user_id),
        start_time: m.start_time,
        tags: tagList(m.tags),
        run_name: optional(m.run_name),
      });
      metrics.runsCreated.inc();
      return { run: encodeRun(run) };
    },
  );

  endpoint<{ run_id: string }>(app, 'GET', '/runs/get', schemas.getRun, async (m) => ({ run: encodeRun(await store.getRun(m.run_id)) }));

  endpoint<{ run_id: string; status?: RunStatus | number; end_time?: number; run_name?: string }>(
    app,
    'POST',
    '/runs/update',
    schemas.updateRun,
    async (m) => ({
      run_info: await store.updateRun(m.run_id, { status: runStatus(m.status), end_time: m.end_time, run_name: optional(m.run_name) }),
    }),
  );

  endpoint<{ run_id: string }>(app, 'POST', '/runs/delete', schemas.deleteRun, async (m) => {
    await store.deleteRun(m.run_id);
    return {};
  });

  endpoint<{ run_id: string }>(app, 'POST', '/runs/restore', schemas.restoreRun, async (m) => {
    await store.restoreRun(m.run_id);
    return {};
  });

  endpoint<{ experiment_ids?: string[]; filter?: string; run_view_type?: ViewType | number; max_results?: number; order_by?: string[]; page_token?: string }>(
    app,
    'POST',
    '/runs/search',
    schemas.searchRuns,
    async (m) => {
      const page = await store.searchRuns({
        experiment_ids: m.experiment_ids ?? [],
        filter: optional(m.filter),
        run_view_type: viewType(m.run_view_type),
        max_results: m.max_results,
        order_by: m.order_by,
        page_token: optional(m.page_token),
      });
      return { runs: page.items.map(encodeRun), next_page_token: page.next_page_token };
    },
  );

  endpoint<WireMetric & { run_id: string }>(
    app,
    'POST',
    '/runs/log-metric',
    schemas.logMetric,
    async (m) => {
      await store.logBatch(m.run_id, { metrics: [decodeMetric(m)] });
      metrics.metricsLogged.inc();
      return {};
    },
  );

  endpoint<{ run_id: string; key: string; value?: string }>(app, 'POST', '/runs/log-parameter', schemas.logParam, async (m) => {
    await store.logBatch(m.run_id, { params: [{ key: m.key, value: m.value ?? '' }] });
    return {};
  });

  endpoint<{ run_id: string; key: string; value?: string }>(app, 'POST', '/runs/set-tag', schemas.setTag, async (m) => {
    await store.logBatch(m.run_id, { tags: [{ key: m.key, value: m.value ?? '' }] });
    return {};
  });

  endpoint<{ run_id: string; key: string }>(app, 'POST', '/runs/delete-tag', schemas.deleteTag, async (m) => {
    await store.deleteTag(m.run_id, m.key);
    return {};
  });

  // MLflow 2.x clients call this on every log_model: the summary joins the run's
  // `mlflow.log-model.history` tag (store/model-history.ts).
  endpoint<{ run_id: string; model_json: string }>(app, 'POST', '/runs/log-model', schemas.logModel, async (m) => {
    let model: unknown;
    try {
      model = JSON.parse(m.model_json);
    } catch {
      throw invalid(`Malformed model info. ${m.model_json.slice(0, 200)} is not a valid JSON.`);
    }
    await store.recordLoggedModel(m.run_id, model as Record<string, unknown>);
    return {};
  });

  endpoint<{ run_id: string; metrics?: WireMetric[]; params?: { key: string; value?: string }[]; tags?: Tag[] }>(
    app,
    'POST',
    '/runs/log-batch',
    schemas.logBatch,
    async (m) => {
      const logged = m.metrics?.map(decodeMetric) ?? [];
      await store.logBatch(m.run_id, {
        metrics: logged,
        params: m.params?.map((p) => ({ key: p.key, value: p.value ?? '' })) ?? [],
        tags: tagList(m.tags) ?? [],
      });
      metrics.metricsLogged.inc(logged.length);
      return {};
    },
  );

  endpoint<{ run_id: string; datasets?: DatasetInput[] }>(app, 'POST', '/runs/log-inputs', schemas.logInputs, async (m) => {
    await store.logInputs(
      m.run_id,
      (m.datasets ?? []).map((d) => ({ tags: tagList(d.tags) ?? [], dataset: d.dataset })),
    );
    return {};
  });

  endpoint<{ run_id: string; models?: { model_id: string; step: number }[] }>(app, 'POST', '/runs/outputs', schemas.logOutputs, async (m) => {
    await store.logOutputs(
      m.run_id,
      (m.models ?? []).map((o) => ({ model_id: o.model_id, step: o.step })),
    );
    return {};
  });
};
