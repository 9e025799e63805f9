/**
 * tracking/server/routes/logged-models — service.proto's MLflow 3 logged-model endpoints:
 *
 *   POST   logged-models                                   create (→ {model})
 *   POST   logged-models/search                            search (→ {models, next_page_token})
 *   GET    logged-models/{model_id}                        get (→ {model})
 *   PATCH  logged-models/{model_id}                        finalize with a status (→ {model})
 *   DELETE logged-models/{model_id}                        delete
 *   PATCH  logged-models/{model_id}/tags                   set tags (→ {model})
 *   DELETE logged-models/{model_id}/tags/{tag_key}         delete a tag
 *   POST   logged-models/{model_id}/params                 log params
 *   GET    logged-models/{model_id}/artifacts/directories  list artifacts (→ {root_uri, files})
 *
 * Ids in the path win over the same fields in the body or query string (the URL names the
 * resource); both are validated by the one schema per endpoint.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { LoggedModelStatus, Param, SearchLoggedModelsQuery, Tag } from '../../store/types.js';
import { safeSegments } from '../artifact-storage.js';
import { endpoint, optional, type ApiContext } from '../endpoint.js';
import { schemas } from '../schemas.js';
import { encodeLoggedModel, loggedModelStatus } from '../wire.js';
import { proxiedSegments } from './artifacts.js';

type Message = Record<string, unknown>;

const tagList = (tags: Tag[] | undefined): Tag[] => (tags ?? []).map((t) => ({ key: t.key, value: t.value ?? '' }));
const paramList = (params: Param[] | undefined): Param[] => (params ?? []).map((p) => ({ key: p.key, value: p.value ?? '' }));

export const loggedModelRoutes: FastifyPluginAsync<ApiContext> = async (app, { store, storage }) => {
  app.addHook('preValidation', async (request) => {
    const path = (request.params ?? {}) as Message;
    if (Object.keys(path).length === 0) return;
    if (request.method === 'GET') request.query = { ...(request.query as Message), ...path };
    else request.body = { ...(request.body as Message), ...path };
  });

  endpoint<{ experiment_id: string; name?: string; model_type?: string; source_run_id?: string; params?: Param[]; tags?: Tag[] }>(
    app,
    'POST',
    '/logged-models',
    schemas.createLoggedModel,
    async (m) => {
      const model = await store.createLoggedModel({
        experiment_id: m.experiment_id,
        name: optional(m.name),
        model_type: optional(m.model_type),
        source_run_id: optional(m.source_run_id),
        params: paramList(m.params),
        tags: tagList(m.tags),
      });
      return { model: encodeLoggedModel(model) };
    },
  );

  endpoint<Omit<SearchLoggedModelsQuery, 'experiment_ids'> & { experiment_ids?: string[] }>(
    app,
    'POST',
    '/logged-models/search',
    schemas.searchLoggedModels,
    async (m) => {
      const page = await store.searchLoggedModels({
        experiment_ids: m.experiment_ids ?? [],
        filter: optional(m.filter),
        datasets: m.datasets,
        max_results: m.max_results,
        order_by: m.order_by,
        page_token: optional(m.page_token),
      });
      return { models: page.items.map(encodeLoggedModel), next_page_token: page.next_page_token };
    },
  );

  endpoint<{ model_id: string }>(app, 'GET', '/logged-models/:model_id', schemas.getLoggedModel, async (m) => ({
    model: encodeLoggedModel(await store.getLoggedModel(m.model_id)),
  }));

  endpoint<{ model_id: string; status: LoggedModelStatus | number }>(app, 'PATCH', '/logged-models/:model_id', schemas.finalizeLoggedModel, async (m) => ({
    model: encodeLoggedModel(await store.finalizeLoggedModel(m.model_id, loggedModelStatus(m.status))),
  }));

  endpoint<{ model_id: string }>(app, 'DELETE', '/logged-models/:model_id', schemas.deleteLoggedModel, async (m) => {
    await store.deleteLoggedModel(m.model_id);
    return {};
  });

  endpoint<{ model_id: string; tags?: Tag[] }>(app, 'PATCH', '/logged-models/:model_id/tags', schemas.setLoggedModelTags, async (m) => ({
    model: encodeLoggedModel(await store.setLoggedModelTags(m.model_id, tagList(m.tags))),
  }));

  endpoint<{ model_id: string; tag_key: string }>(app, 'DELETE', '/logged-models/:model_id/tags/:tag_key', schemas.deleteLoggedModelTag, async (m) => {
    await store.deleteLoggedModelTag(m.model_id, m.tag_key);
    return {};
  });

  endpoint<{ model_id: string; params?: Param[] }>(app, 'POST', '/logged-models/:model_id/params', schemas.logLoggedModelParams, async (m) => {
    await store.logLoggedModelParams(m.model_id, paramList(m.params));
    return {};
  });

  endpoint<{ model_id: string; artifact_directory_path?: string }>(
    app,
    'GET',
    '/logged-models/:model_id/artifacts/directories',
    schemas.listLoggedModelArtifacts,
    async (m) => {
      const relative = safeSegments(m.artifact_directory_path ?? '', false);
      const root = (await store.getLoggedModel(m.model_id)).info.artifact_uri;
      const files = await storage.list([...proxiedSegments(root), ...relative], relative.join('/'));
      return { root_uri: root, files };
    },
  );
};
