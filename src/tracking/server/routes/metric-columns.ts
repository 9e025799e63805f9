/**
 * tracking/server/routes/metric-columns — Kiln's compact metric history for charts, under
 * /api/2.0/kiln: `GET metrics/history-columns?run_id&metric_key` →
 * `{steps: number[], timestamps: number[], values: (number | "NaN" | "Infinity" | "-Infinity")[]}`,
 * in step order. The same points as MLflow's get-history, as three arrays instead of one object
 * per point: a 100,000-point history is under half the bytes and parses without 100,000
 * allocations — the UI's charts read it.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Metric } from '../../store/types.js';
import type { ApiContext } from '../endpoint.js';
import { encodeValue } from '../wire.js';

const query = {
  type: 'object',
  properties: { run_id: { type: 'string', minLength: 1 }, metric_key: { type: 'string', minLength: 1 } },
  required: ['run_id', 'metric_key'],
} as const;

export const metricColumnRoutes: FastifyPluginAsync<ApiContext> = async (app, { store }) => {
  app.get('/metrics/history-columns', { schema: { querystring: query } }, async (request) => {
    const { run_id, metric_key } = request.query as { run_id: string; metric_key: string };
    const points = (await store.getMetricHistory(run_id, metric_key)).items;
    // SQL stores already answer in step order; sort only a store that does not.
    const before = (a: Metric, b: Metric): number => a.step - b.step || a.timestamp - b.timestamp;
    if (points.some((p, i) => i > 0 && before(points[i - 1], p) > 0)) points.sort(before);
    const steps = new Array<number>(points.length);
    const timestamps = new Array<number>(points.length);
    const values = new Array<number | string>(points.length);
    points.forEach((p, i) => {
      steps[i] = p.step;
      timestamps[i] = p.timestamp;
      values[i] = encodeValue(p.value);
    });
    return { steps, timestamps, values };
  });
};
