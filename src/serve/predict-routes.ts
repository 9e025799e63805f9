/**
 * serve/predict-routes — Kiln's own prediction API:
 *
 *   POST /predict          one image: a multipart file field (any name) or a raw image/* body
 *   POST /predict/batch    {"images": [base64 image | 784 pixel values 0–255, …]} → {"predictions": [...]}
 *
 * Each prediction says which preprocessing ran for it (`preprocessing`: 'dataset' or 'photo');
 * `?preprocess=auto|dataset|photo` overrides the model's choice for image files.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { PreprocessPath } from './preprocess.js';
import { decodeImage } from './preprocess.js';
import { decodeItems, type IntakeLimits, preprocessParameter, type PreprocessQuery, readUpload } from './intake.js';
import type { ServeLifecycle } from './lifecycle.js';
import type { ServeMetrics } from './metrics.js';
import type { ServedModel } from './model.js';

export interface RouteContext {
  lifecycle: ServeLifecycle;
  metrics: ServeMetrics;
  limits: IntakeLimits;
  /** Default top_k of a prediction. */
  defaultTopK: number;
}

export const errorSchema = {
  type: 'object',
  properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] } },
} as const;

const answerProperties = {
  prediction: { type: 'string' },
  class_id: { type: 'integer' },
  confidence: { type: 'number' },
  top_k: { type: 'array', items: { type: 'object', properties: { label: { type: 'string' }, probability: { type: 'number' } } } },
  preprocessing: { type: 'string', enum: ['dataset', 'photo'], description: "Which preprocessing ran: 'dataset' (decoded and resized as the training data) or 'photo' (the product-photo conversion)" },
} as const;
const modelProperty = { type: 'object', properties: { name: { type: 'string' }, version: { type: 'string' } } } as const;
const timingProperty = { type: 'object', properties: { preprocess: { type: 'number' }, inference: { type: 'number' }, total: { type: 'number' } } } as const;

const predictionSchema = { type: 'object', properties: { ...answerProperties, model: modelProperty, timing_ms: timingProperty } } as const;
const batchSchema = {
  type: 'object',
  properties: { predictions: { type: 'array', items: { type: 'object', properties: answerProperties } }, model: modelProperty, timing_ms: timingProperty },
} as const;

/** Documents the multipart upload of /predict in the OpenAPI document (the handler parses it; nothing validates it). */
export const uploadSchema = {
  type: 'object',
  required: ['file'],
  properties: { file: { type: 'string', format: 'binary', description: 'PNG, JPEG, WebP, GIF or TIFF image' } },
} as const;

const predictQuery = { type: 'object', properties: { top_k: { type: 'integer', minimum: 1, maximum: 1000 }, preprocess: preprocessParameter } } as const;
const pixelsOrImage = { anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', minItems: 1 }] } as const;

type PredictQuery = PreprocessQuery & { top_k?: number };

/** The answer for one example's probabilities. */
function describe(model: ServedModel, probs: Float32Array, topK: number, preprocessing: PreprocessPath) {
  let best = 0;
  for (let i = 1; i < probs.length; i++) if (probs[i]! > probs[best]!) best = i;
  const order = Array.from(probs.keys()).sort((a, b) => probs[b]! - probs[a]!);
  return {
    prediction: model.metadata.classNames[best] ?? String(best),
    class_id: best,
    confidence: probs[best]!,
    top_k: order.slice(0, topK).map((i) => ({ label: model.metadata.classNames[i] ?? String(i), probability: probs[i]! })),
    preprocessing,
  };
}

export const predictRoutes: FastifyPluginAsync<RouteContext> = async (app, { lifecycle, metrics, limits, defaultTopK }) => {
  const observe = (answer: { confidence: number; prediction: string }): void => {
    metrics.confidence.observe(answer.confidence);
    metrics.predictions.inc({ class: answer.prediction });
  };

  app.post<{ Querystring: PredictQuery }>(
    '/predict',
    {
      schema: {
        summary: 'Classify one uploaded image (multipart file field, or a raw image/* body)',
        tags: ['predict'],
        querystring: predictQuery,
        response: { 200: predictionSchema, '4xx': errorSchema },
      },
      config: { openapiMultipartBody: uploadSchema },
    },
    async (request) => {
      const start = performance.now();
      lifecycle.requireReady();
      // The model is taken once the upload is in: a slow uploader never holds up a hot swap.
      const bytes = await readUpload(request, limits);
      return lifecycle.withModel(async (served) => {
        const input = new Float32Array(served.predictor.inputSize);
        const path = await decodeImage(bytes, served.metadata.preprocessing, input, 0, limits.pixelLimit, request.query.preprocess);
        const preprocessed = performance.now();
        metrics.preprocess.observe((preprocessed - start) / 1000);
        lifecycle.throwIfClientGone(request);
        const result = await served.batcher.submit(input, 1);
        const answer = describe(served, result.probabilities, Math.min(request.query.top_k ?? defaultTopK, served.predictor.classes), path);
        observe(answer);
        return {
          ...answer,
          model: { name: served.name, version: served.version },
          timing_ms: { preprocess: preprocessed - start, inference: result.inferenceMs, total: performance.now() - start },
        };
      });
    },
  );

  app.post<{ Body: { images: unknown[] }; Querystring: PredictQuery }>(
    '/predict/batch',
    {
      schema: {
        summary: 'Classify several images: base64 encoded files or 784 pixel values 0-255 each',
        tags: ['predict'],
        querystring: predictQuery,
        body: { type: 'object', required: ['images'], properties: { images: { type: 'array', minItems: 1, items: pixelsOrImage } } },
        response: { 200: batchSchema, '4xx': errorSchema },
      },
    },
    async (request) =>
      lifecycle.withModel(async (served) => {
        const start = performance.now();
        const items = request.body.images;
        const { input, paths } = await decodeItems(items, served.metadata.preprocessing, served.predictor.inputSize, limits, request.query.preprocess);
        const preprocessed = performance.now();
        metrics.preprocess.observe((preprocessed - start) / 1000);
        lifecycle.throwIfClientGone(request);
        const result = await served.batcher.submit(input, items.length);
        const classes = served.predictor.classes;
        const topK = Math.min(request.query.top_k ?? defaultTopK, classes);
        const predictions = items.map((_, i) => {
          const answer = describe(served, result.probabilities.subarray(i * classes, (i + 1) * classes), topK, paths[i]!);
          observe(answer);
          return answer;
        });
        return {
          predictions,
          model: { name: served.name, version: served.version },
          timing_ms: { preprocess: preprocessed - start, inference: result.inferenceMs, total: performance.now() - start },
        };
      }),
  );
};
