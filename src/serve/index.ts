/**
 * serve — Kiln's inference API: ONNX Runtime (tfjs fallback) behind Fastify, with micro-batching,
 * Prometheus metrics and models from a folder or the registry (`models:/<name>@<alias>`).
 *
 * @example
 * const server = await startServe({ modelUri: './kiln-data/models/latest', port: 8000, home });
 * // POST http://127.0.0.1:8000/predict (multipart image) → {prediction, confidence, top_k, ...}
 */
import { buildServeApp, type ServeApp, type ServeAppOptions } from './app.js';
import { type LoadOptions, loadServedModel } from './model.js';
import { resolveModelUri } from './model-source.js';

export * from './app.js';
export * from './batcher.js';
export * from './errors.js';
export * from './model.js';
export * from './model-source.js';
export * from './predictor.js';
export * from './preprocess.js';

export interface StartServeOptions extends ServeAppOptions, Omit<LoadOptions, 'version' | 'source' | 'log'> {
  modelUri: string;
  host?: string;
  port?: number;
  home: string;
  trackingUri?: string;
  artifactsDestination?: string;
  log?: (message: string) => void;
}

export interface RunningServe extends ServeApp {
  url: string;
}

/** Listens first (so /health answers at once), then loads the model; /ready turns 200 when it is in. */
export async function startServe(options: StartServeOptions): Promise<RunningServe> {
  const log = options.log ?? ((message: string) => console.error(`kiln serve: ${message}`));
  const serve = buildServeApp(options);
  const host = options.host ?? '127.0.0.1';
  await serve.app.listen({ host, port: options.port ?? 8000 });
  const address = serve.app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 8000);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  try {
    const resolved = await resolveModelUri(options.modelUri, options);
    const model = await loadServedModel(resolved.folder, {
      engine: options.engine,
      threads: options.threads,
      maxBatch: options.maxBatch,
      maxWaitMs: options.maxWaitMs,
      version: resolved.version,
      source: resolved.source,
      log,
    });
    await serve.setModel(model);
    log(`serving ${model.name} version ${model.version} from ${resolved.source} with ${model.predictor.engine} on ${url}`);
  } catch (error) {
    await serve.close();
    throw error;
  }
  return { ...serve, url };
}
