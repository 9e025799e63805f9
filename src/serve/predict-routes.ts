/**
 * serve/predict-routes — Kiln's own prediction API:
 *
 *   POST /predict          one image: a multipart file field (any name) or a raw image/* body
 *   POST /predict/batch    {"images": [base64 image | pixel array, …]} → {"predictions": [...]}
 *   GET  /info             the served model: name, version, input (e.g. 32x32 RGB) and class names
 *
 * A pixel array is one image as the model takes it: H*W*C values 0–255, flat or nested
 * (serve/input-shape); labels come from the model's class names.
 * Each prediction says which preprocessing ran for it (`preprocessing`: 'dataset' or 'photo');
 * `?preprocess=auto|dataset|photo` overrides the model's choice for image files.
 */
import type { FastifyPluginAsync } from 'fastify';
import { describeInput, expectedPixels, toModelOrder } from './input-shape.js';
import type { PreprocessPath } from './preprocess.js';
import { decodeImage, effectiveMode } from './preprocess.js';
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

const infoSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    version: { type: 'string' },
    engine: { type: 'string' },
    source: { type: 'string' },
    input: {
      type: 'object',
      description: 'What one image becomes before the model: height x width x channels (1: grayscale, 3: RGB)',
      properties: {
        shape: { type: 'array', items: { type: 'integer' } },
        height: { type: 'integer' },
        width: { type: 'integer' },
        channels: { type: 'integer', enum: [1, 3] },
        color: { type: 'string', enum: ['gray', 'rgb'] },
        description: { type: 'string' },
        pixels: { type: 'string', description: 'The pixel arrays /predict/batch and /invocations accept for one image' },
      },
    },
    classes: { type: 'array', items: { type: 'string' }, description: 'Class names in output order' },
    preprocessing: { type: 'object', properties: { mode: { type: 'string' }, photo: { type: 'boolean', description: 'Whether ?preprocess=photo applies (grayscale models only)' } } },
  },
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

/** The index of the largest probability (the first, on a tie). */
export function bestClass(probs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < probs.length; i++) if (probs[i]! > probs[best]!) best = i;
  return best;
}

/** Counts each of `n` rows of probabilities in the prediction metrics, by the model's class names. */
export function observeRows(metrics: ServeMetrics, served: ServedModel, probabilities: Float32Array, n: number): void {
  const classes = served.predictor.classes;
  for (let i = 0; i < n; i++) {
    const row = probabilities.subarray(i * classes, (i + 1) * classes);
    const best = bestClass(row);
    metrics.observePrediction(served.metadata.classNames[best] ?? String(best), row[best]!);
  }
}

/** What a client needs to know of the served model: its name, version, input and classes. */
export function modelSummary(served: ServedModel) {
  const { input, metadata } = served;
  return {
    name: served.name,
    version: served.version,
    engine: served.predictor.engine,
    source: served.source,
    input: {
      shape: [input.height, input.width, input.channels],
      height: input.height,
      width: input.width,
      channels: input.channels,
      color: input.color,
      description: describeInput(input),
      pixels: expectedPixels(input),
    },
    classes: metadata.classNames,
    preprocessing: { mode: metadata.preprocessing.mode ?? 'dataset', photo: input.color === 'gray' },
  };
}

/** The answer for one example's probabilities. */
function describe(model: ServedModel, probs: Float32Array, topK: number, preprocessing: PreprocessPath) {
  const best = bestClass(probs);
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
  const observe = (answer: { confidence: number; prediction: string }): void => metrics.observePrediction(answer.prediction, answer.confidence);

  app.get('/info', { schema: { summary: 'The served model: name, version, engine, input shape and colour, class names (503 before a model is loaded)', tags: ['health'], response: { 200: infoSchema, '4xx': errorSchema, '5xx': errorSchema } } }, async () => {
    const served = lifecycle.current();
    if (!served) throw lifecycle.notReady();
    return modelSummary(served);
  });

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
      // A mode the model cannot take is refused before the upload is read.
      if (request.query.preprocess) effectiveMode(request.query.preprocess, lifecycle.current()!.metadata.preprocessing);
      // The model is taken once the upload is in: a slow uploader never holds up a hot swap.
      const bytes = await readUpload(request, limits);
      return lifecycle.withModel(async (served) => {
        const input = new Float32Array(served.predictor.inputSize);
        const path = await decodeImage(bytes, served.metadata.preprocessing, input, 0, limits.pixelLimit, request.query.preprocess);
        toModelOrder(input, 0, served.input);
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
        summary: "Classify several images: base64 encoded files, or pixel arrays of the model's input (H*W*C values 0-255, flat or nested [H][W][C]; see GET /info)",
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
        const { input, paths } = await decodeItems(items, served.metadata.preprocessing, served.input, limits, request.query.preprocess);
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
