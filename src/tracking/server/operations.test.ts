import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TrackingStore } from '../store/types.js';
import { API, ARTIFACTS, call, startTestServer } from './test-helpers.js';
import { createServerMetrics, installAliasGauge } from './observability.js';

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('tracking server: health, version, metrics, auth, internal errors', () => {
  test('/health is OK text, /version the Kiln version', async () => {
    const server = await startTestServer();
    try {
      const health = await fetch(`${server.url}/health`);
      assert.equal(health.status, 200);
      assert.match(health.headers.get('content-type') ?? '', /^text\/plain/);
      assert.equal(await health.text(), 'OK');
      const version = await fetch(`${server.url}/version`);
      assert.equal(version.status, 200);
      assert.match(await version.text(), /^\d+\.\d+\.\d+/);
    } finally {
      await server.close();
    }
  });

  test('/metrics has route-template labels, not raw URLs', async () => {
    const server = await startTestServer({ defaultMetrics: true });
    try {
      const { json } = await call(server.url, 'POST', `${API}/experiments/create`, { name: 'metrics-exp' });
      await call(server.url, 'GET', `${API}/experiments/get?experiment_id=${json.experiment_id}`);
      await call(server.url, 'GET', `/random/${Math.random()}`);
      await fetch(`${server.url}${ARTIFACTS}/x/y.txt`, { method: 'PUT', body: 'abc' });
      const metrics = await fetch(`${server.url}/metrics`);
      assert.equal(metrics.status, 200);
      const text = await metrics.text();
      assert.match(text, /http_requests_total\{method="POST",route="\/api\/2\.0\/mlflow\/experiments\/create",status="200"\} 1/);
      assert.match(text, /http_requests_total\{method="GET",route="\/api\/2\.0\/mlflow\/experiments\/get",status="200"\} 1/);
      assert.match(text, /route="\/api\/2\.0\/mlflow-artifacts\/artifacts\/\*"/);
      assert.match(text, /route="unmatched",status="404"/);
      assert.ok(!text.includes('experiment_id='), 'no query strings in labels');
      assert.ok(!text.includes('/random/'), 'no raw URLs in labels');
      assert.match(text, /http_request_duration_seconds_bucket\{/);
      assert.match(text, /kiln_tracking_process_cpu_user_seconds_total/);
      assert.match(text, /kiln_tracking_artifact_bytes_uploaded_total 3/);
    } finally {
      await server.close();
    }
  });

  test('/metrics times every store call by operation and outcome, and counts runs and metric points written', async () => {
    const server = await startTestServer();
    try {
      const { json } = await call(server.url, 'POST', `${API}/experiments/create`, { name: 'store-timing' });
      const run = (await call(server.url, 'POST', `${API}/runs/create`, { experiment_id: json.experiment_id })).json as { run: { info: { run_id: string } } };
      const metric = (step: number): Record<string, unknown> => ({ key: 'loss', value: 1 / (step + 1), timestamp: 1_700_000_000_000 + step, step });
      await call(server.url, 'POST', `${API}/runs/log-batch`, { run_id: run.run.info.run_id, metrics: [metric(0), metric(1), metric(2)] });
      assert.equal((await call(server.url, 'GET', `${API}/runs/get?run_id=nope`)).status, 404);
      const text = await (await fetch(`${server.url}/metrics`)).text();
      assert.match(text, /kiln_tracking_store_operation_duration_seconds_count\{operation="createExperiment",outcome="ok"\} 1/);
      assert.match(text, /kiln_tracking_store_operation_duration_seconds_count\{operation="createRun",outcome="ok"\} 1/);
      assert.match(text, /kiln_tracking_store_operation_duration_seconds_count\{operation="logBatch",outcome="ok"\} 1/);
      assert.match(text, /kiln_tracking_store_operation_duration_seconds_count\{operation="getRun",outcome="error"\} 1/);
      assert.match(text, /kiln_tracking_store_operation_duration_seconds_bucket\{le="0\.0005",operation="createRun",outcome="ok"\}/);
      assert.match(text, /kiln_tracking_runs_created_total 1/);
      assert.match(text, /kiln_tracking_metrics_logged_total 3/);
    } finally {
      await server.close();
    }
  });

  test('/metrics exports every registry alias with its version, so a moved alias is a new series', async () => {
    const server = await startTestServer();
    try {
      await call(server.url, 'POST', `${API}/registered-models/create`, { name: 'fashion-mnist' });
      for (const source of ['file:///m/1', 'file:///m/2']) await call(server.url, 'POST', `${API}/model-versions/create`, { name: 'fashion-mnist', source });
      assert.equal((await call(server.url, 'POST', `${API}/registered-models/alias`, { name: 'fashion-mnist', alias: 'champion', version: '1' })).status, 200);
      const before = await (await fetch(`${server.url}/metrics`)).text();
      assert.match(before, /kiln_tracking_model_alias\{name="fashion-mnist",alias="champion",version="1"\} 1/);
      // The server's gauge reads the store at most every 10 s; one without a cache sees the move at once.
      const metrics = createServerMetrics({ defaultMetrics: false });
      installAliasGauge(metrics, server.store, 0);
      await call(server.url, 'POST', `${API}/registered-models/alias`, { name: 'fashion-mnist', alias: 'champion', version: '2' });
      await call(server.url, 'POST', `${API}/registered-models/alias`, { name: 'fashion-mnist', alias: 'challenger', version: '1' });
      const after = await metrics.registry.metrics();
      assert.match(after, /kiln_tracking_model_alias\{name="fashion-mnist",alias="champion",version="2"\} 1/);
      assert.match(after, /kiln_tracking_model_alias\{name="fashion-mnist",alias="challenger",version="1"\} 1/);
      assert.doesNotMatch(after, /alias="champion",version="1"/);
      await call(server.url, 'DELETE', `${API}/registered-models/alias`, { name: 'fashion-mnist', alias: 'challenger' });
      assert.doesNotMatch(await metrics.registry.metrics(), /challenger/);
    } finally {
      await server.close();
    }
  });

  test('auth is off by default', async () => {
    const server = await startTestServer();
    try {
      assert.equal((await call(server.url, 'POST', `${API}/experiments/search`, {})).status, 200);
    } finally {
      await server.close();
    }
  });

  test('bearer token: required everywhere but /health; 401 UNAUTHENTICATED with a challenge', async () => {
    const server = await startTestServer({ auth: { token: 's3cret-token' } });
    try {
      assert.equal((await fetch(`${server.url}/health`)).status, 200);
      for (const [path, headers] of [
        [`${API}/experiments/search`, {}],
        [`${API}/experiments/search`, { authorization: 'Bearer wrong' }],
        [`${API}/experiments/search`, { authorization: basic('a', 's3cret-token') }],
        ['/metrics', {}],
        ['/version', {}],
        [`${ARTIFACTS}?path=`, {}],
        ['/no/such/route', {}],
      ] as const) {
        const reply = await call(server.url, 'GET', path, undefined, headers);
        assert.equal(reply.status, 401, path);
        assert.deepEqual(reply.json, { error_code: 'UNAUTHENTICATED', message: reply.json.message });
        assert.match(reply.headers.get('www-authenticate') ?? '', /^Bearer realm="kiln"/);
      }
      const ok = await call(server.url, 'GET', `${API}/experiments/search`, undefined, { authorization: 'Bearer s3cret-token' });
      assert.equal(ok.status, 200, ok.text);
      assert.equal((await call(server.url, 'GET', '/metrics', undefined, { authorization: 'bearer s3cret-token' })).status, 200);
    } finally {
      await server.close();
    }
  });

  test('basic auth: the user becomes the actor of registry writes', async () => {
    const server = await startTestServer({ auth: { basic: { username: 'ada', password: 'pa:ss' } } });
    try {
      const denied = await call(server.url, 'POST', `${API}/registered-models/create`, { name: 'm' }, { authorization: basic('ada', 'wrong') });
      assert.equal(denied.status, 401);
      assert.equal(denied.json.error_code, 'UNAUTHENTICATED');
      assert.match(denied.headers.get('www-authenticate') ?? '', /^Basic realm="kiln"/);
      const auth = { authorization: basic('ada', 'pa:ss') };
      assert.equal((await call(server.url, 'POST', `${API}/registered-models/create`, { name: 'm' }, auth)).status, 200);
      await call(server.url, 'POST', `${API}/model-versions/create`, { name: 'm', source: 's' }, auth);
      await call(server.url, 'POST', `${API}/registered-models/alias`, { name: 'm', alias: 'prod', version: '1', user_id: 'mallory' }, auth);
      const history = await call(server.url, 'GET', `${API}/registered-models/alias-history?name=m`, undefined, auth);
      assert.equal(history.json.events[0].user_id, 'ada');
    } finally {
      await server.close();
    }
  });

  test('store failures are 500 INTERNAL_ERROR without internals', async () => {
    const failing = new Proxy({} as TrackingStore, {
      get: (_target, property) =>
        property === 'close'
          ? async () => undefined
          : async () => {
              throw new Error('SQLITE_CORRUPT at /var/secret/tracking.db');
            },
    });
    const server = await startTestServer({ store: failing });
    try {
      const reply = await call(server.url, 'GET', `${API}/experiments/get?experiment_id=1`);
      assert.equal(reply.status, 500);
      assert.deepEqual(reply.json, { error_code: 'INTERNAL_ERROR', message: 'Internal server error' });
      assert.ok(!reply.text.includes('secret') && !reply.text.includes('at '));
    } finally {
      await server.close();
    }
  });
});

describe('startTrackingServer', () => {
  test('opens the store from a URI with mlflow-artifacts: locations, listens, and closes the store on close', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { startTrackingServer } = await import('./index.js');
    const { openStore } = await import('../store/index.js');
    const dir = await mkdtemp(join(tmpdir(), 'kiln-start-'));
    const lines: string[] = [];
    try {
      const db = join(dir, 'tracking.db');
      const app = await startTrackingServer({
        port: 0,
        backendStoreUri: `sqlite:///${db}`,
        artifactsDestination: join(dir, 'artifacts'),
        auth: { token: 'tok-9f8e7d' },
        logger: { level: 'info', stream: { write: (line: string) => lines.push(line) } },
        defaultMetrics: false,
      });
      const address = app.server.address();
      assert.ok(typeof address === 'object' && address !== null);
      assert.equal(address.address, '127.0.0.1');
      const url = `http://127.0.0.1:${address.port}`;
      const auth = { authorization: 'Bearer tok-9f8e7d' };
      const created = await call(url, 'POST', `${API}/experiments/create`, { name: 'started' }, auth);
      assert.equal(created.status, 200, created.text);
      const got = await call(url, 'GET', `${API}/experiments/get?experiment_id=${created.json.experiment_id}`, undefined, auth);
      assert.equal(got.json.experiment.artifact_location, `mlflow-artifacts:/${created.json.experiment_id}`);
      const numeric = await call(url, 'GET', `${API}/experiments/search?view_type=1`, undefined, auth);
      assert.equal(numeric.status, 200, numeric.text);
      assert.equal((await call(url, 'GET', '/version', undefined, { authorization: 'Bearer wrong-tok-9f8e7d' })).status, 401);
      await app.close();
      assert.ok(lines.length > 0, 'requests were logged');
      assert.ok(!lines.join('\n').includes('tok-9f8e7d'), 'credentials are never logged');
      // The file was released and holds what the server wrote.
      const store = await openStore(`sqlite:///${db}`);
      assert.equal((await store.getExperimentByName('started')).experiment_id, created.json.experiment_id);
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
