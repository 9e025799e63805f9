/**
 * tracking/server/routes/registered-models — model_registry.proto's registered-model endpoints,
 * aliases, and Kiln's alias history (`GET registered-models/alias-history?name=&alias=` →
 * `{"events": [...]}`).
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Actor, Tag } from '../../store/types.js';
import { canonicalStage } from '../../store/validation.js';
import { authenticatedUser } from '../auth.js';
import { endpoint, optional, type ApiContext } from '../endpoint.js';
import { schemas } from '../schemas.js';

/** Who acts: the authenticated user wins over a self-declared user_id. */
export function actorOf(request: FastifyRequest, m: { user_id?: string; reason?: string }): Actor {
  const user = authenticatedUser(request) ?? optional(m.user_id);
  return { ...(user !== undefined ? { user_id: user } : {}), ...(optional(m.reason) !== undefined ? { reason: m.reason } : {}) };
}

export const registeredModelRoutes: FastifyPluginAsync<ApiContext> = async (app, { store }) => {
  endpoint<{ name: string; tags?: Tag[]; description?: string; user_id?: string; reason?: string }>(
    app,
    'POST',
    '/registered-models/create',
    schemas.createRegisteredModel,
    async (m, request) => ({
      registered_model: await store.createRegisteredModel(
        { name: m.name, tags: m.tags?.map((t) => ({ key: t.key, value: t.value ?? '' })), description: optional(m.description) },
        actorOf(request, m),
      ),
    }),
  );

  endpoint<{ name: string }>(app, 'GET', '/registered-models/get', schemas.getRegisteredModel, async (m) => ({
    registered_model: await store.getRegisteredModel(m.name),
  }));

  endpoint<{ max_results?: number; page_token?: string; filter?: string; order_by?: string[] }>(
    app,
    'GET',
    '/registered-models/search',
    schemas.searchRegisteredModels,
    async (m) => {
      const page = await store.searchRegisteredModels({
        filter: optional(m.filter),
        max_results: m.max_results,
        order_by: m.order_by,
        page_token: optional(m.page_token),
      });
      return { registered_models: page.items, next_page_token: page.next_page_token };
    },
  );

  endpoint<{ name: string; new_name: string }>(app, 'POST', '/registered-models/rename', schemas.renameRegisteredModel, async (m) => ({
    registered_model: await store.renameRegisteredModel(m.name, m.new_name),
  }));

  endpoint<{ name: string; description?: string }>(app, 'PATCH', '/registered-models/update', schemas.updateRegisteredModel, async (m) => ({
    registered_model: await store.updateRegisteredModel(m.name, m.description ?? ''),
  }));

  endpoint<{ name: string }>(app, 'DELETE', '/registered-models/delete', schemas.deleteRegisteredModel, async (m) => {
    await store.deleteRegisteredModel(m.name);
    return {};
  });

  // Deprecated with stages in MLflow, still called by older clients: the newest version of each
  // stage asked for (every stage when none is), stage names in any case.
  endpoint<{ name: string; stages?: string[] }>(app, ['POST', 'GET'], '/registered-models/get-latest-versions', schemas.getLatestVersions, async (m) => {
    const wanted = new Set((m.stages ?? []).map(canonicalStage));
    const latest = (await store.getRegisteredModel(m.name)).latest_versions;
    return { model_versions: wanted.size === 0 ? latest : latest.filter((v) => wanted.has(v.current_stage)) };
  });

  endpoint<{ name: string; key: string; value?: string }>(app, 'POST', '/registered-models/set-tag', schemas.setRegisteredModelTag, async (m) => {
    await store.setRegisteredModelTag(m.name, { key: m.key, value: m.value ?? '' });
    return {};
  });

  endpoint<{ name: string; key: string }>(app, 'DELETE', '/registered-models/delete-tag', schemas.deleteRegisteredModelTag, async (m) => {
    await store.deleteRegisteredModelTag(m.name, m.key);
    return {};
  });

  endpoint<{ name: string; alias: string; version: string; user_id?: string; reason?: string }>(
    app,
    'POST',
    '/registered-models/alias',
    schemas.setRegisteredModelAlias,
    async (m, request) => {
      await store.setRegisteredModelAlias(m.name, m.alias, m.version, actorOf(request, m));
      return {};
    },
  );

  endpoint<{ name: string; alias: string; user_id?: string; reason?: string }>(
    app,
    'DELETE',
    '/registered-models/alias',
    schemas.deleteRegisteredModelAlias,
    async (m, request) => {
      await store.deleteRegisteredModelAlias(m.name, m.alias, actorOf(request, m));
      return {};
    },
  );

  endpoint<{ name: string; alias: string }>(app, 'GET', '/registered-models/alias', schemas.getModelVersionByAlias, async (m) => ({
    model_version: await store.getModelVersionByAlias(m.name, m.alias),
  }));

  endpoint<{ name: string; alias?: string }>(app, 'GET', '/registered-models/alias-history', schemas.getAliasHistory, async (m) => ({
    events: await store.getAliasHistory(m.name, optional(m.alias)),
  }));
};
