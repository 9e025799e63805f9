/**
 * tracking/server/routes/experiments — service.proto's experiment endpoints.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Tag, ViewType } from '../../store/types.js';
import { checkArtifactLocation } from '../artifact-location.js';
import { endpoint, optional, type ApiContext } from '../endpoint.js';
import { schemas } from '../schemas.js';
import { viewType } from '../wire.js';

export const experimentRoutes: FastifyPluginAsync<ApiContext> = async (app, { store, storage }) => {
  endpoint<{ name: string; artifact_location?: string; tags?: Tag[] }>(app, 'POST', '/experiments/create', schemas.createExperiment, async (m) => {
    const location = optional(m.artifact_location);
    return {
      experiment_id: await store.createExperiment({
        name: m.name,
        artifact_location: location === undefined ? undefined : checkArtifactLocation(location, storage.localRoot),
        tags: m.tags?.map((t) => ({ key: t.key, value: t.value ?? '' })),
      }),
    };
  });

  endpoint<{ experiment_id: string }>(app, 'GET', '/experiments/get', schemas.getExperiment, async (m) => ({
    experiment: await store.getExperiment(m.experiment_id),
  }));

  endpoint<{ experiment_name: string }>(app, 'GET', '/experiments/get-by-name', schemas.getExperimentByName, async (m) => ({
    experiment: await store.getExperimentByName(m.experiment_name),
  }));

  endpoint<{ max_results?: number; page_token?: string; filter?: string; order_by?: string[]; view_type?: ViewType | number }>(
    app,
    ['POST', 'GET'],
    '/experiments/search',
    schemas.searchExperiments,
    async (m) => {
      const page = await store.searchExperiments({
        max_results: m.max_results,
        page_token: optional(m.page_token),
        filter: optional(m.filter),
        order_by: m.order_by,
        view_type: viewType(m.view_type),
      });
      return { experiments: page.items, next_page_token: page.next_page_token };
    },
  );

  endpoint<{ experiment_id: string; new_name: string }>(app, 'POST', '/experiments/update', schemas.updateExperiment, async (m) => {
    await store.renameExperiment(m.experiment_id, m.new_name);
    return {};
  });

  endpoint<{ experiment_id: string }>(app, 'POST', '/experiments/delete', schemas.deleteExperiment, async (m) => {
    await store.deleteExperiment(m.experiment_id);
    return {};
  });

  endpoint<{ experiment_id: string }>(app, 'POST', '/experiments/restore', schemas.restoreExperiment, async (m) => {
    await store.restoreExperiment(m.experiment_id);
    return {};
  });

  endpoint<{ experiment_id: string; key: string; value?: string }>(
    app,
    'POST',
    '/experiments/set-experiment-tag',
    schemas.setExperimentTag,
    async (m) => {
      await store.setExperimentTag(m.experiment_id, { key: m.key, value: m.value ?? '' });
      return {};
    },
  );

  endpoint<{ experiment_id: string; key: string }>(app, 'POST', '/experiments/delete-experiment-tag', schemas.deleteExperimentTag, async (m) => {
    await store.deleteExperimentTag(m.experiment_id, m.key);
    return {};
  });
};
