/**
 * The MLflow 3 logged-model endpoints on the wire: the JSON an MLflow 3 client sends (ids in the
 * path, enums by name or number, order_by as objects), MLflow's answer shapes, error codes and
 * HTTP statuses, the proxied artifacts under a model, and the links to runs and model versions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AJAX, API, ARTIFACTS, call, startTestServer, type TestServer } from './test-helpers.js';

describe('tracking server: MLflow 3 logged models', () => {
  let server: TestServer;
  let url: string;
  let experimentId: string;
  let runId: string;

  before(async () => {
    server = await startTestServer();
    url = server.url;
    experimentId = (await call(url, 'POST', `${API}/experiments/create`, { name: 'logged-models' })).json.experiment_id;
    runId = (await call(url, 'POST', `${API}/runs/create`, { experiment_id: experimentId })).json.run.info.run_id;
  });
  after(async () => {
    await server.close();
  });

  const create = async (body: object) => {
    const reply = await call(url, 'POST', `${API}/logged-models`, { experiment_id: experimentId, ...body });
    assert.equal(reply.status, 200, reply.text);
    return reply.json.model;
  };

  test("log_model's sequence: create, upload, list artifacts, finalize, get; the run lists the model among its outputs", async () => {
    const model = await create({ name: 'cnn', model_type: 'classifier', source_run_id: runId, params: [{ key: 'lr', value: '0.001' }], tags: [{ key: 'k', value: 'v' }] });
    const id = model.info.model_id as string;
    assert.match(id, /^m-[0-9a-f]{32}$/);
    assert.equal(model.info.status, 'LOGGED_MODEL_PENDING');
    assert.equal(model.info.artifact_uri, `mlflow-artifacts:/${experimentId}/models/${id}/artifacts`);
    assert.deepEqual(model.data.params, [{ key: 'lr', value: '0.001' }]);

    const upload = await fetch(`${url}${ARTIFACTS}/${experimentId}/models/${id}/artifacts/MLmodel`, { method: 'PUT', body: 'flavors: {}\n' });
    assert.equal(upload.status, 200, await upload.text());
    const listed = await call(url, 'GET', `${API}/logged-models/${id}/artifacts/directories`);
    assert.equal(listed.status, 200, listed.text);
    assert.equal(listed.json.root_uri, model.info.artifact_uri);
    assert.deepEqual(listed.json.files, [{ path: 'MLmodel', is_dir: false, file_size: 12 }]);

    const finalized = await call(url, 'PATCH', `${API}/logged-models/${id}`, { model_id: id, status: 'LOGGED_MODEL_READY' });
    assert.equal(finalized.status, 200, finalized.text);
    assert.equal(finalized.json.model.info.status, 'LOGGED_MODEL_READY');
    const byNumber = await call(url, 'PATCH', `${AJAX}/logged-models/${id}`, { status: 3 });
    assert.equal(byNumber.json.model.info.status, 'LOGGED_MODEL_UPLOAD_FAILED', 'protobuf enums arrive by number too');

    const got = await call(url, 'GET', `${AJAX}/logged-models/${id}`);
    assert.equal(got.status, 200, got.text);
    assert.equal(got.json.model.info.name, 'cnn');
    assert.equal(got.json.model.info.source_run_id, runId);

    const run = await call(url, 'GET', `${API}/runs/get?run_id=${runId}`);
    assert.deepEqual(run.json.run.outputs, { model_outputs: [{ model_id: id, step: 0 }] });
  });

  test('metrics with model_id and a dataset (log-metric, log-batch) show on the model; NaN as the string MLflow writes', async () => {
    const { info } = await create({ name: 'scored' });
    const one = await call(url, 'POST', `${API}/runs/log-metric`, {
      run_id: runId,
      key: 'acc',
      value: 0.75,
      timestamp: 5,
      step: 1,
      model_id: info.model_id,
      dataset_name: 'val',
      dataset_digest: 'abc',
    });
    assert.equal(one.status, 200, one.text);
    const batch = await call(url, 'POST', `${API}/runs/log-batch`, { run_id: runId, metrics: [{ key: 'loss', value: 'NaN', timestamp: 6, step: 1, model_id: info.model_id }] });
    assert.equal(batch.status, 200, batch.text);
    const { json } = await call(url, 'GET', `${API}/logged-models/${info.model_id}`);
    assert.deepEqual(json.model.data.metrics, [
      { key: 'acc', value: 0.75, timestamp: 5, step: 1, model_id: info.model_id, run_id: runId, dataset_name: 'val', dataset_digest: 'abc' },
      { key: 'loss', value: 'NaN', timestamp: 6, step: 1, model_id: info.model_id, run_id: runId },
    ]);
    const outputs = await call(url, 'POST', `${API}/runs/outputs`, { run_id: runId, models: [{ model_id: info.model_id, step: 2 }] });
    assert.equal(outputs.status, 200, outputs.text);
    const run = await call(url, 'GET', `${API}/runs/get?run_id=${runId}`);
    assert.ok(run.json.run.outputs.model_outputs.some((o: { model_id: string; step: number }) => o.model_id === info.model_id && o.step === 2));
  });

  test('search (order_by as objects), tags by path, params, delete; the ajax-api prefix answers the same', async () => {
    const a = await create({ name: 'search-a', tags: [{ key: 'stage', value: 'dev' }] });
    const b = await create({ name: 'search-b' });
    const tagged = await call(url, 'PATCH', `${API}/logged-models/${b.info.model_id}/tags`, { tags: [{ key: 'stage', value: 'prod' }] });
    assert.equal(tagged.status, 200, tagged.text);
    assert.deepEqual(tagged.json.model.info.tags, [{ key: 'stage', value: 'prod' }]);
    const params = await call(url, 'POST', `${API}/logged-models/${b.info.model_id}/params`, { params: [{ key: 'depth', value: '4' }] });
    assert.deepEqual(params.json, {});

    const search = await call(url, 'POST', `${AJAX}/logged-models/search`, {
      experiment_ids: [experimentId],
      filter: "name LIKE 'search-%' AND tags.stage IN ('dev', 'prod')",
      order_by: [{ field_name: 'name', ascending: false }],
      max_results: 1,
    });
    assert.equal(search.status, 200, search.text);
    assert.deepEqual(search.json.models.map((m: { info: { name: string } }) => m.info.name), ['search-b']);
    assert.equal(typeof search.json.next_page_token, 'string');
    const next = await call(url, 'POST', `${API}/logged-models/search`, {
      experiment_ids: [experimentId],
      filter: "name LIKE 'search-%'",
      order_by: [{ field_name: 'name', ascending: false }],
      max_results: 1,
      page_token: search.json.next_page_token,
    });
    assert.deepEqual(next.json.models.map((m: { info: { name: string } }) => m.info.name), ['search-a']);

    const untag = await call(url, 'DELETE', `${API}/logged-models/${a.info.model_id}/tags/stage`);
    assert.equal(untag.status, 200, untag.text);
    assert.deepEqual((await call(url, 'GET', `${API}/logged-models/${a.info.model_id}`)).json.model.info.tags, []);
    assert.deepEqual((await call(url, 'DELETE', `${API}/logged-models/${a.info.model_id}`)).json, {});
    const gone = await call(url, 'GET', `${API}/logged-models/${a.info.model_id}`);
    assert.equal(gone.status, 404);
    assert.equal(gone.json.error_code, 'RESOURCE_DOES_NOT_EXIST');
  });

  test("errors carry MLflow's codes and statuses, and say what to change", async () => {
    const missing = `m-${'9'.repeat(32)}`;
    const notThere = await call(url, 'PATCH', `${API}/logged-models/${missing}/tags`, { tags: [{ key: 'a', value: 'b' }] });
    assert.equal(notThere.status, 404);
    assert.deepEqual(notThere.json, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: `Logged model with ID '${missing}' not found.` });

    const noExperiment = await call(url, 'POST', `${API}/logged-models`, { name: 'x' });
    assert.equal(noExperiment.status, 400);
    assert.equal(noExperiment.json.error_code, 'INVALID_PARAMETER_VALUE');
    assert.match(noExperiment.json.message, /experiment_id/);

    const { info } = await create({});
    const pending = await call(url, 'PATCH', `${API}/logged-models/${info.model_id}`, { status: 'LOGGED_MODEL_PENDING' });
    assert.equal(pending.status, 400);
    assert.equal(pending.json.error_code, 'INVALID_PARAMETER_VALUE');
    const bogus = await call(url, 'PATCH', `${API}/logged-models/${info.model_id}`, { status: 'DONE' });
    assert.equal(bogus.status, 400);

    const unsupported = await call(url, 'POST', `${API}/logged-models/search`, { experiment_ids: [experimentId], filter: "datasets.name = 'val'" });
    assert.equal(unsupported.status, 400);
    assert.equal(unsupported.json.error_code, 'INVALID_PARAMETER_VALUE');
    assert.match(unsupported.json.message, /not supported/);

    const wrongTag = await call(url, 'DELETE', `${API}/logged-models/${info.model_id}/tags/absent`);
    assert.equal(wrongTag.status, 404);
    assert.equal(wrongTag.json.error_code, 'RESOURCE_DOES_NOT_EXIST');
  });

  test('register_model from a logged model: the version keeps model_id and the model lists the registration', async () => {
    const { info } = await create({ name: 'to-register', source_run_id: runId });
    await call(url, 'POST', `${API}/registered-models/create`, { name: 'registered-from-model' });
    const version = await call(url, 'POST', `${API}/model-versions/create`, {
      name: 'registered-from-model',
      source: `models:/${info.model_id}`,
      run_id: runId,
      model_id: info.model_id,
    });
    assert.equal(version.status, 200, version.text);
    assert.equal(version.json.model_version.model_id, info.model_id);
    const got = await call(url, 'GET', `${API}/model-versions/get?name=registered-from-model&version=1`);
    assert.equal(got.json.model_version.model_id, info.model_id);
    const model = await call(url, 'GET', `${API}/logged-models/${info.model_id}`);
    assert.deepEqual(model.json.model.info.registrations, [{ name: 'registered-from-model', version: '1' }]);
  });
});
