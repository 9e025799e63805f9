/**
 * cli/serve-command — `kiln serve`: the inference API for a model folder or a registry model
 * (`models:/fashion-mnist@champion`, resolved through the tracking URI).
 */
import { setFlagsFromString } from 'node:v8';
import type { Command } from 'commander';
import { PREPROCESS_MODES } from '../models/metadata.js';
import { resolveHome } from '../common/home.js';
import { checkTrackingUriSources, optionInteger, parseChoice, parsePort, parseRateLimit } from './parse.js';
import { checkModelUri } from '../serve/model-source.js';
import { SERVE_ENGINES } from '../serve/model.js';
import { GpuUnavailableError, servingAdapter } from '../serve/gpu-engine.js';
import { startServe, type StartServeOptions } from '../serve/index.js';
import { CliError, listeningOn } from './errors.js';
import { logFunction } from '../observability/logging.js';
import { addLogDirOption, openCliLogs } from './logs.js';

interface ServeFlags {
  modelUri: string;
  host: string;
  port: string;
  trackingUri?: string;
  home?: string;
  engine: string;
  preprocess?: string;
  threads: string;
  maxBatch: string;
  maxWaitMs: string;
  maxUploadBytes: string;
  pollInterval: string;
  retryMax: string;
  heap: string;
  apiKey?: string[];
  rateLimit?: string;
  corsOrigin: string;
  json?: boolean;
  logDir?: string;
}

/** The flags' values, checked: a usage error names the first flag that is wrong. */
function serveSettings(flags: ServeFlags): Omit<StartServeOptions, 'modelUri' | 'home' | 'host' | 'trackingUri' | 'log' | 'logger'> {
  const env = process.env;
  parseChoice('--heap', flags.heap, ['small', 'default'] as const);
  const apiKeys = [...(flags.apiKey ?? []), ...(env.KILN_API_KEYS ?? '').split(',').map((key) => key.trim())].filter((key) => key !== '');
  return {
    access: {
      apiKeys,
      rateLimit: flags.rateLimit !== undefined ? parseRateLimit(flags.rateLimit) : parseRateLimit(env.KILN_RATE_LIMIT, '$KILN_RATE_LIMIT'),
      corsOrigins: flags.corsOrigin === 'none' ? [] : flags.corsOrigin.split(',').map((origin) => origin.trim()).filter((origin) => origin !== ''),
    },
    port: parsePort('--port', flags.port),
    engine: parseChoice('--engine', flags.engine, SERVE_ENGINES),
    ...(flags.preprocess !== undefined ? { preprocess: parseChoice('--preprocess', flags.preprocess, PREPROCESS_MODES) } : {}),
    threads: optionInteger('--threads', flags.threads, { min: 0 }),
    maxBatch: optionInteger('--max-batch', flags.maxBatch, { min: 1 }),
    maxWaitMs: optionInteger('--max-wait-ms', flags.maxWaitMs, { min: 0 }),
    maxUploadBytes: optionInteger('--max-upload-bytes', flags.maxUploadBytes, { min: 1 }),
    pollIntervalMs: optionInteger('--poll-interval', flags.pollInterval, { min: 0 }) * 1000,
    retryMaxMs: Math.max(1, optionInteger('--retry-max', flags.retryMax, { min: 0 })) * 1000,
  };
}

/** `--engine gpu` without a WebGPU adapter fails here, before anything listens, with the way out. */
async function checkGpu(): Promise<void> {
  try {
    await servingAdapter();
  } catch (error) {
    if (error instanceof GpuUnavailableError) throw new CliError(error.code, error.message, { hint: error.hint });
    throw error;
  }
}

