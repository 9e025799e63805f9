/**
 * tracking/server/observability — /health, /version and Prometheus /metrics.
 *
 * The server keeps a prom-client Registry of its own (never the global one, so several servers
 * in one process do not collide): http_requests_total{method,route,status} and
 * http_request_duration_seconds{method,route} labelled with the route template (bounded
 * cardinality; unmatched URLs are "unmatched"), Node's default process metrics prefixed
 * kiln_tracking_, and cheap counters of what the server wrote. Every store call is timed
 * (kiln_tracking_store_operation_duration_seconds{operation,outcome}: the operation is the
 * TrackingStore method, a bounded set). Read from the store at scrape time (cached 10 s):
 * kiln_tracking_studies{status} counts the tuning studies' parent runs by status, so that a failed
 * study stays visible after the trainer that ran it has exited, and
 * kiln_tracking_model_alias{name,alias,version} is 1 for every registry alias, so that dashboards
 * can mark when an alias moved (a new label set appears).
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { KILN_VERSION } from '../../common/version.js';
import type { RunStatus, TrackingStore } from '../store/types.js';

export interface ServerMetrics {
  registry: Registry;
  runsCreated: Counter;
  metricsLogged: Counter;
  artifactBytesUploaded: Counter;
  storeDuration: Histogram<'operation' | 'outcome'>;
}

export function createServerMetrics(options: { defaultMetrics?: boolean } = {}): ServerMetrics & {
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'method' | 'route'>;
} {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'kiln_tracking_' });
  return {
    registry,
    requests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by method, route template and status code',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration in seconds, by method and route template',
      labelNames: ['method', 'route'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    runsCreated: new Counter({ name: 'kiln_tracking_runs_created_total', help: 'Runs created through this server', registers: [registry] }),
    metricsLogged: new Counter({ name: 'kiln_tracking_metrics_logged_total', help: 'Metric values logged through this server', registers: [registry] }),
    artifactBytesUploaded: new Counter({
      name: 'kiln_tracking_artifact_bytes_uploaded_total',
      help: 'Bytes of artifacts stored through the proxied artifact API',
      registers: [registry],
    }),
    storeDuration: new Histogram({
      name: 'kiln_tracking_store_operation_duration_seconds',
      help: 'Tracking store calls in seconds, by operation (store method) and outcome (ok or error)',
      labelNames: ['operation', 'outcome'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
  };
}

/**
 * The store with every call timed into `duration`. A Proxy rather than a wrapper class, so that
 * a method added to TrackingStore is timed without touching this file.
 */
export function timedStore(store: TrackingStore, duration: ServerMetrics['storeDuration']): TrackingStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string' || property === 'close') return value;
      return async (...args: unknown[]): Promise<unknown> => {
        const stop = duration.startTimer({ operation: property });
        try {
          const result: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          stop({ outcome: 'ok' });
          return result;
        } catch (error) {
          stop({ outcome: 'error' });
          throw error;
        }
      };
    },
  });
}

/** `read()` at most once per `cacheMs`; the last good answer while a read fails. */
function cached<T>(read: () => Promise<T>, cacheMs: number): () => Promise<T | null> {
  let value: T | null = null;
  let readAt = 0;
  return async () => {
    if (value === null || Date.now() - readAt >= cacheMs) {
      value = await read().catch(() => value);
      readAt = Date.now();
    }
    return value;
  };
}

/** Counts every response on the root instance (so 404s and auth failures are counted too). */
export function installRequestMetrics(app: FastifyInstance, metrics: ReturnType<typeof createServerMetrics>): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched');
    metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
}

const STUDY_STATUSES: RunStatus[] = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'];

/** Counts study parent runs (tag kiln.run_type = study) by status; bounded label set. */
export function installStudyGauge(metrics: ServerMetrics, store: TrackingStore, cacheMs = 10_000): void {
  const read = async (): Promise<Record<string, number>> => {
    const out: Record<string, number> = Object.fromEntries(STUDY_STATUSES.map((status) => [status, 0]));
    const experiments = await store.searchExperiments({ max_results: 1000 });
    const ids = experiments.items.map((experiment) => experiment.experiment_id);
    let page_token: string | undefined;
    while (ids.length > 0) {
      const page = await store.searchRuns({ experiment_ids: ids, filter: "tags.`kiln.run_type` = 'study'", max_results: 1000, page_token });
      for (const run of page.items) out[run.info.status] = (out[run.info.status] ?? 0) + 1;
      page_token = page.next_page_token;
      if (!page_token) break;
    }
    return out;
  };
  const counts = cached(read, cacheMs);
  new Gauge({
    name: 'kiln_tracking_studies',
    help: 'Tuning studies (their parent runs) in the store, by run status',
    labelNames: ['status'] as const,
    registers: [metrics.registry],
    async collect() {
      for (const [status, value] of Object.entries((await counts()) ?? {})) this.set({ status }, value);
    },
  });
}

/** 1 per registry alias and the version it points to; a moved alias shows as a new series. */
export function installAliasGauge(metrics: ServerMetrics, store: TrackingStore, cacheMs = 10_000): void {
  const read = async (): Promise<{ name: string; alias: string; version: string }[]> => {
    const out: { name: string; alias: string; version: string }[] = [];
    let page_token: string | undefined;
    do {
      const page = await store.searchRegisteredModels({ max_results: 1000, page_token });
      for (const model of page.items) for (const { alias, version } of model.aliases) out.push({ name: model.name, alias, version });
      page_token = page.next_page_token;
    } while (page_token);
    return out;
  };
  const aliases = cached(read, cacheMs);
  new Gauge({
    name: 'kiln_tracking_model_alias',
    help: 'Registry aliases (value 1), by model name, alias and the version it points to',
    labelNames: ['name', 'alias', 'version'] as const,
    registers: [metrics.registry],
    async collect() {
      const current = await aliases();
      if (current === null) return; // never read: export nothing rather than "no aliases"
      this.reset(); // a moved or deleted alias's old version is no longer exported
      for (const labels of current) this.set(labels, 1);
    },
  });
}

export const observabilityRoutes: FastifyPluginAsync<{ metrics: ServerMetrics; store?: TrackingStore }> = async (app, { metrics, store }) => {
  if (store) {
    installStudyGauge(metrics, store);
    installAliasGauge(metrics, store);
  }
  app.get('/health', async (_request, reply) => reply.type('text/plain; charset=utf-8').send('OK'));
  app.get('/version', async (_request, reply) => reply.type('text/plain; charset=utf-8').send(KILN_VERSION));
  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
};
