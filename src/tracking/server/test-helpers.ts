/**
 * tracking/server/test-helpers — a real server on 127.0.0.1:0 over an in-memory SQLite store,
 * and small HTTP helpers (fetch for ordinary calls, node:http for raw request lines that fetch
 * would normalise).
 */
import { request as httpRequest } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { openStore } from '../store/index.js';
import type { TrackingStore } from '../store/types.js';
import { createTrackingServer, type TrackingServerOptions } from './app.js';

export interface TestServer {
  url: string;
  app: FastifyInstance;
  store: TrackingStore;
  /** Temp folder holding the artifact destination (`dir/artifacts`) and anything else a test needs. */
  dir: string;
  dest: string;
  close(): Promise<void>;
}

export async function startTestServer(options: Partial<TrackingServerOptions> = {}): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-server-test-'));
  const store = options.store ?? (await openStore('sqlite::memory:', { artifactRoot: 'mlflow-artifacts:' }));
  const dest = join(dir, 'artifacts');
  const app = await createTrackingServer({ artifactsDestination: dest, defaultMetrics: false, ...options, store });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    app,
    store,
    dir,
    dest,
    async close() {
      await app.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test assertions walk arbitrary JSON
  json: any;
}

/** One JSON call; `body` objects are sent as JSON, strings verbatim. */
export async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** Sends a request line exactly as given (no URL normalisation; headers such as Host as given). */
export function rawRequest(
  base: string,
  method: string,
  rawPath: string,
  body?: Buffer | string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; headers: Record<string, string | string[] | undefined> }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, method, path: rawPath, headers: { ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export const API = '/api/2.0/mlflow';
export const AJAX = '/ajax-api/2.0/mlflow';
export const ARTIFACTS = '/api/2.0/mlflow-artifacts/artifacts';
