/**
 * tracking/server/routes/metric-columns — Kiln's compact metric history for charts, under
 * /api/2.0/kiln: `GET metrics/history-columns?run_id&metric_key`, in step order.
 *
 * - JSON (default): `{steps: number[], timestamps: number[], values: (number | "NaN" |
 *   "Infinity" | "-Infinity")[]}` — the same points as MLflow's get-history, as three arrays
 *   instead of one object per point (under half the bytes).
 * - `Accept: application/octet-stream`: the three columns as little-endian float64, one after
 *   the other (`n` steps, `n` timestamps, `n` values; n = byte length / 24, also in the
 *   `x-kiln-points` header). Non-finite values travel as themselves, and neither side formats or
 *   parses 300,000 decimal numbers: this is what the UI's charts read.
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

const BINARY = 'application/octet-stream';

export const metricColumnRoutes: FastifyPluginAsync<ApiContext> = async (app, { store }) => {
  app.get('/metrics/history-columns', { schema: { querystring: query } }, async (request, reply) => {
    const { run_id, metric_key } = request.query as { run_id: string; metric_key: string };
    const points = (await store.getMetricHistory(run_id, metric_key)).items;
    // SQL stores already answer in step order; sort only a store that does not.
    const before = (a: Metric, b: Metric): number => a.step - b.step || a.timestamp - b.timestamp;
    if (points.some((p, i) => i > 0 && before(points[i - 1], p) > 0)) points.sort(before);
    const n = points.length;
    if ((request.headers.accept ?? '').includes(BINARY)) {
      const columns = new Float64Array(3 * n);
      for (let i = 0; i < n; i++) {
        columns[i] = points[i].step;
        columns[n + i] = points[i].timestamp;
        columns[2 * n + i] = points[i].value;
      }
      // Float64Array is host-endian; every platform Node supports is little-endian.
      return reply.type(BINARY).header('x-kiln-points', n).send(Buffer.from(columns.buffer, columns.byteOffset, columns.byteLength));
    }
    const steps = new Array<number>(n);
    const timestamps = new Array<number>(n);
    const values = new Array<number | string>(n);
    points.forEach((p, i) => {
      steps[i] = p.step;
      timestamps[i] = p.timestamp;
      values[i] = encodeValue(p.value);
    });
    return { steps, timestamps, values };
  });
};
