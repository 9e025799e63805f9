/**
 * tracking/server/routes/model-versions — model_registry.proto's model-version endpoints.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Tag } from '../../store/types.js';
import { endpoint, optional, type ApiContext } from '../endpoint.js';
import { schemas } from '../schemas.js';
import { actorOf } from './registered-models.js';

export const modelVersionRoutes: FastifyPluginAsync<ApiContext> = async (app, { store }) => {
  endpoint<{ name: string; source: string; run_id?: string; tags?: Tag[]; run_link?: string; description?: string; model_id?: string; user_id?: string; reason?: string }>(
    app,
    'POST',
    '/model-versions/create',
    schemas.createModelVersion,
    async (m, request) => ({
      model_version: await store.createModelVersion(
        {
          name: m.name,
          source: m.source,
          run_id: optional(m.run_id),
          tags: m.tags?.map((t) => ({ key: t.key, value: t.value ?? '' })),
          run_link: optional(m.run_link),
          description: optional(m.description),
          model_id: optional(m.model_id),
        },
        actorOf(request, m),
      ),
    }),
  );

  endpoint<{ name: string; version: string }>(app, 'GET', '/model-versions/get', schemas.getModelVersion, async (m) => ({
    model_version: await store.getModelVersion(m.name, m.version),
  }));

  endpoint<{ max_results?: number; page_token?: string; filter?: string; order_by?: string[] }>(
    app,
    'GET',
    '/model-versions/search',
    schemas.searchModelVersions,
    async (m) => {
      const page = await store.searchModelVersions({
        filter: optional(m.filter),
        max_results: m.max_results,
        order_by: m.order_by,
        page_token: optional(m.page_token),
      });
      return { model_versions: page.items, next_page_token: page.next_page_token };
    },
  );

  endpoint<{ name: string; version: string; description?: string }>(app, 'PATCH', '/model-versions/update', schemas.updateModelVersion, async (m) => ({
    model_version: await store.updateModelVersion(m.name, m.version, m.description ?? ''),
  }));

  endpoint<{ name: string; version: string }>(app, 'DELETE', '/model-versions/delete', schemas.deleteModelVersion, async (m) => {
    await store.deleteModelVersion(m.name, m.version);
    return {};
  });

  endpoint<{ name: string; version: string }>(app, 'GET', '/model-versions/get-download-uri', schemas.getModelVersionDownloadUri, async (m) => ({
    artifact_uri: await store.getModelVersionDownloadUri(m.name, m.version),
  }));

  endpoint<{ name: string; version: string; key: string; value?: string }>(app, 'POST', '/model-versions/set-tag', schemas.setModelVersionTag, async (m) => {
    await store.setModelVersionTag(m.name, m.version, { key: m.key, value: m.value ?? '' });
    return {};
  });

  endpoint<{ name: string; version: string; key: string }>(app, 'DELETE', '/model-versions/delete-tag', schemas.deleteModelVersionTag, async (m) => {
    await store.deleteModelVersionTag(m.name, m.version, m.key);
    return {};
  });

  // MLflow 2's stages (deprecated in favour of aliases; older clients and the UI still move them).
  endpoint<{ name: string; version: string; stage: string; archive_existing_versions: boolean }>(
    app,
    'POST',
    '/model-versions/transition-stage',
    schemas.transitionModelVersionStage,
    async (m) => ({
      model_version: await store.transitionModelVersionStage(m.name, m.version, m.stage, m.archive_existing_versions),
    }),
  );
};
