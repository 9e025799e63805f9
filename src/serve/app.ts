/**
 * serve/app — the inference API (Fastify), put together from one plugin per concern:
 *
 *   errors          every error as {"error": {"code", "message"}} with its status (serve/errors)
 *   lifecycle       in-flight counting, model leases, hot swap, graceful stop (serve/lifecycle)
 *   access          API keys, rate limit, CORS (serve/access)
 *   intake          body parsers and their limits, uploads and batches → model input (serve/intake)
 *   docs and pages  OpenAPI document, Swagger UI at /docs (serve/docs), home page at / (serve/page)
 *   routes          /health /ready /metrics (serve/health), /predict and /predict/batch
 *                   (serve/predict-routes), /invocations (serve/invocations), KServe v2 (serve/kserve)
 *
 * The route schemas are the single source of both request validation and the OpenAPI document.
 * Client errors are 4xx with a stable code; nothing a client sends makes a 5xx or stops the server.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { accessLog, fastifyLogging, isLogger, type Logger } from '../observability/logging.js';
import { type AccessOptions, accessPlugin } from './access.js';
import { docsPlugin, type ModelDescription } from './docs.js';
import { clientErrorHandler, errorHandling } from './errors.js';
import { healthRoutes } from './health.js';
import { intake, type IntakeLimits } from './intake.js';
import { invocationsRoutes } from './invocations.js';
import { kserveRoutes } from './kserve.js';
import { type CloseOptions, lifecyclePlugin, ServeLifecycle } from './lifecycle.js';
import { describeInput, expectedPixels } from './input-shape.js';
import { createServeMetrics, type ServeMetrics } from './metrics.js';
import type { ServedModel } from './model.js';
import { homePage } from './page.js';
import { predictRoutes, type RouteContext } from './predict-routes.js';
import { DEFAULT_PIXEL_LIMIT } from './preprocess.js';

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
  /** How long a swapped-out model waits for requests still using it before it is freed anyway, ms (default 30000). */
  swapTimeoutMs?: number;
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
  close(options?: CloseOptions): Promise<void>;
}

function describeForDocs(served: ServedModel | null): ModelDescription | null {
  if (!served) return null;
  const { input } = served;
  return {
    name: served.name,
    version: served.version,
    input: describeInput(input),
    shape: [input.height, input.width, input.channels],
    pixels: expectedPixels(input),
    classes: served.metadata.classNames,
  };
}

export function buildServeApp(options: ServeAppOptions = {}): ServeApp {
  const limits: IntakeLimits = {
    maxUploadBytes: options.maxUploadBytes ?? 10 * 1024 * 1024,
    maxJsonBytes: options.maxJsonBytes ?? 32 * 1024 * 1024,
    maxBatchItems: options.maxBatchItems ?? 256,
    pixelLimit: options.pixelLimit ?? DEFAULT_PIXEL_LIMIT,
  };
  const metrics = createServeMetrics({ defaultMetrics: options.defaultMetrics });
  const lifecycle = new ServeLifecycle(metrics, { swapTimeoutMs: options.swapTimeoutMs });
  const context: RouteContext = { lifecycle, metrics, limits, defaultTopK: options.topK ?? 3 };
  const app = Fastify({ ...fastifyLogging(options.logger), bodyLimit: limits.maxJsonBytes, return503OnClosing: true, clientErrorHandler }) as unknown as FastifyInstance;
  if (isLogger(options.logger)) app.addHook('onResponse', accessLog);

  // Order matters: the lifecycle's onRequest hook counts every request, refused ones included.
  void app.register(errorHandling, limits);
  void app.register(lifecyclePlugin, { lifecycle, metrics });
  void app.register(accessPlugin, options.access ?? {});
  void app.register(intake, limits);
  if (options.docs !== false) void app.register(docsPlugin, { describeModel: () => describeForDocs(lifecycle.current()) });
  void app.register(homePage);
  void app.register(healthRoutes, context);
  void app.register(predictRoutes, context);
  void app.register(invocationsRoutes, context);
  void app.register(kserveRoutes, context);

  return {
    app,
    metrics,
    current: () => lifecycle.current(),
    setNotReadyReason: (reason) => lifecycle.setNotReadyReason(reason),
    setModel: (model) => lifecycle.setModel(model),
    close: (closeOptions) => lifecycle.close(() => app.close(), closeOptions),
  };
}
