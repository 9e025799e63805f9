/**
 * serve/health — the operator's endpoints: GET /health (the process answers), GET /ready (200
 * once a model is loaded, with the model's name, version, input and classes; 503 with the reason
 * before) and GET /metrics (Prometheus).
 */
import type { FastifyPluginAsync } from 'fastify';
import { modelSummary, type RouteContext } from './predict-routes.js';

export const healthRoutes: FastifyPluginAsync<Pick<RouteContext, 'lifecycle' | 'metrics'>> = async (app, { lifecycle, metrics }) => {
  app.get('/health', { schema: { summary: 'Liveness: the process answers', tags: ['health'], response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } } }, async () => ({ status: 'ok' }));

  app.get('/ready', { schema: { summary: 'Readiness: 200 once a model is loaded, 503 (with the reason) before', tags: ['health'] } }, async (_request, reply) => {
    const model = lifecycle.current();
    if (!model) {
      const { code, message } = lifecycle.notReady();
      return reply.status(503).send({ status: 'not ready', error: { code, message } });
    }
    return { status: 'ready', model: modelSummary(model) };
  });

  app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['health'] } }, async (_request, reply) => {
    void reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
};
