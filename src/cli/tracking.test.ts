import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { loadServedModel, retireModel } from '../serve/model.js';
import { normalizePixels } from '../serve/preprocess.js';
import { firstJsonLine, KILN_BIN, REAL_DATA, runKiln, SKIP_WITHOUT_DATA } from './test-helpers.js';

/** Starts `kiln server --port 0` and resolves with its URL once it listens. */
async function startServer(home: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [KILN_BIN, 'server', '--port', '0', '--home', home, '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return { url: (await firstJsonLine(child)).url as string, child };
}

async function api(url: string, path: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}/api/2.0/mlflow/${path}`);
  assert.equal(response.status, 200, `${path}: ${await response.clone().text()}`);
  return (await response.json()) as Record<string, unknown>;
}

interface WireRun {
  info: { run_id: string; status: string; artifact_uri: string };
  data: { metrics: { key: string; value: number }[]; params: { key: string; value: string }[]; tags: { key: string; value: string }[] };
  inputs: { dataset_inputs: { dataset: { name: string; digest: string; schema?: string; profile?: string } }[] };
}

describe('kiln train → tracking server → registry', { skip: SKIP_WITHOUT_DATA }, () => {
  let serverHome = '';
  let trainHome = '';
  let server: { url: string; child: ChildProcess } | null = null;
  let trained: { runId: string; modelPath: string } | null = null;

  before(async () => {
    serverHome = await mkdtemp(join(tmpdir(), 'kiln-server-'));
    trainHome = await mkdtemp(join(tmpdir(), 'kiln-train-'));
    server = await startServer(serverHome);
  });

  after(async () => {
    server?.child.kill('SIGTERM');
    await rm(serverHome, { recursive: true, force: true });
    await rm(trainHome, { recursive: true, force: true });
  });

  test('a run trained against the server has its params, full metric history, dataset input and model artifacts; it registers and becomes champion', async () => {
    const url = server?.url ?? '';
    const train = await runKiln(['train', '--epochs', '1', '--seed', '3', '--home', trainHome, '--tracking-uri', url, '--json', '--data-dir', REAL_DATA ?? '']);
    assert.equal(train.code, 0, train.stderr);
    const runId = train.json.run_id as string;
    assert.match(runId, /^[0-9a-f]{32}$/);

    const { run } = (await api(url, `runs/get?run_id=${runId}`)) as { run: WireRun };
    assert.equal(run.info.status, 'FINISHED');
    assert.equal(run.data.params.find((p) => p.key === 'lr')?.value, '0.001');
    assert.equal(run.data.metrics.find((m) => m.key === 'test_acc')?.value, train.json.test_acc);
    assert.ok(run.data.tags.some((t) => t.key === 'mlflow.user'));
    assert.equal(run.inputs.dataset_inputs[0]?.dataset.name, 'fashion-mnist');
    const schema = JSON.parse(run.inputs.dataset_inputs[0]?.dataset.schema ?? '{}') as { image?: object; class_names?: string[] };
    assert.deepEqual([schema.image, schema.class_names?.[9]], [{ height: 28, width: 28, channels: 1, color: 'gray' }, 'Ankle boot']);
    const profile = JSON.parse(run.inputs.dataset_inputs[0]?.dataset.profile ?? '{}') as { splits?: Record<string, { num_items: number }> };
    assert.deepEqual([profile.splits?.train?.num_items, profile.splits?.test?.num_items], [60000, 10000]);
    const samples = (await api(url, `artifacts/list?run_id=${runId}&path=dataset/samples/7_Sneaker`)) as { files: { path: string }[] };
    assert.equal(samples.files.length, 8, 'eight Sneaker samples');

    // 55,000 images / 128 = 430 steps, logged every 50 steps: 8 points, all of them.
    const history = (await api(url, `metrics/get-history?run_id=${runId}&metric_key=train_loss_step`)) as { metrics: { step: number }[] };
    assert.deepEqual(history.metrics.map((m) => m.step), [50, 100, 150, 200, 250, 300, 350, 400]);

    const listing = (await api(url, `artifacts/list?run_id=${runId}&path=model`)) as { files: { path: string }[] };
    assert.deepEqual(listing.files.map((f) => f.path).sort(), ['model/kiln-model.json', 'model/model.json', 'model/model.onnx', 'model/weights.bin']);
    const metadataUri = `${url}/api/2.0/mlflow-artifacts/artifacts/${run.info.artifact_uri.replace('mlflow-artifacts:/', '')}/model/kiln-model.json`;
    const metadata = (await (await fetch(metadataUri)).json()) as { format: string; metrics: { test_acc: number } };
    assert.equal(metadata.format, 'kiln-model');
    assert.equal(metadata.metrics.test_acc, train.json.test_acc);

    const registered = await runKiln(['models', 'register', '--run', runId, '--tracking-uri', url, '--json']);
    assert.equal(registered.code, 0, registered.stderr);
    assert.equal((registered.json.model_version as { version: string }).version, '1');

    const alias = await runKiln(['models', 'alias', '1', '--tracking-uri', url, '--reason', 'first model', '--json']);
    assert.equal(alias.code, 0, alias.stderr);
    assert.equal(alias.json.moved, true);
    const champion = (await api(url, 'registered-models/alias?name=fashion-mnist&alias=champion')) as { model_version: { version: string; run_id: string } };
    assert.equal(champion.model_version.run_id, runId);
    trained = { runId, modelPath: train.json.model_path as string };

    const history2 = await runKiln(['models', 'history', '--tracking-uri', url, '--json']);
    const events = history2.json.events as { alias: string; from_version: string | null; to_version: string; reason: string }[];
    assert.deepEqual(
      events.map(({ alias: a, from_version, to_version, reason }) => ({ a, from_version, to_version, reason })),
      [{ a: 'champion', from_version: null, to_version: '1', reason: 'first model' }],
    );
  });

  test('kiln serve downloads the champion from the tracking server and answers exactly as the model folder it was trained into', async () => {
    assert.ok(trained, 'the previous test registered a champion');
    const servingHome = await mkdtemp(join(tmpdir(), 'kiln-serving-'));
    const child = spawn(process.execPath, [KILN_BIN, 'serve', '--model-uri', 'models:/fashion-mnist@champion', '--tracking-uri', server?.url ?? '', '--port', '0', '--home', servingHome, '--json'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const ready = (await firstJsonLine(child)) as { url: string; model: { name: string; version: string; engine: string } };
      assert.deepEqual(ready.model, { name: 'fashion-mnist', version: '1', engine: 'onnxruntime' });
      const cached = join(servingHome, 'serving-cache', 'fashion-mnist', '1');
      for (const file of ['kiln-model.json', 'model.json', 'model.onnx', 'weights.bin']) {
        assert.deepEqual(await readFile(join(cached, file)), await readFile(join(trained.modelPath, file)), `${file} downloaded byte for byte`);
      }
      const images = gunzipSync(await readFile(join(REAL_DATA ?? '', 't10k-images-idx3-ubyte.gz')));
      const local = await loadServedModel(trained.modelPath, { maxWaitMs: 0 });
      try {
        for (let i = 0; i < 5; i++) {
          const pixels = images.subarray(16 + i * 784, 16 + (i + 1) * 784);
          const png = await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer();
          const body = new FormData();
          body.append('file', new Blob([png], { type: 'image/png' }), `${i}.png`);
          const response = await fetch(`${ready.url}/predict`, { method: 'POST', body });
          assert.equal(response.status, 200);
          const answer = (await response.json()) as { class_id: number; confidence: number; model: { version: string } };
          const input = new Float32Array(784);
          normalizePixels(pixels, local.metadata.preprocessing, input);
          const expected = await local.predictor.predict(input, 1);
          const best = expected.indexOf(Math.max(...expected));
          assert.equal(answer.class_id, best, `image ${i}`);
          assert.ok(Math.abs(answer.confidence - expected[best]!) < 1e-5, `image ${i}: ${answer.confidence} vs ${expected[best]}`);
          assert.equal(answer.model.version, '1');
        }
      } finally {
        await retireModel(local);
      }
    } finally {
      child.kill('SIGTERM');
      await rm(servingHome, { recursive: true, force: true });
    }
  });

  test('a run trained on the embedded store is served by `kiln server` on the same home', async () => {
    const train = await runKiln(['train', '--epochs', '1', '--seed', '4', '--home', trainHome, '--json', '--data-dir', REAL_DATA ?? '']);
    assert.equal(train.code, 0, train.stderr);
    const embedded = await startServer(trainHome);
    try {
      const { run } = (await api(embedded.url, `runs/get?run_id=${String(train.json.run_id)}`)) as { run: WireRun };
      assert.equal(run.info.status, 'FINISHED');
      const listing = (await api(embedded.url, `artifacts/list?run_id=${run.info.run_id}&path=model`)) as { files: { path: string }[] };
      assert.equal(listing.files.length, 4);
    } finally {
      embedded.child.kill('SIGTERM');
    }
  });

  test('registering a run that does not exist is a clear 404-coded error', async () => {
    const run = await runKiln(['models', 'register', '--run', 'f'.repeat(32), '--tracking-uri', server?.url ?? '', '--json']);
    assert.equal(run.code, 1);
    assert.equal((run.json.error as { code: string }).code, 'RESOURCE_DOES_NOT_EXIST');
  });
});