export function registerServeCommand(program: Command): void {
  addLogDirOption(program.command('serve'))
    .description('serve a model over HTTP: POST /predict (image), /predict/batch, /invocations (MLflow), /v2/models/{name}/infer (KServe v2); /health, /ready, /metrics, /docs')
    .requiredOption('--model-uri <uri>', 'a model folder, or models:/<name>@<alias> / models:/<name>/<version> from the registry')
    .option('--host <host>', 'interface to bind (0.0.0.0 exposes it to the network)', '127.0.0.1')
    .option('--port <port>', 'port (0 picks a free one)', '8000')
    .option('--tracking-uri <uri>', 'tracking server or store for models:/ URIs (default $KILN_TRACKING_URI, then the embedded store)')
    .option('--home <dir>', 'Kiln data directory (default $KILN_HOME or ./kiln-data)')
    .option('--engine <engine>', 'auto (ONNX Runtime on the CPU, tfjs if the export fails), onnx, gpu (ONNX Runtime on a WebGPU adapter: needs the GPU\'s Vulkan driver) or tfjs', 'auto')
    .option('--preprocess <mode>', "how uploads become model input, replacing the model's preprocessing.mode: auto (photos by Fashion-MNIST's own conversion), dataset or photo")
    .option('--threads <n>', 'ONNX Runtime intra-op threads', '1')
    .option('--max-batch <n>', 'most examples coalesced into one inference call', '64')
    .option('--max-wait-ms <ms>', 'how long an idle engine waits for more requests to batch', '0')
    .option('--max-upload-bytes <n>', 'largest uploaded image', String(10 * 1024 * 1024))
    .option('--poll-interval <seconds>', 'how often a models:/<name>@<alias> URI is checked for a moved alias (0: never)', '10')
    .option('--retry-max <seconds>', 'longest wait between tries while the alias is not set yet or the tracking server does not answer (a pinned version that does not exist fails at once)', '30')
    .option('--api-key <key>', 'require this key (Authorization: Bearer <key> or X-API-Key) on every model route; repeat for several; also $KILN_API_KEYS (comma-separated)', (value: string, previous: string[] = []) => [...previous, value])
    .option('--rate-limit <max/seconds>', 'at most <max> model requests per client per window, e.g. 600/60 (client: API key, else IP); also $KILN_RATE_LIMIT')
    .option('--cors-origin <origins>', 'origins allowed by CORS: * (any), a comma-separated list, or none', process.env.KILN_CORS_ORIGINS ?? '*')
    .option('--heap <mode>', 'small: V8 collects garbage eagerly (about 30 % less peak memory); default: V8\'s own sizing', 'small')
    .option('--json', 'print {"url", ...} as one JSON line once ready')
    .action(async (flags: ServeFlags) => {
      // Every flag is checked, and the model looked up, before anything listens or logs.
      const settings = serveSettings(flags);
      checkTrackingUriSources(flags.trackingUri);
      // A request's garbage is short-lived; left to its defaults V8 lets the heap grow to about
      // 200 MB under load before collecting. Set before the app allocates anything. A 2 MB young
      // generation (default 16) kept bench:serve's peak at 144-146 MB in three runs, against
      // 144-152 MB with 4 MB, at the same throughput within the runs' noise.
      if (flags.heap === 'small') {
        setFlagsFromString('--optimize-for-size');
        setFlagsFromString('--max-semi-space-size=2');
      }
      const home = resolveHome(flags.home);
      await checkModelUri(flags.modelUri, { home, trackingUri: flags.trackingUri });
      if (settings.engine === 'gpu') await checkGpu();
      const logs = openCliLogs(flags);
      const logger = logs.logger('api');
      // Listened for before the server starts: it logs (e.g. "waiting for …") while it starts.
      const stopSignal = new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      const server = await listeningOn('--port', () =>
        startServe({ ...settings, modelUri: flags.modelUri, host: flags.host, home, trackingUri: flags.trackingUri, log: logFunction(logger), logger }),
      ).catch((error: unknown) => {
        logs.close();
        throw error;
      });
      logger.info(`kiln serve listening on ${server.url}`);
      const stopped = stopSignal.then(() => server.close());
      if (flags.json) {
        void server.ready.then((model) => {
          if (!model) return;
          const gpu = model.predictor.adapter ? { device: 'gpu', adapter: model.predictor.adapter } : {};
          console.log(JSON.stringify({ url: server.url, model: { name: model.name, version: model.version, engine: model.predictor.engine, ...gpu } }));
        });
      }
      await stopped;
      logs.close();
    });
}
