/**
 * tracking/server/api — the MLflow REST API 2.0 plugin, mounted under /api/2.0/mlflow and
 * /ajax-api/2.0/mlflow.
 *
 * Writes (POST, PATCH, DELETE) must send `application/json` (415 otherwise, before the body
 * is read; see wire.ts). Before validation every request is normalised the way MLflow's server
 * reads messages: an empty body is {}, `null` members are absent, a DELETE may carry its fields
 * in the body or the query string, and `run_uuid` stands in for a missing `run_id`.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ApiContext } from './endpoint.js';
import { trackingArtifactRoutes } from './routes/artifacts.js';
import { experimentRoutes } from './routes/experiments.js';
import { loggedModelRoutes } from './routes/logged-models.js';
import { metricRoutes } from './routes/metrics.js';
import { modelVersionRoutes } from './routes/model-versions.js';
import { registeredModelRoutes } from './routes/registered-models.js';
import { runRoutes } from './routes/runs.js';
import { sendError } from './errors.js';
import { parseJsonBody, stripNulls, unsupportedContentType } from './wire.js';

type Message = Record<string, unknown>;

const isObject = (value: unknown): value is Message => value !== null && typeof value === 'object' && !Array.isArray(value);

export const mlflowApi: FastifyPluginAsync<ApiContext & { bodyLimit: number }> = async (app, options) => {
  app.addHook('onRequest', async (request, reply) => {
    const refusal = unsupportedContentType(request.method, request.headers);
    if (refusal !== undefined) return sendError(reply, 415, 'INVALID_PARAMETER_VALUE', refusal);
  });

  // Only application/json gets this far with a body (the hook above); parse it leniently.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: options.bodyLimit }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });

  app.addHook('preValidation', async (request) => {
    if (request.method === 'GET') {
      const query = stripNulls(request.query) as Message;
      if (query.run_id === undefined && query.run_uuid !== undefined) query.run_id = query.run_uuid;
      request.query = query;
      return;
    }
    let body = request.body === undefined || request.body === null ? {} : stripNulls(request.body);
    if (request.method === 'DELETE' && isObject(body) && isObject(request.query)) body = { ...request.query, ...body };
    if (isObject(body) && body.run_id === undefined && body.run_uuid !== undefined) body.run_id = body.run_uuid;
    request.body = body;
  });

  const context: ApiContext = { store: options.store, storage: options.storage, metrics: options.metrics, maxArtifactBytes: options.maxArtifactBytes };
  await app.register(experimentRoutes, context);
  await app.register(runRoutes, context);
  await app.register(metricRoutes, context);
  await app.register(trackingArtifactRoutes, context);
  await app.register(registeredModelRoutes, context);
  await app.register(modelVersionRoutes, context);
  await app.register(loggedModelRoutes, context);
};
