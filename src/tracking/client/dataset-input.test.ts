import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ImageSet } from '../../data/dataset.js';
import type { DatasetIdentity } from '../../data/labelled.js';
import { normalizePixels } from '../../data/normalize.js';
import { loadSharp } from '../../imaging/decode.js';
import { call, startTestServer, type TestServer } from '../server/test-helpers.js';
import type { DatasetInput, Run } from '../store/types.js';
import { type DatasetProfileJson, type DatasetSchemaJson, datasetDigest, datasetInput } from './dataset-input.js';
import { openTracking, type TrackingSession } from './session.js';
import { finishTrainingRun, logDatasetSamples, startTrainingRun } from './training-run.js';

const DIGEST = 'a3f1c2d4e5b6978812345678909abcdefa3f1c2d4e5b6978812345678909abcd';

/** A user's RGB folder dataset: three classes, given train/val/test splits. */
const IDENTITY: DatasetIdentity = {
  name: 'shapes',
  digest: DIGEST,
  source: '/data/shapes',
  sourceType: 'folder',
  schema: { height: 6, width: 4, channels: 3, color: 'rgb', classNames: ['circle', 'square', 'star/5'] },
  counts: { train: [3, 2, 0], validation: [1, 1, 1], test: [2, 2, 1] },
};

/** The train split of IDENTITY: 5 images whose bytes are known. */
function trainSet(): { set: ImageSet; bytes: Uint8Array } {
  const size = 6 * 4 * 3;
  const bytes = new Uint8Array(5 * size);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 53) % 256;
  const images = normalizePixels(bytes, new Float32Array(bytes.length), 0.4, 0.3);
  return { set: { images, labels: Uint8Array.from([0, 1, 0, 1, 0]), count: 5, height: 6, width: 4, channels: 3 }, bytes };
}

function theInput(run: Run): DatasetInput {
  assert.equal(run.inputs.dataset_inputs.length, 1, 'one dataset input');
  return run.inputs.dataset_inputs[0];
}

/** What every store must give back for IDENTITY's input. */
function assertShapesInput(input: DatasetInput): void {
  const d = input.dataset;
  assert.deepEqual([d.name, d.digest, d.source_type], ['shapes', DIGEST.slice(0, 16), 'local']);
  assert.deepEqual(JSON.parse(d.source), { uri: '/data/shapes' });
  const schema = JSON.parse(d.schema ?? 'null') as DatasetSchemaJson;
  assert.deepEqual(JSON.parse(schema.mlflow_tensorspec.features), [{ type: 'tensor', 'tensor-spec': { dtype: 'float32', shape: [-1, 6, 4, 3] } }]);
  assert.deepEqual(JSON.parse(schema.mlflow_tensorspec.targets ?? 'null'), [{ type: 'tensor', 'tensor-spec': { dtype: 'uint8', shape: [-1] } }]);
  assert.deepEqual(schema.image, { height: 6, width: 4, channels: 3, color: 'rgb' });
  assert.deepEqual(schema.class_names, ['circle', 'square', 'star/5']);
  const profile = JSON.parse(d.profile ?? 'null') as DatasetProfileJson;
  assert.equal(profile.digest, DIGEST, 'the full digest in the profile');
  assert.equal(profile.source_type, 'folder');
  assert.equal(profile.num_items, 13);
  assert.deepEqual(profile.splits, {
    train: { num_items: 5, per_class: [3, 2, 0] },
    validation: { num_items: 3, per_class: [1, 1, 1] },
    test: { num_items: 5, per_class: [2, 2, 1] },
  });
  assert.deepEqual(input.tags, [
    { key: 'kiln.data.test', value: '5' },
    { key: 'kiln.data.train', value: '5' },
    { key: 'kiln.data.validation', value: '3' },
    { key: 'mlflow.data.context', value: 'training' },
  ]);
}

test('a builtin dataset read from files: its source is their folder, their sha256 are in the profile', () => {
  const builtin: DatasetIdentity = { ...IDENTITY, name: 'fashion-mnist', source: 'fashion-mnist', sourceType: 'builtin', counts: { train: [1, 1, 1], test: [1, 0, 0] } };
  const input = datasetInput(builtin, {
    sha256: { 'train-images-idx3-ubyte': 'aa', 't10k-images-idx3-ubyte': 'bb' },
    sources: { 'train-images-idx3-ubyte': '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz', 't10k-images-idx3-ubyte': '/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz' },
  });
  assert.deepEqual(JSON.parse(input.dataset.source), { uri: '/usr/share/datasets/fashion-mnist' });
  const profile = JSON.parse(input.dataset.profile ?? '') as DatasetProfileJson;
  assert.deepEqual(profile.files, { 'train-images-idx3-ubyte': 'aa', 't10k-images-idx3-ubyte': 'bb' });
  assert.equal(profile.source_type, 'builtin');
  assert.equal(profile.num_items, 4);
});

