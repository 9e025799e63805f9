/**
 * serve/invocations — the MLflow scoring protocol: POST /invocations with {"instances": [...]}
 * or {"inputs": [...]} (or {"inputs": {"name": [...]}}) of pixel arrays (the model's input:
 * H*W*C values, flat or nested, serve/input-shape) or base64 images; answers
 * {"predictions": [[p per class, in the order of the model's class names], …]}. A single example
 * sent unwrapped (one flat or nested pixel array) is a list of one. `?preprocess=` applies to
 * base64 images.
 */
import type { FastifyPluginAsync } from 'fastify';
import { badRequest } from './errors.js';
import { decodeItems, preprocessParameter, type PreprocessQuery } from './intake.js';
import { type InputGeometry, nestedShape, nestedShapes } from './input-shape.js';
import { observeRows, type RouteContext } from './predict-routes.js';

type InvocationsBody = { instances?: unknown[]; inputs?: unknown };

/** Whether `items` is one example's pixel array rather than a list of examples. */
function isOneExample(items: unknown[], input: InputGeometry): boolean {
  if (typeof items[0] === 'number') return true;
  const dims = nestedShape(items);
  return nestedShapes(input).some((shape) => shape.length === dims.length && shape.every((d, i) => d === dims[i]));
}

/** The examples of a scoring request, as a list (a single flat or nested example becomes a list of one). */
function examplesOf(body: InvocationsBody, input: InputGeometry): unknown[] {
  let items: unknown[];
  if (Array.isArray(body.instances)) items = body.instances;
  else if (Array.isArray(body.inputs)) items = body.inputs;
  else if (body.inputs && typeof body.inputs === 'object') {
    const values = Object.values(body.inputs as Record<string, unknown>);
    if (values.length !== 1 || !Array.isArray(values[0])) throw badRequest('INVALID_REQUEST', '"inputs" as an object must hold exactly one named array of examples');
    items = values[0] as unknown[];
  } else throw badRequest('INVALID_REQUEST', 'expected {"instances": [...]} or {"inputs": [...]} (MLflow scoring protocol)');
  if (items.length === 0) throw badRequest('INVALID_REQUEST', 'no examples');
  if (isOneExample(items, input)) items = [items];
  return items;
}

export const invocationsRoutes: FastifyPluginAsync<RouteContext> = async (app, { lifecycle, metrics, limits }) => {
  app.post<{ Body: InvocationsBody; Querystring: PreprocessQuery }>(
    '/invocations',
    {
      schema: {
        summary: "MLflow scoring protocol: instances or inputs of pixel arrays (the model's input, H*W*C values 0-255, flat or nested [H][W][C]; see GET /info) or base64 images; answers class probabilities in the order of the model's classes",
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
        const items = examplesOf(request.body, served.input);
        const { input } = await decodeItems(items, served.metadata.preprocessing, served.input, limits, request.query.preprocess);
        lifecycle.throwIfClientGone(request);
        const result = await served.batcher.submit(input, items.length);
        observeRows(metrics, served, result.probabilities, items.length);
        const classes = served.predictor.classes;
        return { predictions: items.map((_, i) => Array.from(result.probabilities.subarray(i * classes, (i + 1) * classes))) };
      }),
  );
};
