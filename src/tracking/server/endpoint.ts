/**
 * tracking/server/endpoint — what every route plugin shares: the context handed to it and the
 * helper that declares one MLflow endpoint (GET reads the query string, others the JSON body;
 * the same schema validates either).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TrackingStore } from '../store/types.js';
import type { ArtifactStorage } from './artifact-storage.js';
import type { ServerMetrics } from './observability.js';
import type { JsonSchema } from './schemas.js';

export interface ApiContext {
  store: TrackingStore;
  storage: ArtifactStorage;
  metrics: ServerMetrics;
  /** Largest accepted artifact upload, in bytes. */
  maxArtifactBytes: number;
}

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** Declares `url` for each method; the handler gets the validated message (typed by the caller). */
export function endpoint<T>(
  app: FastifyInstance,
  methods: Method | Method[],
  url: string,
  schema: JsonSchema,
  handler: (input: T, request: FastifyRequest) => Promise<object>,
): void {
  for (const method of Array.isArray(methods) ? methods : [methods]) {
    app.route({
      method,
      url,
      schema: method === 'GET' ? { querystring: schema } : { body: schema },
      handler: async (request) => handler((method === 'GET' ? request.query : request.body) as T, request),
    });
  }
}

/** Protobuf's default for an absent string: '' means unset. */
export function optional(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
