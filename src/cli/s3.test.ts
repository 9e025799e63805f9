import { GetObjectCommand } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { startTestS3, type TestS3 } from '../tracking/server/s3-test-helpers.js';
import { firstJsonLine, KILN_BIN, REAL_DATA, runKiln, SKIP_WITHOUT_DATA } from './test-helpers.js';

const PREFIX = 'mlflow';

function spawnKiln(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [KILN_BIN, ...args], {
    env: { ...process.env, KILN_TRACKING_URI: '', MLFLOW_TRACKING_URI: '', KILN_PROFILE: '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

describe('kiln server --artifacts-destination s3://… → kiln train → kiln serve models:/…@champion', { skip: SKIP_WITHOUT_DATA }, () => {
  let s3: TestS3;
  let home = '';
  let server: ChildProcess | null = null;
  let url = '';

  before(async () => {
    s3 = await startTestS3();
    home = await mkdtemp(join(tmpdir(), 'kiln-s3-cli-'));
    server = spawnKiln(['server', '--port', '0', '--home', join(home, 'server'), '--artifacts-destination', `s3://${s3.bucket}/${PREFIX}`, '--json'], s3.env);
    const ready = await firstJsonLine(server);
    assert.equal(ready.artifacts_destination, `s3://${s3.bucket}/${PREFIX}`);
    url = ready.url as string;
  });

  after(async () => {
    server?.kill('SIGTERM');
    await s3.close();
    await rm(home, { recursive: true, force: true });
  });

  test('the model trained over HTTP lands in the bucket, and kiln serve downloads and serves it byte for byte', async () => {
    // The trainer knows only the server's URL: no S3 settings at all.
    const train = await runKiln(['train', '--epochs', '1', '--layers', '32', '--seed', '5', '--home', join(home, 'train'), '--tracking-uri', url, '--json', '--data-dir', REAL_DATA ?? '']);
    assert.equal(train.code, 0, train.stderr);
    const runId = train.json.run_id as string;
    const modelPath = train.json.model_path as string;
    const keys = await s3.keys();
    const modelKey = keys.find((key) => key.startsWith(`${PREFIX}/`) && key.includes(`/${runId}/artifacts/`) && key.endsWith('/model.onnx'));
    assert.ok(modelKey, `model.onnx of run ${runId} is in the bucket: ${keys.join(', ')}`);
    const stored = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: modelKey }));
    assert.deepEqual(Buffer.from(await stored.Body!.transformToByteArray()), await readFile(join(modelPath, 'model.onnx')));

    assert.equal((await runKiln(['models', 'register', '--run', runId, '--tracking-uri', url, '--json'])).code, 0);
    assert.equal((await runKiln(['models', 'alias', '1', '--tracking-uri', url, '--json'])).code, 0);

    const servingHome = join(home, 'serving');
    const serve = spawnKiln(['serve', '--model-uri', 'models:/fashion-mnist@champion', '--tracking-uri', url, '--port', '0', '--home', servingHome, '--json'], {});
    try {
      const ready = (await firstJsonLine(serve)) as { url: string; model: { name: string; version: string } };
      assert.equal(ready.model.version, '1');
      for (const file of ['kiln-model.json', 'model.onnx', 'weights.bin']) {
        assert.deepEqual(await readFile(join(servingHome, 'serving-cache', 'fashion-mnist', '1', file)), await readFile(join(modelPath, file)), `${file} byte for byte`);
      }
      const images = gunzipSync(await readFile(join(REAL_DATA ?? '', 't10k-images-idx3-ubyte.gz')));
      const png = await sharp(images.subarray(16, 16 + 784), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer();
      const body = new FormData();
      body.append('file', new Blob([png], { type: 'image/png' }), '0.png');
      const answer = await fetch(`${ready.url}/predict`, { method: 'POST', body });
      assert.equal(answer.status, 200, await answer.clone().text());
      assert.equal(((await answer.json()) as { model: { version: string } }).model.version, '1');
    } finally {
      serve.kill('SIGTERM');
    }
  });

  test('with the embedded store and KILN_ARTIFACTS_DESTINATION=s3://…, train writes to the bucket, serve reads from it, and kiln server shows it', async () => {
    const embeddedHome = join(home, 'embedded');
    const env = { ...s3.env, KILN_ARTIFACTS_DESTINATION: `s3://${s3.bucket}/embedded` };
    const train = await runKiln(['train', '--epochs', '1', '--layers', '16', '--seed', '6', '--home', embeddedHome, '--json', '--data-dir', REAL_DATA ?? ''], env);
    assert.equal(train.code, 0, train.stderr);
    const runId = train.json.run_id as string;
    const modelPath = train.json.model_path as string;
    assert.ok((await s3.keys()).some((key) => key.startsWith('embedded/') && key.endsWith(`/${runId}/artifacts/model/model.onnx`)), 'the model is in the bucket');
    assert.equal((await runKiln(['models', 'register', '--run', runId, '--home', embeddedHome, '--json'], env)).code, 0);
    assert.equal((await runKiln(['models', 'alias', '1', '--home', embeddedHome, '--json'], env)).code, 0);

    const serve = spawnKiln(['serve', '--model-uri', 'models:/fashion-mnist@champion', '--port', '0', '--home', embeddedHome, '--json'], env);
    try {
      const ready = (await firstJsonLine(serve)) as { model: { version: string } };
      assert.equal(ready.model.version, '1');
      assert.deepEqual(await readFile(join(embeddedHome, 'serving-cache', 'fashion-mnist', '1', 'model.onnx')), await readFile(join(modelPath, 'model.onnx')));
    } finally {
      serve.kill('SIGTERM');
    }

    // kiln server on the same home finds the bucket through the same variable.
    const embeddedServer = spawnKiln(['server', '--port', '0', '--home', embeddedHome, '--json'], env);
    try {
      const ready = await firstJsonLine(embeddedServer);
      const listed = await fetch(`${String(ready.url)}/api/2.0/mlflow/artifacts/list?run_id=${runId}&path=model`);
      const files = ((await listed.json()) as { files: { path: string }[] }).files.map((file) => file.path);
      assert.ok(files.includes('model/model.onnx'), files.join(', '));
    } finally {
      embeddedServer.kill('SIGTERM');
    }
  });
});
