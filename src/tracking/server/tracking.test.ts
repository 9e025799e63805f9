import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AJAX, API, call, startTestServer, type TestServer } from './test-helpers.js';

const MISSING = /^Missing value for required parameter '(.+)'\. See the API docs/;

describe('tracking server: experiments, runs and metrics', () => {
  let server: TestServer;
  let url: string;
  before(async () => {
    server = await startTestServer();
    url = server.url;
  });
  after(async () => {
    await server.close();
  });

  test('experiments: create, get, get-by-name, update, tag, delete, restore, search (both prefixes)', async () => {
    for (const prefix of [API, AJAX]) {
      const name = `exp-${prefix.length}`;
      const created = await call(url, 'POST', `${prefix}/experiments/create`, { name, tags: [{ key: 'team', value: 'ml' }] });
      assert.equal(created.status, 200, created.text);
      const id = created.json.experiment_id as string;
      assert.equal(typeof id, 'string');

      const got = await call(url, 'GET', `${prefix}/experiments/get?experiment_id=${id}`);
      assert.equal(got.status, 200);
      assert.equal(got.json.experiment.name, name);
      assert.equal(got.json.experiment.lifecycle_stage, 'active');
      assert.equal(got.json.experiment.artifact_location, `mlflow-artifacts:/${id}`);
      assert.equal(typeof got.json.experiment.creation_time, 'number');
      assert.deepEqual(got.json.experiment.tags, [{ key: 'team', value: 'ml' }]);

      const byName = await call(url, 'GET', `${prefix}/experiments/get-by-name?experiment_name=${encodeURIComponent(name)}`);
      assert.equal(byName.json.experiment.experiment_id, id);

      assert.deepEqual((await call(url, 'POST', `${prefix}/experiments/update`, { experiment_id: id, new_name: `${name}-2` })).json, {});
      assert.deepEqual((await call(url, 'POST', `${prefix}/experiments/set-experiment-tag`, { experiment_id: id, key: 'k', value: 'v' })).json, {});
      const renamed = await call(url, 'GET', `${prefix}/experiments/get?experiment_id=${id}`);
      assert.equal(renamed.json.experiment.name, `${name}-2`);
      assert.ok(renamed.json.experiment.tags.some((t: { key: string }) => t.key === 'k'));

      assert.deepEqual((await call(url, 'POST', `${prefix}/experiments/delete`, { experiment_id: id })).json, {});
      const deleted = await call(url, 'GET', `${prefix}/experiments/get?experiment_id=${id}`);
      assert.equal(deleted.json.experiment.lifecycle_stage, 'deleted');
      const searchDeleted = await call(url, 'POST', `${prefix}/experiments/search`, { view_type: 'DELETED_ONLY', max_results: 10 });
      assert.ok(searchDeleted.json.experiments.some((e: { experiment_id: string }) => e.experiment_id === id));
      assert.deepEqual((await call(url, 'POST', `${prefix}/experiments/restore`, { experiment_id: id })).json, {});

      const viaGet = await call(url, 'GET', `${prefix}/experiments/search?max_results=100&filter=${encodeURIComponent(`name = '${name}-2'`)}`);
      assert.equal(viaGet.status, 200, viaGet.text);
      assert.deepEqual(
        viaGet.json.experiments.map((e: { experiment_id: string }) => e.experiment_id),
        [id],
      );
    }
  });

  test('experiments: MLflow-shaped errors', async () => {
    const missing = await call(url, 'POST', `${API}/experiments/create`, {});
    assert.equal(missing.status, 400);
    assert.equal(missing.json.error_code, 'INVALID_PARAMETER_VALUE');
    assert.equal(MISSING.exec(missing.json.message)?.[1], 'name');
    assert.deepEqual(Object.keys(missing.json).sort(), ['error_code', 'message']);

    const empty = await call(url, 'POST', `${API}/experiments/create`, { name: '' });
    assert.equal(MISSING.exec(empty.json.message)?.[1], 'name');

    const getMissing = await call(url, 'GET', `${API}/experiments/get`);
    assert.equal(getMissing.status, 400);
    assert.equal(MISSING.exec(getMissing.json.message)?.[1], 'experiment_id');

    const notFound = await call(url, 'GET', `${API}/experiments/get?experiment_id=987654`);
    assert.equal(notFound.status, 404);
    assert.equal(notFound.json.error_code, 'RESOURCE_DOES_NOT_EXIST');

    await call(url, 'POST', `${API}/experiments/create`, { name: 'dup' });
    const dup = await call(url, 'POST', `${API}/experiments/create`, { name: 'dup' });
    assert.equal(dup.status, 400);
    assert.equal(dup.json.error_code, 'RESOURCE_ALREADY_EXISTS');

    const wrongType = await call(url, 'POST', `${API}/experiments/create`, { name: 'x', tags: 'nope' });
    assert.equal(wrongType.status, 400);
    assert.equal(wrongType.json.error_code, 'INVALID_PARAMETER_VALUE');
    assert.match(wrongType.json.message, /tags/);

    const badView = await call(url, 'POST', `${API}/experiments/search`, { view_type: 'SOMETIMES' });
    assert.equal(badView.status, 400);
    assert.match(badView.json.message, /view_type/);
  });

  test('malformed JSON is 400 BAD_REQUEST; unknown fields and nulls are ignored; only application/json is JSON', async () => {
    const bad = await call(url, 'POST', `${API}/experiments/create`, '{"name": ');
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error_code, 'BAD_REQUEST');
    assert.deepEqual(Object.keys(bad.json).sort(), ['error_code', 'message']);

    const extra = await call(url, 'POST', `${API}/experiments/create`, { name: 'extra-fields', unknown_field: 1, artifact_location: null });
    assert.equal(extra.status, 200, extra.text);

    // fetch sends a string body as text/plain, which a page on any site can send too: refused.
    const plain = await fetch(`${url}${API}/experiments/create`, { method: 'POST', body: JSON.stringify({ name: 'no-content-type' }) });
    assert.equal(plain.status, 415);
    const charset = await call(url, 'POST', `${API}/experiments/create`, JSON.stringify({ name: 'with-charset' }), { 'content-type': 'application/json; charset=utf-8' });
    assert.equal(charset.status, 200, charset.text);

    const emptyBody = await fetch(`${url}${API}/experiments/create`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    assert.equal(emptyBody.status, 400);
    assert.equal(((await emptyBody.json()) as { error_code: string }).error_code, 'INVALID_PARAMETER_VALUE');

    const arrayBody = await call(url, 'POST', `${API}/experiments/create`, '[1,2]');
    assert.equal(arrayBody.status, 400);
    assert.equal(arrayBody.json.error_code, 'INVALID_PARAMETER_VALUE');
  });

  test('unknown endpoints and wrong methods are 404 ENDPOINT_NOT_FOUND', async () => {
    for (const [method, path] of [
      ['GET', `${API}/experiments/nope`],
      ['POST', '/api/2.0/mlflow/runs/get'],
      ['GET', '/nothing/here'],
    ] as const) {
      const reply = await call(url, method, path, method === 'POST' ? {} : undefined);
      assert.equal(reply.status, 404, path);
      assert.equal(reply.json.error_code, 'ENDPOINT_NOT_FOUND');
    }
  });

  test('runs: create, get (run_id / run_uuid), log everything, update, search, delete, restore', async () => {
    const { json: exp } = await call(url, 'POST', `${API}/experiments/create`, { name: 'runs-exp' });
    const created = await call(url, 'POST', `${API}/runs/create`, {
      experiment_id: exp.experiment_id,
      user_id: 'ada',
      start_time: 1700000000000,
      run_name: 'first',
      tags: [{ key: 'source', value: 'test' }],
    });
    assert.equal(created.status, 200, created.text);
    const run = created.json.run;
    const runId = run.info.run_id as string;
    assert.equal(run.info.run_uuid, runId);
    assert.equal(run.info.status, 'RUNNING');
    assert.equal(run.info.start_time, 1700000000000);
    assert.equal(run.info.artifact_uri, `mlflow-artifacts:/${exp.experiment_id}/${runId}/artifacts`);

    const ok = async (path: string, body: unknown): Promise<void> => {
      const reply = await call(url, 'POST', `${API}${path}`, body);
      assert.equal(reply.status, 200, `${path}: ${reply.text}`);
      assert.deepEqual(reply.json, {});
    };
    await ok('/runs/log-metric', { run_id: runId, key: 'loss', value: 0.5, timestamp: 1700000000001, step: 1 });
    await ok('/runs/log-metric', { run_uuid: runId, key: 'loss', value: '0.25', timestamp: '1700000000002', step: '2' });
    await ok('/runs/log-parameter', { run_id: runId, key: 'lr', value: '0.01' });
    await ok('/runs/set-tag', { run_id: runId, key: 'stage', value: 'dev' });
    await ok('/runs/set-tag', { run_id: runId, key: 'temp', value: 'x' });
    await ok('/runs/delete-tag', { run_id: runId, key: 'temp' });
    await ok('/runs/log-batch', {
      run_id: runId,
      metrics: [{ key: 'acc', value: 0.9, timestamp: 1700000000003, step: 3 }],
      params: [{ key: 'batch', value: '32' }],
      tags: [{ key: 'b', value: '1' }],
    });
    await ok('/runs/log-inputs', {
      run_id: runId,
      datasets: [{ tags: [{ key: 'mlflow.data.context', value: 'train' }], dataset: { name: 'mnist', digest: 'abc', source_type: 'local', source: '/data' } }],
    });

    const got = await call(url, 'GET', `${API}/runs/get?run_uuid=${runId}`);
    assert.equal(got.status, 200, got.text);
    const data = got.json.run.data;
    assert.deepEqual(
      data.metrics.map((m: { key: string; value: number; step: number }) => [m.key, m.value, m.step]).sort(),
      [
        ['acc', 0.9, 3],
        ['loss', 0.25, 2],
      ],
    );
    assert.deepEqual(data.params.map((p: { key: string }) => p.key).sort(), ['batch', 'lr']);
    const tagKeys = data.tags.map((t: { key: string }) => t.key);
    assert.ok(tagKeys.includes('stage') && tagKeys.includes('b') && !tagKeys.includes('temp'));
    assert.equal(got.json.run.inputs.dataset_inputs[0].dataset.name, 'mnist');

    const history = await call(url, 'GET', `${AJAX}/metrics/get-history?run_id=${runId}&metric_key=loss`);
    assert.equal(history.status, 200, history.text);
    assert.deepEqual(
      history.json.metrics.map((m: { value: number; step: number; timestamp: number }) => [m.value, m.step, m.timestamp]),
      [
        [0.5, 1, 1700000000001],
        [0.25, 2, 1700000000002],
      ],
    );

    const updated = await call(url, 'POST', `${API}/runs/update`, { run_id: runId, status: 'FINISHED', end_time: 1700000000100 });
    assert.equal(updated.status, 200, updated.text);
    assert.equal(updated.json.run_info.status, 'FINISHED');
    assert.equal(updated.json.run_info.end_time, 1700000000100);

    const search = await call(url, 'POST', `${API}/runs/search`, { experiment_ids: [exp.experiment_id], filter: 'metrics.acc > 0.5', max_results: 10 });
    assert.equal(search.status, 200, search.text);
    assert.deepEqual(search.json.runs.map((r: { info: { run_id: string } }) => r.info.run_id), [runId]);

    await ok('/runs/delete', { run_id: runId });
    assert.equal((await call(url, 'GET', `${API}/runs/get?run_id=${runId}`)).json.run.info.lifecycle_stage, 'deleted');
    await ok('/runs/restore', { run_id: runId });
    assert.equal((await call(url, 'GET', `${API}/runs/get?run_id=${runId}`)).json.run.info.lifecycle_stage, 'active');
  });

  test('runs: MLflow-shaped errors', async () => {
    const noRun = await call(url, 'GET', `${API}/runs/get`);
    assert.equal(noRun.status, 400);
    assert.equal(MISSING.exec(noRun.json.message)?.[1], 'run_id');

    const unknownRun = await call(url, 'GET', `${API}/runs/get?run_id=0123456789abcdef0123456789abcdef`);
    assert.equal(unknownRun.status, 404);
    assert.equal(unknownRun.json.error_code, 'RESOURCE_DOES_NOT_EXIST');

    const { json: exp } = await call(url, 'POST', `${API}/experiments/create`, { name: 'runs-errors' });
    const { json: created } = await call(url, 'POST', `${API}/runs/create`, { experiment_id: exp.experiment_id });
    const runId = created.run.info.run_id as string;

    const noTimestamp = await call(url, 'POST', `${API}/runs/log-metric`, { run_id: runId, key: 'm', value: 1 });
    assert.equal(noTimestamp.status, 400);
    assert.equal(MISSING.exec(noTimestamp.json.message)?.[1], 'timestamp');

    const badValue = await call(url, 'POST', `${API}/runs/log-metric`, { run_id: runId, key: 'm', value: 'lots', timestamp: 1 });
    assert.equal(badValue.status, 400);
    assert.equal(badValue.json.error_code, 'INVALID_PARAMETER_VALUE');
    assert.match(badValue.json.message, /'value'/);

    const badBatch = await call(url, 'POST', `${API}/runs/log-batch`, { run_id: runId, metrics: [{ key: 'm', value: 1 }] });
    assert.equal(badBatch.status, 400);
    assert.equal(MISSING.exec(badBatch.json.message)?.[1], 'metrics[0].timestamp');

    await call(url, 'POST', `${API}/runs/log-parameter`, { run_id: runId, key: 'p', value: 'a' });
    const changed = await call(url, 'POST', `${API}/runs/log-parameter`, { run_id: runId, key: 'p', value: 'b' });
    assert.equal(changed.status, 400);
    assert.equal(changed.json.error_code, 'INVALID_PARAMETER_VALUE');

    const badStatus = await call(url, 'POST', `${API}/runs/update`, { run_id: runId, status: 'EXPLODED' });
    assert.equal(badStatus.status, 400);

    const noKey = await call(url, 'GET', `${API}/metrics/get-history?run_id=${runId}`);
    assert.equal(MISSING.exec(noKey.json.message)?.[1], 'metric_key');
  });

  test('a negative metric timestamp is refused in MLflow\'s words, one metric or a batch', async () => {
    const { json: exp } = await call(url, 'POST', `${API}/experiments/create`, { name: 'negative-time' });
    const { json: created } = await call(url, 'POST', `${API}/runs/create`, { experiment_id: exp.experiment_id });
    const runId = created.run.info.run_id as string;
    for (const [path, body] of [
      ['runs/log-metric', { run_id: runId, key: 'm', value: 1, timestamp: -1 }],
      ['runs/log-batch', { run_id: runId, metrics: [{ key: 'm', value: 1, timestamp: -1700000000000, step: 0 }] }],
    ] as const) {
      const refused = await call(url, 'POST', `${API}/${path}`, body);
      assert.equal(refused.status, 400, path);
      assert.equal(refused.json.error_code, 'INVALID_PARAMETER_VALUE');
      assert.match(refused.json.message, /Timestamp must be a nonnegative long/);
    }
    const history = await call(url, 'GET', `${API}/metrics/get-history?run_id=${runId}&metric_key=m`);
    assert.deepEqual(history.json.metrics ?? [], []);
    assert.equal((await call(url, 'POST', `${API}/runs/log-metric`, { run_id: runId, key: 'm', value: 1, timestamp: 0 })).status, 200);
  });

  test('run_name obeys the 8,000-character tag value limit through runs/create and runs/update', async () => {
    const { json: exp } = await call(url, 'POST', `${API}/experiments/create`, { name: 'long-names' });
    const tooLong = 'n'.repeat(8001);
    const create = await call(url, 'POST', `${API}/runs/create`, { experiment_id: exp.experiment_id, run_name: tooLong });
    assert.equal(create.status, 400);
    assert.equal(create.json.error_code, 'INVALID_PARAMETER_VALUE');
    assert.match(create.json.message, /length 8001, which exceeded length limit of 8000/);

    const { json: created } = await call(url, 'POST', `${API}/runs/create`, { experiment_id: exp.experiment_id, run_name: 'n'.repeat(8000) });
    const runId = created.run.info.run_id as string;
    const update = await call(url, 'POST', `${API}/runs/update`, { run_id: runId, run_name: tooLong });
    assert.equal(update.status, 400);
    assert.match(update.json.message, /exceeded length limit of 8000/);
    const run = await call(url, 'GET', `${API}/runs/get?run_id=${runId}`);
    assert.equal(run.json.run.info.run_name.length, 8000);
  });

  test('NaN and ±Infinity round-trip as MLflow strings (and bare tokens are accepted)', async () => {
    const { json: exp } = await call(url, 'POST', `${API}/experiments/create`, { name: 'nan-exp' });
    const { json: created } = await call(url, 'POST', `${API}/runs/create`, { experiment_id: exp.experiment_id });
    const runId = created.run.info.run_id as string;
    const log = await call(url, 'POST', `${API}/runs/log-batch`, {
      run_id: runId,
      metrics: [
        { key: 'nan', value: 'NaN', timestamp: 1, step: 0 },
        { key: 'inf', value: 'Infinity', timestamp: 1, step: 0 },
        { key: 'ninf', value: '-Infinity', timestamp: 1, step: 0 },
      ],
    });
    assert.equal(log.status, 200, log.text);
    const bare = await call(url, 'POST', `${API}/runs/log-metric`, `{"run_id": "${runId}", "key": "bare", "value": NaN, "timestamp": 2}`);
    assert.equal(bare.status, 200, bare.text);

    const got = await call(url, 'GET', `${API}/runs/get?run_id=${runId}`);
    const values = Object.fromEntries(got.json.run.data.metrics.map((m: { key: string; value: unknown }) => [m.key, m.value]));
    assert.deepEqual(values, { nan: 'NaN', inf: 'Infinity', ninf: '-Infinity', bare: 'NaN' });
    assert.match(got.text, /"value":"NaN"/);

    const history = await call(url, 'GET', `${API}/metrics/get-history?run_id=${runId}&metric_key=ninf`);
    assert.equal(history.json.metrics[0].value, '-Infinity');

    const search = await call(url, 'POST', `${API}/runs/search`, { experiment_ids: [exp.experiment_id] });
    const searched = search.json.runs[0].data.metrics.find((m: { key: string }) => m.key === 'inf');
    assert.equal(searched.value, 'Infinity');
  });

  test('oversize JSON body → 413 in MLflow shape', async () => {
    const small = await startTestServer({ bodyLimit: 1024 });
    try {
      const reply = await call(small.url, 'POST', `${API}/experiments/create`, { name: 'x'.repeat(4096) });
      assert.equal(reply.status, 413);
      assert.deepEqual(Object.keys(reply.json).sort(), ['error_code', 'message']);
      const fine = await call(small.url, 'POST', `${API}/experiments/create`, { name: 'small' });
      assert.equal(fine.status, 200);
    } finally {
      await small.close();
    }
  });
});
