/**
 * serve/invocations — the MLflow scoring protocol: POST /invocations with {"instances": [...]}
 * or {"inputs": [...]} (or {"inputs": {"name": [...]}}) of pixel arrays or base64 images;
 * answers {"predictions": [[p per class], …]}. `?preprocess=` applies to base64 images.
 */
import type { FastifyPluginAsync } from 'fastify';
import { badRequest } from './errors.js';
import { decodeItems, preprocessParameter, type PreprocessQuery } from './intake.js';
import type { RouteContext } from './predict-routes.js';

type InvocationsBody = { instances?: unknown[]; inputs?: unknown };

/** The examples of a scoring request, as a list (a single flat or [28][28] example becomes a list of one). */
function examplesOf(body: InvocationsBody, size: number): unknown[] {
  let items: unknown[];
  if (Array.isArray(body.instances)) items = body.instances;
  else if (Array.isArray(body.inputs)) items = body.inputs;
  else if (body.inputs && typeof body.inputs === 'object') {
    const values = Object.values(body.inputs as Record<string, unknown>);
    if (values.length !== 1 || !Array.isArray(values[0])) throw badRequest('INVALID_REQUEST', '"inputs" as an object must hold exactly one named array of examples');
    items = values[0] as unknown[];
  } else throw badRequest('INVALID_REQUEST', 'expected {"instances": [...]} or {"inputs": [...]} (MLflow scoring protocol)');
  if (items.length === 0) throw badRequest('INVALID_REQUEST', 'no examples');
  if (typeof items[0] === 'number' || (Array.isArray(items[0]) && (items[0] as unknown[]).length !== size && items.flat(3).length === size)) items = [items];
  return items;
}

export const invocationsRoutes: FastifyPluginAsync<RouteContext> = async (app, { lifecycle, limits }) => {
  app.post<{ Body: InvocationsBody; Querystring: PreprocessQuery }>(
    '/invocations',
    {
      schema: {
        summary: 'MLflow scoring protocol: instances or inputs of pixel arrays (or base64 images); answers class probabilities',
        tags: ['predict'],
        querystring: { type: 'object', properties: { preprocess: preprocessParameter } },
        body: {
          type: 'object',
          properties: { instances: { type: 'array', minItems: 1 }, inputs: { anyOf: [{ type: 'array', minItems: 1 }, { type: 'object' }] } },
        },
      },
    },
    async (request) =>
      lifecycle.withModel(async (served) => {
        const items = examplesOf(request.body, served.predictor.inputSize);
        const { input } = await decodeItems(items, served.metadata.preprocessing, served.predictor.inputSize, limits, request.query.preprocess);
        lifecycle.throwIfClientGone(request);
        const result = await served.batcher.submit(input, items.length);
        const classes = served.predictor.classes;
        return { predictions: items.map((_, i) => Array.from(result.probabilities.subarray(i * classes, (i + 1) * classes))) };
      }),
  );
};