describe('a training run with a dataset identity, in the embedded SQLite store', () => {
  let home = '';
  let session: TrackingSession;
  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'kiln-dataset-input-'));
    session = await openTracking({ home, env: {} });
  });
  after(async () => {
    await session?.close();
    await rm(home, { recursive: true, force: true });
  });

  test('the run has the dataset input with name, short digest, source, tensor-spec schema, profile and tags', async () => {
    const run = await startTrainingRun(session, { experimentName: 'lineage', params: { lr: '0.01' }, dataset: IDENTITY });
    await finishTrainingRun(session, run, { status: 'FINISHED' });
    assertShapesInput(theInput(await session.store.getRun(run.runId)));
  });

  test('the older spec (name, files\' sha256 and paths) is still logged as before', async () => {
    const files = { sha256: { a: '01', b: '02' }, sources: { a: '/x/a', b: '/y/b' } };
    const run = await startTrainingRun(session, { experimentName: 'lineage', params: {}, dataset: { name: 'old', ...files } });
    await finishTrainingRun(session, run, { status: 'FINISHED' });
    const input = theInput(await session.store.getRun(run.runId));
    assert.deepEqual(input.dataset, { name: 'old', digest: datasetDigest(files.sha256), source_type: 'local', source: JSON.stringify(files.sources), profile: JSON.stringify({ sha256: files.sha256 }) });
    assert.deepEqual(input.tags, [{ key: 'mlflow.data.context', value: 'training' }]);
  });

  test('logDatasetSamples writes dataset/profile.json and one PNG per sample, in class folders', async () => {
    const run = await startTrainingRun(session, { experimentName: 'lineage', params: {}, dataset: IDENTITY });
    const { set } = trainSet();
    const logged = await logDatasetSamples(session, run, { identity: IDENTITY, train: set, classNames: IDENTITY.schema.classNames, normalization: { mean: 0.4, std: 0.3 } }, { perClass: 2 });
    await finishTrainingRun(session, run, { status: 'FINISHED' });
    assert.equal(logged, 5, 'profile.json and 2 + 2 samples (the third class has no train image)');
    const root = join(home, 'artifacts', run.artifactUri.replace(/^mlflow-artifacts:\/*/, ''), 'dataset');
    assert.deepEqual((await readdir(join(root, 'samples'))).sort(), ['0_circle', '1_square']);
    assert.deepEqual((await readdir(join(root, 'samples', '0_circle'))).sort(), ['0.png', '1.png']);
    const profile = JSON.parse(await readFile(join(root, 'profile.json'), 'utf8')) as { digest: string; profile: DatasetProfileJson; samples: { files: string[] } };
    assert.equal(profile.digest, DIGEST);
    assert.deepEqual(profile.profile.splits.test?.per_class, [2, 2, 1]);
    assert.deepEqual(profile.samples.files, ['samples/0_circle/0.png', 'samples/0_circle/1.png', 'samples/1_square/0.png', 'samples/1_square/1.png']);
  });
});

describe('a training run with a dataset identity, through a tracking server and the REST client', () => {
  let server: TestServer;
  let home = '';
  let session: TrackingSession;
  before(async () => {
    server = await startTestServer();
    home = await mkdtemp(join(tmpdir(), 'kiln-dataset-input-rest-'));
    session = await openTracking({ uri: server.url, home, env: {} });
  });
  after(async () => {
    await session?.close();
    await server?.close();
    await rm(home, { recursive: true, force: true });
  });

  test('runs/get returns inputs.dataset_inputs with every field, to the REST client and on the wire', async () => {
    const run = await startTrainingRun(session, { experimentName: 'lineage', params: {}, dataset: IDENTITY });
    await finishTrainingRun(session, run, { status: 'FINISHED' });
    assertShapesInput(theInput(await session.store.getRun(run.runId)));
    const wire = await call(server.url, 'GET', `/api/2.0/mlflow/runs/get?run_id=${run.runId}`);
    assert.equal(wire.status, 200);
    assertShapesInput(wire.json.run.inputs.dataset_inputs[0] as DatasetInput);
  });

  test('the sample PNGs uploaded through the server come back with the original pixels', async () => {
    const run = await startTrainingRun(session, { experimentName: 'lineage', params: {}, dataset: IDENTITY });
    const { set, bytes } = trainSet();
    await logDatasetSamples(session, run, { identity: IDENTITY, train: set, classNames: IDENTITY.schema.classNames, normalization: { mean: 0.4, std: 0.3 } });
    await finishTrainingRun(session, run, { status: 'FINISHED' });
    const listed = await call(server.url, 'GET', `/api/2.0/mlflow/artifacts/list?run_id=${run.runId}&path=dataset/samples/0_circle`);
    assert.deepEqual(
      (listed.json.files as Array<{ path: string }>).map((f) => f.path),
      ['dataset/samples/0_circle/0.png', 'dataset/samples/0_circle/1.png', 'dataset/samples/0_circle/2.png'],
    );
    const path = run.artifactUri.replace(/^mlflow-artifacts:\/*/, '');
    const response = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${path}/dataset/samples/0_circle/1.png`);
    assert.equal(response.headers.get('content-type'), 'image/png');
    const sharp = await loadSharp();
    const decoded = await sharp(Buffer.from(await response.arrayBuffer())).raw().toBuffer();
    // The circle's second train image is image 2 of the set.
    assert.deepEqual(new Uint8Array(decoded), bytes.subarray(2 * 72, 3 * 72));
  });
});
