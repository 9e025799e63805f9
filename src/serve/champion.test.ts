import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { initEngine } from '../engine/index.js';
import { TEST_CNN_BN, TEST_MLP, writeTestModelFolder } from '../models/onnx/test-helpers.js';
import { openTracking, registerModelVersion } from '../tracking/client/index.js';
import { TrackingError } from '../tracking/store/errors.js';
import { type RunningServe, startServe, waitReason } from './index.js';

const URI = 'models:/fashion-mnist@champion';

interface BatchAnswer {
  predictions: { class_id: number }[];
  model: { name: string; version: string };
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('serving the champion from the registry', () => {
  let home: string;
  let server: RunningServe | null = null;
  const lines: string[] = [];

  before(async () => {
    await initEngine({ quiet: true });
    home = await mkdtemp(join(tmpdir(), 'kiln-champion-'));
  });

  after(async () => {
    await server?.close();
    await rm(home, { recursive: true, force: true });
  });

  /** Logs `folder` as a run's `model` artifacts, registers it and (optionally) points @champion at it. */
  async function publish(folder: string, champion: boolean): Promise<string> {
    const tracking = await openTracking({ home, env: {} });
    try {
      const run = await tracking.store.createRun({ experiment_id: '0' });
      await tracking.artifacts.uploadDirectory(folder, run.info.artifact_uri, 'model');
      const version = await registerModelVersion(tracking.store, { runId: run.info.run_id });
      if (champion) await tracking.store.setRegisteredModelAlias('fashion-mnist', 'champion', version.version, { user_id: 'test', reason: 'test' });
      return version.version;
    } finally {
      await tracking.close();
    }
  }

  test('which errors are worth waiting for', () => {
    assert.equal(waitReason(new TrackingError('RESOURCE_DOES_NOT_EXIST', 'Registered model alias champion not found.')), 'no such alias yet');
    assert.match(waitReason(new TrackingError('RESOURCE_DOES_NOT_EXIST', 'Registered model fashion-mnist not found.')) ?? '', /not registered yet/);
    assert.match(waitReason(new TrackingError('TEMPORARILY_UNAVAILABLE', 'tracking server http://x unreachable')) ?? '', /unreachable/);
    assert.equal(waitReason(new TrackingError('INVALID_PARAMETER_VALUE', 'bad')), null);
    assert.equal(waitReason(new Error('corrupt model')), null);
  });

  test('waits for a champion with backoff, loads it when it appears, then follows the alias with no failed request', async () => {
    server = await startServe({
      modelUri: URI,
      home,
      env: {},
      port: 0,
      retryInitialMs: 50,
      retryMaxMs: 200,
      pollIntervalMs: 100,
      maxWaitMs: 0,
      defaultMetrics: false,
      log: (line) => lines.push(line),
    });
    const url = server.url;

    // Listening, alive, not ready, and saying why.
    assert.equal((await fetch(`${url}/health`)).status, 200);
    const notReady = await fetch(`${url}/ready`);
    assert.equal(notReady.status, 503);
    const reason = ((await notReady.json()) as { error: { code: string; message: string } }).error;
    assert.equal(reason.code, 'MODEL_NOT_READY');
    assert.match(reason.message, /^waiting for models:\/fashion-mnist@champion: .*; retrying in /);
    await until(() => lines.filter((l) => l.startsWith('waiting for')).length >= 3, 10_000, 'three tries');
    // Backoff: the delays grow and are capped.
    const delays = lines.filter((l) => l.startsWith('waiting for')).map((l) => /retrying in (.+)$/.exec(l)![1]);
    assert.deepEqual(delays.slice(0, 3), ['50 ms', '100 ms', '200 ms']);
    assert.ok(delays.slice(3).every((d) => d === '200 ms'), delays.join(', '));

    // A model is registered, but no alias yet: still waiting, now for the alias.
    const dir = join(home, 'folders');
    await writeTestModelFolder(join(dir, 'a'), TEST_CNN_BN, 7);
    await writeTestModelFolder(join(dir, 'b'), TEST_MLP, 8);
    const v1 = await publish(join(dir, 'a'), false);
    await until(() => lines.some((l) => l.includes('no such alias yet')), 10_000, 'the alias to be missing');
    assert.equal((await fetch(`${url}/ready`)).status, 503);

    const tracking = await openTracking({ home, env: {} });
    await tracking.store.setRegisteredModelAlias('fashion-mnist', 'champion', v1, { user_id: 'test' });
    await tracking.close();
    const first = await server.ready;
    assert.equal(first?.version, v1);
    const ready = await fetch(`${url}/ready`);
    assert.equal(ready.status, 200);
    assert.equal(((await ready.json()) as { model: { version: string } }).model.version, v1);

    const body = JSON.stringify({ images: [Array(784).fill(0), Array(784).fill(128), Array(784).fill(255)] });
    const call = async (): Promise<{ status: number; version?: string }> => {
      const response = await fetch(`${url}/predict/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      if (response.status !== 200) return { status: response.status };
      const answer = (await response.json()) as BatchAnswer;
      assert.equal(answer.predictions.length, 3);
      return { status: 200, version: answer.model.version };
    };
    assert.deepEqual(await call(), { status: 200, version: v1 });

    // Load: 8 clients in a loop while the alias moves to another version.
    const results: { status: number; version?: string }[] = [];
    let stop = false;
    const clients = Array.from({ length: 8 }, async () => {
      while (!stop) results.push(await call().catch((error: unknown) => ({ status: -1, version: String(error) })));
    });
    await until(() => results.length >= 50, 20_000, 'load before the swap');
    const v2 = await publish(join(dir, 'b'), true);
    await until(() => results.some((r) => r.version === v2), 20_000, 'the new version to answer');
    const seen = results.length;
    await until(() => results.length >= seen + 50, 20_000, 'load after the swap');
    stop = true;
    await Promise.all(clients);

    const failed = results.filter((r) => r.status !== 200);
    assert.deepEqual(failed, [], `${failed.length} of ${results.length} requests failed`);
    const versions = results.map((r) => r.version);
    assert.equal(versions[0], v1);
    assert.equal(versions.at(-1), v2);
    assert.ok(versions.every((v) => v === v1 || v === v2));
    assert.ok(lines.some((l) => l.startsWith(`alias moved: serving fashion-mnist version ${v2} (was version ${v1})`)), lines.join('\n'));
    assert.equal(server.current()?.version, v2);
  });

  test('an unreachable tracking server is waited for too', async () => {
    const log: string[] = [];
    const waiting = await startServe({
      modelUri: URI,
      home,
      port: 0,
      env: {},
      trackingUri: 'http://127.0.0.1:9',
      retryInitialMs: 60_000,
      defaultMetrics: false,
      log: (line) => log.push(line),
    });
    try {
      const ready = await fetch(`${waiting.url}/ready`);
      assert.equal(ready.status, 503);
      assert.match(((await ready.json()) as { error: { message: string } }).error.message, /tracking server .*unreachable.*retrying in 60 s/);
      assert.equal((await fetch(`${waiting.url}/health`)).status, 200);
    } finally {
      await waiting.close();
    }
    assert.equal(await waiting.ready, null);
  });

  test('a folder that is not a model still fails at once', async () => {
    await assert.rejects(startServe({ modelUri: join(home, 'nothing-here'), home, port: 0, defaultMetrics: false, log: () => {} }));
  });
});
