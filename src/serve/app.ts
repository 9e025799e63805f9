/**
 * serve/app — the inference API (Fastify).
 *
 *   POST /predict          multipart image (field any name) or a raw image/* body → one prediction
 *   POST /predict/batch    {"images": [base64 image | 784 pixel values 0–255, …]} → {"predictions": [...]}
 *   POST /invocations      MLflow scoring: {"instances": [...]} or {"inputs": [...]} of pixel arrays → {"predictions": [[p…]]}
 *   GET  /health           alive;  GET /ready: 200 once a model is loaded, 503 before
 *   GET  /metrics          Prometheus
 *   KServe v2              /v2/health/live, /v2/health/ready, /v2/models/{name}[/ready], POST /v2/models/{name}/infer
 *   GET  /                 home page: upload or draw an image and see the prediction (not in the OpenAPI document)
 *   GET  /docs             Swagger UI (served from the package, offline); /docs/json the OpenAPI document
 *
 * The route schemas are the single source of both request validation and the OpenAPI document.
 * Client errors are `{"error": {"code", "message"}}` with a 4xx status; nothing a client sends
 * makes a 5xx or stops the server.
 */
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { type AccessOptions, registerAccess } from './access.js';
import { accessLog, fastifyLogging, isLogger, type Logger } from '../observability/logging.js';
import { badRequest, ServeError } from './errors.js';
import { createServeMetrics, type ServeMetrics } from './metrics.js';
import { retireModel, type ServedModel } from './model.js';
import { registerDocs } from './docs.js';
import { registerHomePage } from './page.js';
import { decodeBase64, decodeImage, DEFAULT_PIXEL_LIMIT, flattenPixels, normalizePixels } from './preprocess.js';

export interface ServeAppOptions {
  /** Largest uploaded image, bytes (default 10 MiB). */
  maxUploadBytes?: number;
  /** Largest JSON body, bytes (default 32 MiB). */
  maxJsonBytes?: number;
  /** Most images in one batch request (default 256). */
  maxBatchItems?: number;
  pixelLimit?: number;
  /** Default top_k of /predict (default 3). */
  topK?: number;
  /** false (default), true (Fastify's own), or a Kiln logger (observability/logging) for api_log.log. */
  logger?: boolean | Logger;
  defaultMetrics?: boolean;
  /** Serve Swagger UI at /docs and the OpenAPI document at /docs/json (default true). */
  docs?: boolean;
  /** API keys, rate limit and CORS (serve/access); default: no key, no limit, CORS for any origin. */
  access?: AccessOptions;
}

export interface ServeApp {
  app: FastifyInstance;
  metrics: ServeMetrics;
  /** The model being served, or null before the first load. */
  current(): ServedModel | null;
  /** Swaps in a model; the previous one finishes its in-flight work, then is freed. */
  setModel(model: ServedModel): Promise<void>;
  /** Why no model is loaded yet (answered by /ready while it says 503); null for the default. */
  setNotReadyReason(reason: string | null): void;
  /**
   * Graceful stop: new requests get 503 SHUTTING_DOWN with `Connection: close` (and /ready turns
   * 503), requests being handled finish, and once none has been in flight for `quietMs` (or after
   * `drainMs`) the listener closes and the model is freed.
   */
  close(options?: { drainMs?: number; quietMs?: number }): Promise<void>;
}

const errorSchema = {
  type: 'object',
  properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] } },
} as const;

const predictionSchema = {
  type: 'object',
  properties: {
    prediction: { type: 'string' },
    class_id: { type: 'integer' },
    confidence: { type: 'number' },
    top_k: { type: 'array', items: { type: 'object', properties: { label: { type: 'string' }, probability: { type: 'number' } } } },
    model: { type: 'object', properties: { name: { type: 'string' }, version: { type: 'string' } } },
    timing_ms: { type: 'object', properties: { preprocess: { type: 'number' }, inference: { type: 'number' }, total: { type: 'number' } } },
  },
} as const;

const uploadSchema = {
  type: 'object',
  required: ['file'],
  properties: { file: { type: 'string', format: 'binary', description: 'PNG, JPEG, WebP, GIF or TIFF image' } },
} as const;

