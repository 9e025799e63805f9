/**
 * tracking/server/routes/metrics — metrics/get-history and metrics/get-history-bulk-interval
 * (sampling in metric-sampling.ts); values NaN/±Infinity as MLflow's strings.
 */
import type { FastifyPluginAsync } from 'fastify';
import { endpoint, optional, type ApiContext } from '../endpoint.js';
import { metricHistoryBulkInterval, type BulkIntervalQuery } from '../metric-sampling.js';
import { schemas } from '../schemas.js';
import { encodeMetric } from '../wire.js';

export const metricRoutes: FastifyPluginAsync<ApiContext> = async (app, { store }) => {
  endpoint<{ run_id: string; metric_key: string; max_results?: number; page_token?: string }>(
    app,
    'GET',
    '/metrics/get-history',
    schemas.getMetricHistory,
    async (m) => {
      const page = await store.getMetricHistory(m.run_id, m.metric_key, {
        max_results: m.max_results,
        page_token: optional(m.page_token),
      });
      return { metrics: page.items.map(encodeMetric), next_page_token: page.next_page_token };
    },
  );

  endpoint<BulkIntervalQuery>(app, 'GET', '/metrics/get-history-bulk-interval', schemas.getMetricHistoryBulkInterval, async (m) => ({
    metrics: (await metricHistoryBulkInterval(store, m)).map(encodeMetric),
  }));
};
