/**
 * The store contract suite, run through HTTP: a RestStore talking to a real Kiln server over a
 * SQLite file must behave exactly like the store itself.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createTrackingServer } from '../server/index.js';
import { defineContractTests } from '../store/contract.js';
import { openStore } from '../store/index.js';
import { RestStore } from './rest-store.js';

let server: { app: FastifyInstance; url: string; dir: string } | null = null;

async function serve(): Promise<{ app: FastifyInstance; url: string; dir: string }> {
  if (server) return server;
  const dir = await mkdtemp(join(tmpdir(), 'kiln-rest-contract-'));
  const store = await openStore(`sqlite:///${join(dir, 'tracking.db')}`, { artifactRoot: 'mlflow-artifacts:' });
  const app = await createTrackingServer({ store, artifactsDestination: join(dir, 'artifacts') });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  server = { app, url: `http://127.0.0.1:${port}`, dir };
  return server;
}

defineContractTests(
  'rest (RestStore → kiln server → SQLite)',
  async () => new RestStore({ url: (await serve()).url, attempts: 1 }),
  async () => {
    if (!server) return;
    await server.app.close();
    await rm(server.dir, { recursive: true, force: true });
  },
  { overHttp: true },
);