const pixelsOrImage = { anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', minItems: 1 }] } as const;

function describe(model: ServedModel, probs: Float32Array, topK: number) {
  let best = 0;
  for (let i = 1; i < probs.length; i++) if (probs[i]! > probs[best]!) best = i;
  const order = Array.from(probs.keys()).sort((a, b) => probs[b]! - probs[a]!);
  return {
    prediction: model.metadata.classNames[best] ?? String(best),
    class_id: best,
    confidence: probs[best]!,
    top_k: order.slice(0, topK).map((i) => ({ label: model.metadata.classNames[i] ?? String(i), probability: probs[i]! })),
  };
}

export function buildServeApp(options: ServeAppOptions = {}): ServeApp {
  const maxUploadBytes = options.maxUploadBytes ?? 10 * 1024 * 1024;
  const maxJsonBytes = options.maxJsonBytes ?? 32 * 1024 * 1024;
  const maxBatchItems = options.maxBatchItems ?? 256;
  const pixelLimit = options.pixelLimit ?? DEFAULT_PIXEL_LIMIT;
  const defaultTopK = options.topK ?? 3;
  const metrics = createServeMetrics({ defaultMetrics: options.defaultMetrics });
  const app = Fastify({ ...fastifyLogging(options.logger), bodyLimit: maxJsonBytes, return503OnClosing: true }) as unknown as FastifyInstance;
  if (isLogger(options.logger)) app.addHook('onResponse', accessLog);
  let model: ServedModel | null = null;
  let notReadyReason: string | null = null;

  /** Requests hold a lease on the model they started with, so a swap never frees it under them. */
  const leases = new Map<ServedModel, number>();
  const held = new WeakMap<FastifyRequest, ServedModel>();
  const requireModelFor = (request: FastifyRequest): ServedModel => {
    if (!model) throw new ServeError(503, 'MODEL_NOT_READY', notReadyReason ?? 'no model is loaded yet');
    leases.set(model, (leases.get(model) ?? 0) + 1);
    held.set(request, model);
    return model;
  };
  const release = (request: FastifyRequest): void => {
    const served = held.get(request);
    if (!served) return;
    held.delete(request);
    const count = (leases.get(served) ?? 1) - 1;
    if (count <= 0) leases.delete(served);
    else leases.set(served, count);
  };
  const retireWhenFree = async (served: ServedModel): Promise<void> => {
    const deadline = Date.now() + 30_000;
    while ((leases.get(served) ?? 0) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    await retireModel(served);
  };

  const onBatch = (engine: string) => (size: number, seconds: number) => {
    metrics.batchSize.observe(size);
    // Both engines run on the CPU today; a GPU execution provider would report device: 'gpu'.
    metrics.inference.observe({ engine, device: 'cpu' }, seconds);
  };

  registerAccess(app, options.access ?? {});
  void app.register(multipart, { limits: { fileSize: maxUploadBytes, files: 1, fields: 10, parts: 20 } });
  app.addContentTypeParser(/^image\/.*/, { parseAs: 'buffer', bodyLimit: maxUploadBytes }, (_request, body, done) => done(null, body));

  let draining = false;
  let active = 0;
  let lastActivity = performance.now();
  app.addHook('onRequest', async (request, reply) => {
    active++;
    lastActivity = performance.now();
    metrics.inFlight.inc();
    if (draining && request.routeOptions.url !== '/health') {
      void reply.header('connection', 'close');
      throw new ServeError(503, 'SHUTTING_DOWN', 'the server is shutting down; send the request to another instance');
    }
  });
  app.addHook('onSend', async (_request, reply) => {
    if (draining) void reply.header('connection', 'close');
  });
  // A request aborted by its client can still end in onResponse (its reply's write fails), so
  // it is counted out once, whichever hook comes first.
  const countedOut = new WeakSet<FastifyRequest>();
  const finished = (request: FastifyRequest): void => {
    release(request);
    if (countedOut.has(request)) return;
    countedOut.add(request);
    active--;
    lastActivity = performance.now();
    metrics.inFlight.dec();
  };
  app.addHook('onRequestAbort', async (request) => finished(request));
  app.addHook('onResponse', async (request, reply) => {
    finished(request);
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    metrics.duration.observe({ route, method: request.method }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((error: FastifyError | ServeError, request: FastifyRequest, reply: FastifyReply) => {
    let status = error.statusCode ?? 500;
    let code = error.code ?? 'ERROR';
    let message = error.message;
    if (error instanceof ServeError) {
      // as is
    } else if ((error as FastifyError).validation) {
      status = 400;
      code = 'INVALID_REQUEST';
    } else if (status === 413 || code === 'FST_REQ_FILE_TOO_LARGE' || code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      status = 413;
      code = 'PAYLOAD_TOO_LARGE';
      message = `the upload exceeds the limit (${maxUploadBytes} bytes for images, ${maxJsonBytes} for JSON): ${message}`;
    } else if (status === 415) {
      code = 'UNSUPPORTED_MEDIA_TYPE';
    } else if (error instanceof SyntaxError || code === 'FST_ERR_CTP_INVALID_JSON_BODY' || code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      status = 400;
      code = 'INVALID_JSON';
    } else if (status >= 400 && status < 500) {
      code = code.replace(/^FST_(ERR_)?/, '') || 'BAD_REQUEST';
    } else {
      status = 500;
      code = 'INTERNAL';
      request.log.error(error);
    }
    void reply.status(status).send({ error: { code, message } });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url}` } });
  });

  if (options.docs !== false) {
    void app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: { title: 'Kiln inference API', version: '1', description: 'Fashion-MNIST classification: the champion model from the Kiln registry, served by ONNX Runtime.' },
      },
      transform: ({ schema, url }) => {
        // A multipart upload is parsed by the handler, not validated: describe it for the document only.
        if (url === '/predict' && schema) return { schema: { ...schema, consumes: ['multipart/form-data'], body: uploadSchema }, url };
        return { schema, url };
      },
    });
    void app.register(async (docs) => registerDocs(docs, () => app.swagger()));
  }

  void app.register(async (app) => {
    registerHomePage(app);

    app.get('/health', { schema: { summary: 'Liveness: the process answers', tags: ['health'], response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } } }, async () => ({ status: 'ok' }));

    app.get('/ready', { schema: { summary: 'Readiness: 200 once a model is loaded, 503 (with the reason) before', tags: ['health'] } }, async (_request, reply) => {
      if (!model) return reply.status(503).send({ status: 'not ready', error: { code: 'MODEL_NOT_READY', message: notReadyReason ?? 'no model is loaded yet' } });
      return { status: 'ready', model: { name: model.name, version: model.version, engine: model.predictor.engine, source: model.source } };
    });

    app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['health'] } }, async (_request, reply) => {
      void reply.header('content-type', metrics.registry.contentType);
      return metrics.registry.metrics();
    });

    app.post<{ Querystring: { top_k?: number } }>(
      '/predict',
      {
        schema: {
          summary: 'Classify one uploaded image (multipart file field, or a raw image/* body)', tags: ['predict'],
          querystring: { type: 'object', properties: { top_k: { type: 'integer', minimum: 1, maximum: 1000 } } },
          response: { 200: predictionSchema, '4xx': errorSchema },
        },
      },
      async (request) => {
        const start = performance.now();
        const served = requireModelFor(request);
        let bytes: Buffer;
        if (request.isMultipart()) {
          const file = await request.file();
          if (!file) throw badRequest('NO_FILE', 'the multipart request has no file part');
          bytes = await file.toBuffer();
        } else if (Buffer.isBuffer(request.body)) {
          bytes = request.body;
        } else {
          throw new ServeError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the image as multipart/form-data (a file field) or as an image/* body');
        }
        if (bytes.length === 0) throw badRequest('EMPTY_FILE', 'the uploaded file is empty');
        const input = new Float32Array(served.predictor.inputSize);
        await decodeImage(bytes, served.metadata.preprocessing, input, 0, pixelLimit);
        const preprocessed = performance.now();
        metrics.preprocess.observe((preprocessed - start) / 1000);
        const result = await served.batcher.submit(input, 1);
        const answer = describe(served, result.probabilities, Math.min(request.query.top_k ?? defaultTopK, served.predictor.classes));
        metrics.confidence.observe(answer.confidence);
        metrics.predictions.inc({ class: answer.prediction });
        const end = performance.now();
        return {
          ...answer,
          model: { name: served.name, version: served.version },
          timing_ms: { preprocess: preprocessed - start, inference: result.inferenceMs, total: end - start },
        };
      },
    );

    /** Turns a list of base64 images or pixel arrays into model input. */
    async function toInput(served: ServedModel, items: unknown[]): Promise<Float32Array> {
      if (items.length > maxBatchItems) throw new ServeError(413, 'TOO_MANY_ITEMS', `at most ${maxBatchItems} items per request, got ${items.length}`);
      const size = served.predictor.inputSize;
      const input = new Float32Array(items.length * size);
      await Promise.all(
        items.map(async (item, i) => {
          if (typeof item === 'string') {
            await decodeImage(decodeBase64(item, i), served.metadata.preprocessing, input, i * size, pixelLimit).catch((error: unknown) => {
              if (error instanceof ServeError) throw new ServeError(error.statusCode, error.code, `item ${i}: ${error.message}`);
              throw error;
            });
          } else {
            normalizePixels(flattenPixels(item, size, i), served.metadata.preprocessing, input, i * size);
          }
        }),
      );
      return input;
    }

    app.post<{ Body: { images: unknown[] }; Querystring: { top_k?: number } }>(
      '/predict/batch',
      {
        schema: {
          summary: 'Classify several images: base64 encoded files or 784 pixel values 0-255 each', tags: ['predict'],
          querystring: { type: 'object', properties: { top_k: { type: 'integer', minimum: 1, maximum: 1000 } } },
          body: { type: 'object', required: ['images'], properties: { images: { type: 'array', minItems: 1, items: pixelsOrImage } } },
        },
      },
      async (request) => {
        const start = performance.now();
        const served = requireModelFor(request);
        const items = request.body.images;
        const input = await toInput(served, items);
        const preprocessed = performance.now();
        metrics.preprocess.observe((preprocessed - start) / 1000);
        const result = await served.batcher.submit(input, items.length);
        const classes = served.predictor.classes;
        const topK = Math.min(request.query.top_k ?? defaultTopK, classes);
        const predictions = items.map((_, i) => {
          const answer = describe(served, result.probabilities.subarray(i * classes, (i + 1) * classes), topK);
          metrics.confidence.observe(answer.confidence);
          metrics.predictions.inc({ class: answer.prediction });
          return answer;
        });
        return {
          predictions,
          model: { name: served.name, version: served.version },
          timing_ms: { preprocess: preprocessed - start, inference: result.inferenceMs, total: performance.now() - start },
        };
      },
    );

    app.post<{ Body: { instances?: unknown[]; inputs?: unknown } }>(
      '/invocations',
      {
        schema: {
          summary: 'MLflow scoring protocol: instances or inputs of pixel arrays; answers class probabilities', tags: ['predict'],
          body: {
            type: 'object',
            properties: { instances: { type: 'array', minItems: 1 }, inputs: { anyOf: [{ type: 'array', minItems: 1 }, { type: 'object' }] } },
          },
        },
      },
      async (request) => {
        const served = requireModelFor(request);
        const body = request.body;
        let items: unknown[];
        if (Array.isArray(body.instances)) items = body.instances;
        else if (Array.isArray(body.inputs)) items = body.inputs;
        else if (body.inputs && typeof body.inputs === 'object') {
          const values = Object.values(body.inputs as Record<string, unknown>);
          if (values.length !== 1 || !Array.isArray(values[0])) throw badRequest('INVALID_REQUEST', '"inputs" as an object must hold exactly one named array of examples');
          items = values[0] as unknown[];
        } else throw badRequest('INVALID_REQUEST', 'expected {"instances": [...]} or {"inputs": [...]} (MLflow scoring protocol)');
        if (items.length === 0) throw badRequest('INVALID_REQUEST', 'no examples');
        // A single example given flat (784 numbers, or [28][28]) rather than as a list of examples.
        const size = served.predictor.inputSize;
        if (typeof items[0] === 'number' || (Array.isArray(items[0]) && (items[0] as unknown[]).length !== size && items.flat(3).length === size)) items = [items];
        const input = await toInput(served, items);
        const result = await served.batcher.submit(input, items.length);
        const classes = served.predictor.classes;
        const predictions = items.map((_, i) => Array.from(result.probabilities.subarray(i * classes, (i + 1) * classes)));
        return { predictions };
      },
    );

    // KServe v2 (Open Inference Protocol): https://kserve.github.io/website/latest/modelserving/data_plane/v2_protocol/
    const modelNamed = (name: string): ServedModel => {
      if (!model) throw new ServeError(503, 'MODEL_NOT_READY', notReadyReason ?? 'no model is loaded yet');
      if (name !== model.name) throw new ServeError(404, 'MODEL_NOT_FOUND', `no model named ${name}; this server serves ${model.name}`);
      return model;
    };
    const nameParams = { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } as const;
    app.get('/v2/health/live', { schema: { summary: 'KServe v2: server live', tags: ['kserve-v2'] } }, async () => ({ live: true }));
    app.get('/v2/health/ready', { schema: { summary: 'KServe v2: server ready (503 until a model is loaded)', tags: ['kserve-v2'] } }, async (_request, reply) =>
      reply.status(model ? 200 : 503).send({ ready: model !== null }),
    );
    app.get<{ Params: { name: string } }>('/v2/models/:name', { schema: { summary: 'KServe v2: model metadata', tags: ['kserve-v2'], params: nameParams } }, async (request) => {
      const served = modelNamed(request.params.name);
      return {
        name: served.name,
        versions: [served.version],
        platform: served.predictor.engine === 'onnxruntime' ? 'onnxruntime_onnx' : 'tensorflow_js',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, ...served.metadata.inputShape] }],
        outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, served.predictor.classes] }],
        parameters: { classes: served.metadata.classNames, pixel_range: [0, 255], accepted_datatypes: ['FP32', 'UINT8'] },
      };
    });
    app.get<{ Params: { name: string } }>('/v2/models/:name/ready', { schema: { summary: 'KServe v2: model ready', tags: ['kserve-v2'], params: nameParams } }, async (request) => {
      const served = modelNamed(request.params.name);
      return { name: served.name, ready: true };
    });
    app.post<{ Params: { name: string }; Body: { id?: string; inputs: { name: string; shape: number[]; datatype: string; data: unknown[] }[] } }>(
      '/v2/models/:name/infer',
      {
        schema: {
          summary: 'KServe v2 inference: one FP32 or UINT8 tensor of pixel values 0-255 shaped [n, 28, 28, 1], [n, 28, 28] or [n, 784]; answers FP32 probabilities [n, classes]',
          tags: ['kserve-v2'],
          params: nameParams,
          body: {
            type: 'object',
            required: ['inputs'],
            properties: {
              id: { type: 'string' },
              inputs: {
                type: 'array',
                minItems: 1,
                maxItems: 1,
                items: {
                  type: 'object',
                  required: ['name', 'shape', 'datatype', 'data'],
                  properties: {
                    name: { type: 'string' },
                    shape: { type: 'array', minItems: 1, items: { type: 'integer', minimum: 0 } },
                    datatype: { type: 'string' },
                    data: { type: 'array' },
                  },
                },
              },
              outputs: { type: 'array' },
              parameters: { type: 'object' },
            },
          },
        },
      },
      async (request) => {
        modelNamed(request.params.name);
        const served = requireModelFor(request);
        const tensor = request.body.inputs[0]!;
        if (tensor.datatype !== 'FP32' && tensor.datatype !== 'UINT8') throw badRequest('UNSUPPORTED_DATATYPE', `datatype ${tensor.datatype} is not supported: send FP32 or UINT8 pixel values 0-255`);
        const size = served.predictor.inputSize;
        const [n = 0, ...rest] = tensor.shape;
        const perItem = rest.reduce((a, b) => a * b, 1);
        if (n < 1 || perItem !== size) throw badRequest('WRONG_SHAPE', `shape ${JSON.stringify(tensor.shape)}: expected [n, ${served.metadata.inputShape.join(', ')}] or [n, ${size}]`);
        if (n > maxBatchItems) throw new ServeError(413, 'TOO_MANY_ITEMS', `at most ${maxBatchItems} items per request, got ${n}`);
        const flat = tensor.data.flat(4);
        if (flat.length !== n * size) throw badRequest('WRONG_SIZE', `shape ${JSON.stringify(tensor.shape)} needs ${n * size} values, got ${flat.length}`);
        if (tensor.datatype === 'UINT8' && !flat.every((v) => Number.isInteger(v))) throw badRequest('INVALID_PIXEL', 'UINT8 values must be integers in [0, 255]');
        const input = new Float32Array(n * size);
        for (let i = 0; i < n; i++) normalizePixels(flattenPixels(flat.slice(i * size, (i + 1) * size), size, i), served.metadata.preprocessing, input, i * size);
        const result = await served.batcher.submit(input, n);
        const classes = served.predictor.classes;
        for (let i = 0; i < n; i++) metrics.confidence.observe(describe(served, result.probabilities.subarray(i * classes, (i + 1) * classes), 1).confidence);
        return {
          model_name: served.name,
          model_version: served.version,
          ...(request.body.id !== undefined ? { id: request.body.id } : {}),
          outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [n, classes], data: Array.from(result.probabilities.subarray(0, n * classes)) }],
        };
      },
    );
  });

  return {
    app,
    metrics,
    current: () => model,
    setNotReadyReason(reason: string | null): void {
      notReadyReason = reason;
    },
    async setModel(next: ServedModel): Promise<void> {
      const previous = model;
      next.batcher.onBatch = onBatch(next.predictor.engine);
      model = next;
      metrics.modelInfo.reset();
      metrics.modelInfo.set({ name: next.name, version: next.version, engine: next.predictor.engine, source: next.source }, 1);
      metrics.modelLoadedAt.set(next.loadedAt.getTime() / 1000);
      if (previous && previous !== next) await retireWhenFree(previous);
    },
    async close({ drainMs = 10_000, quietMs = 100 } = {}): Promise<void> {
      draining = true;
      const deadline = performance.now() + drainMs;
      while (performance.now() < deadline && (active > 0 || performance.now() - lastActivity < quietMs)) await new Promise((resolve) => setTimeout(resolve, 10));
      await app.close();
      if (model) await retireModel(model);
      model = null;
    },
  };
}
