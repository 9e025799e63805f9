/**
 * serve — Kiln's inference API: ONNX Runtime (tfjs fallback) behind Fastify, with micro-batching,
 * Prometheus metrics and models from a folder or the registry (`models:/<name>@<alias>`).
 *
 * @example
 * const server = await startServe({ modelUri: './kiln-data/models/latest', port: 8000, home });
 * // POST http://127.0.0.1:8000/predict (multipart image) → {prediction, confidence, top_k, ...}
 */
import { buildServeApp, type ServeApp, type ServeAppOptions } from './app.js';
import { KilnError } from '../common/errors.js';
import { TrackingError } from '../tracking/store/errors.js';
import { type LoadOptions, loadServedModel, retireModel, type ServedModel } from './model.js';
import { parseRegistryUri, type ResolvedModel, resolveModelUri } from './model-source.js';

export * from './app.js';
export * from './batcher.js';
export * from './errors.js';
export * from './input-shape.js';
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
  /** Environment for tracking credentials and $KILN_TRACKING_URI (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  log?: (message: string) => void;
  /**
   * While a registry model does not resolve yet (no such model or alias, tracking server
   * unreachable): the first retry delay, ms (default 1000), doubled after each try up to
   * `retryMaxMs` (default 30000).
   */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** How often a `models:/<name>@<alias>` URI is resolved again to follow the alias, ms (default 10000; 0: never). */
  pollIntervalMs?: number;
}

export interface RunningServe extends ServeApp {
  url: string;
  /** Settles with the first model once it is in (at once when it resolved at start); null if closed before. */
  ready: Promise<ServedModel | null>;
}

/** Why a registry model cannot be loaded *yet* (worth waiting for), or null for a real failure. */
export function waitReason(error: unknown): string | null {
  if (error instanceof TrackingError) {
    if (error.errorCode === 'RESOURCE_DOES_NOT_EXIST') return /alias/i.test(error.message) ? 'no such alias yet' : `not registered yet (${error.message})`;
    if (error.errorCode === 'TEMPORARILY_UNAVAILABLE') return `tracking server unreachable (${error.message})`;
    return null;
  }
  if (error instanceof KilnError && error.code === 'KILN_ERR_MODEL_DOWNLOAD') return `model download failed (${error.message})`;
  return null;
}

const seconds = (ms: number): string => (ms < 1000 ? `${ms} ms` : ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`);

/**
 * Listens first (so /health answers at once), then loads the model; /ready turns 200 when it is in.
 * A registry model that does not exist yet is waited for with capped exponential backoff (the
 * server keeps answering /health, and /ready says why it is not ready); an alias is then
 * followed: when it moves, the new version is loaded beside the old and swapped in.
 */
export async function startServe(options: StartServeOptions): Promise<RunningServe> {
  const log = options.log ?? ((message: string) => console.error(`kiln serve: ${message}`));
  const serve = buildServeApp(options);
  const host = options.host ?? '127.0.0.1';
  await serve.app.listen({ host, port: options.port ?? 8000 });
  const address = serve.app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 8000);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const registry = parseRegistryUri(options.modelUri);
  const retryInitialMs = Math.max(1, options.retryInitialMs ?? 1000);
  const retryMaxMs = Math.max(retryInitialMs, options.retryMaxMs ?? 30_000);
  const pollIntervalMs = options.pollIntervalMs ?? 10_000;

  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let wake: (() => void) | null = null;
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, ms);
    });

  const load = async (resolved: ResolvedModel): Promise<ServedModel> =>
    loadServedModel(resolved.folder, {
      engine: options.engine,
      threads: options.threads,
      preprocess: options.preprocess,
      maxBatch: options.maxBatch,
      maxWaitMs: options.maxWaitMs,
      version: resolved.version,
      source: resolved.source,
      log,
    });

  /** Loads `resolved` and swaps it in, unless the server closed meanwhile. */
  const install = async (resolved: ResolvedModel, verb: string): Promise<ServedModel | null> => {
    const model = await load(resolved);
    if (stopped) {
      await retireModel(model);
      return null;
    }
    const previous = serve.current();
    const swapped = serve.setModel(model);
    serve.setNotReadyReason(null);
    log(`${verb} ${model.name} version ${model.version}${previous ? ` (was version ${previous.version})` : ''} from ${resolved.source} with ${model.predictor.engine} on ${url}`);
    await swapped;
    return model;
  };

  /** Follows the alias: resolves it every pollIntervalMs and swaps in the version it names. */
  const follow = async (): Promise<void> => {
    if (!registry?.alias || pollIntervalMs <= 0) return;
    while (!stopped) {
      await sleep(pollIntervalMs);
      if (stopped) return;
      try {
        const resolved = await resolveModelUri(options.modelUri, options);
        if (stopped) return;
        if (resolved.version !== serve.current()?.version) await install(resolved, 'alias moved: serving');
      } catch (error) {
        if (stopped) return;
        const message = waitReason(error) ?? (error instanceof Error ? error.message : String(error));
        log(`checking ${options.modelUri} failed: ${message}; keeping version ${serve.current()?.version ?? '(none)'}, next check in ${seconds(pollIntervalMs)}`);
      }
    }
  };

  /** Waits, with capped exponential backoff, until the registry model resolves; then loads it. */
  const waitForModel = async (firstError: unknown): Promise<ServedModel | null> => {
    let error = firstError;
    let delay = retryInitialMs;
    while (!stopped) {
      const reason = waitReason(error) ?? (error instanceof Error ? error.message : String(error));
      const line = `waiting for ${options.modelUri}: ${reason}; retrying in ${seconds(delay)}`;
      serve.setNotReadyReason(line);
      log(line);
      await sleep(delay);
      if (stopped) return null;
      delay = Math.min(delay * 2, retryMaxMs);
      try {
        const resolved = await resolveModelUri(options.modelUri, options);
        if (stopped) return null;
        return await install(resolved, 'serving');
      } catch (next) {
        error = next;
      }
    }
    return null;
  };

  let ready: Promise<ServedModel | null>;
  try {
    const resolved = await resolveModelUri(options.modelUri, options);
    ready = Promise.resolve(await install(resolved, 'serving'));
  } catch (error) {
    if (!registry || waitReason(error) === null) {
      await serve.close();
      throw error;
    }
    ready = waitForModel(error);
  }
  const background = ready.then(
    (model) => (model ? follow() : undefined),
    (error: unknown) => log(`giving up on ${options.modelUri}: ${error instanceof Error ? error.message : String(error)}`),
  );

  return {
    ...serve,
    url,
    ready: ready.catch(() => null),
    async close(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      wake?.();
      await background.catch(() => {});
      await serve.close();
    },
  };
}
