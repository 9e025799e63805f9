import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AJAX, API, call, startTestServer, type TestServer } from './test-helpers.js';

describe('tracking server: model registry', () => {
  let server: TestServer;
  let url: string;
  before(async () => {
    server = await startTestServer();
    url = server.url;
  });
  after(async () => {
    await server.close();
  });

  test('registered models: create, get, search, rename, update, tags, get-latest-versions, delete', async () => {
    const created = await call(url, 'POST', `${API}/registered-models/create`, { name: 'clf', description: 'a classifier', tags: [{ key: 't', value: '1' }] });
    assert.equal(created.status, 200, created.text);
    assert.equal(created.json.registered_model.name, 'clf');
    assert.equal(created.json.registered_model.description, 'a classifier');
    assert.equal(typeof created.json.registered_model.creation_timestamp, 'number');

    const got = await call(url, 'GET', `${AJAX}/registered-models/get?name=clf`);
    assert.equal(got.json.registered_model.name, 'clf');

    await call(url, 'POST', `${API}/registered-models/create`, { name: 'other' });
    const search = await call(url, 'GET', `${API}/registered-models/search?filter=${encodeURIComponent("name = 'clf'")}&max_results=5&order_by=name%20ASC`);
    assert.equal(search.status, 200, search.text);
    assert.deepEqual(search.json.registered_models.map((m: { name: string }) => m.name), ['clf']);

    const updated = await call(url, 'PATCH', `${API}/registered-models/update`, { name: 'clf', description: 'better' });
    assert.equal(updated.json.registered_model.description, 'better');

    assert.deepEqual((await call(url, 'POST', `${API}/registered-models/set-tag`, { name: 'clf', key: 'owner', value: 'ada' })).json, {});
    assert.deepEqual((await call(url, 'DELETE', `${API}/registered-models/delete-tag`, { name: 'clf', key: 't' })).json, {});
    const tags = (await call(url, 'GET', `${API}/registered-models/get?name=clf`)).json.registered_model.tags;
    assert.deepEqual(tags, [{ key: 'owner', value: 'ada' }]);

    const renamed = await call(url, 'POST', `${API}/registered-models/rename`, { name: 'clf', new_name: 'clf2' });
    assert.equal(renamed.status, 200, renamed.text);
    assert.equal(renamed.json.registered_model.name, 'clf2');

    await call(url, 'POST', `${API}/model-versions/create`, { name: 'clf2', source: 'mlflow-artifacts:/1/r/artifacts/model' });
    const latest = await call(url, 'POST', `${API}/registered-models/get-latest-versions`, { name: 'clf2' });
    assert.equal(latest.status, 200, latest.text);
    assert.deepEqual(latest.json.model_versions.map((v: { version: string }) => v.version), ['1']);

    // DELETE reads its fields from the JSON body (MLflow's client) or from the query string.
    assert.deepEqual((await call(url, 'DELETE', `${API}/registered-models/delete`, { name: 'clf2' })).json, {});
    assert.deepEqual((await call(url, 'DELETE', `${API}/registered-models/delete?name=other`)).json, {});
    const gone = await call(url, 'GET', `${API}/registered-models/get?name=clf2`);
    assert.equal(gone.status, 404);
    assert.equal(gone.json.error_code, 'RESOURCE_DOES_NOT_EXIST');
  });

  test('model versions: create, get, search, update, tags, download uri, delete', async () => {
    await call(url, 'POST', `${API}/registered-models/create`, { name: 'mv' });
    const { json: exp } = await call(url, 'POST', `${API}/experiments/create`, { name: 'mv-exp' });
    const { json: created } = await call(url, 'POST', `${API}/runs/create`, { experiment_id: exp.experiment_id });
    const runId = created.run.info.run_id as string;
    const source = `mlflow-artifacts:/${exp.experiment_id}/${runId}/artifacts/model`;

    const v1 = await call(url, 'POST', `${API}/model-versions/create`, { name: 'mv', source, run_id: runId, description: 'first', tags: [{ key: 'a', value: 'b' }] });
    assert.equal(v1.status, 200, v1.text);
    assert.equal(v1.json.model_version.version, '1');
    assert.equal(v1.json.model_version.source, source);
    assert.equal(v1.json.model_version.run_id, runId);
    const v2 = await call(url, 'POST', `${API}/model-versions/create`, { name: 'mv', source });
    assert.equal(v2.json.model_version.version, '2');

    const got = await call(url, 'GET', `${API}/model-versions/get?name=mv&version=1`);
    assert.equal(got.json.model_version.description, 'first');

    const search = await call(url, 'GET', `${API}/model-versions/search?filter=${encodeURIComponent("name = 'mv'")}`);
    assert.equal(search.status, 200, search.text);
    assert.deepEqual(search.json.model_versions.map((v: { version: string }) => v.version).sort(), ['1', '2']);

    const updated = await call(url, 'PATCH', `${API}/model-versions/update`, { name: 'mv', version: 1, description: 'changed' });
    assert.equal(updated.status, 200, updated.text);
    assert.equal(updated.json.model_version.description, 'changed');

    assert.deepEqual((await call(url, 'POST', `${API}/model-versions/set-tag`, { name: 'mv', version: '1', key: 'k', value: 'v' })).json, {});
    assert.deepEqual((await call(url, 'DELETE', `${API}/model-versions/delete-tag`, { name: 'mv', version: '1', key: 'a' })).json, {});
    const tags = (await call(url, 'GET', `${API}/model-versions/get?name=mv&version=1`)).json.model_version.tags;
    assert.deepEqual(tags, [{ key: 'k', value: 'v' }]);

    const uri = await call(url, 'GET', `${API}/model-versions/get-download-uri?name=mv&version=1`);
    assert.equal(uri.status, 200, uri.text);
    assert.equal(typeof uri.json.artifact_uri, 'string');
    assert.ok(uri.json.artifact_uri.length > 0);

    assert.deepEqual((await call(url, 'DELETE', `${API}/model-versions/delete`, { name: 'mv', version: '2' })).json, {});
    const gone = await call(url, 'GET', `${API}/model-versions/get?name=mv&version=2`);
    assert.equal(gone.status, 404);
    assert.equal(gone.json.error_code, 'RESOURCE_DOES_NOT_EXIST');
  });

  test('aliases: set, get, delete, and Kiln alias history', async () => {
    await call(url, 'POST', `${API}/registered-models/create`, { name: 'al' });
    await call(url, 'POST', `${API}/model-versions/create`, { name: 'al', source: 's1' });
    await call(url, 'POST', `${API}/model-versions/create`, { name: 'al', source: 's2' });

    const set1 = await call(url, 'POST', `${API}/registered-models/alias`, { name: 'al', alias: 'prod', version: '1', user_id: 'ada', reason: 'first' });
    assert.equal(set1.status, 200, set1.text);
    assert.deepEqual(set1.json, {});
    await call(url, 'POST', `${API}/registered-models/alias`, { name: 'al', alias: 'prod', version: '2' });

    const byAlias = await call(url, 'GET', `${API}/registered-models/alias?name=al&alias=prod`);
    assert.equal(byAlias.status, 200, byAlias.text);
    assert.equal(byAlias.json.model_version.version, '2');
    assert.deepEqual(byAlias.json.model_version.aliases, ['prod']);

    const model = await call(url, 'GET', `${API}/registered-models/get?name=al`);
    assert.deepEqual(model.json.registered_model.aliases, [{ alias: 'prod', version: '2' }]);

    const del = await call(url, 'DELETE', `${API}/registered-models/alias`, { name: 'al', alias: 'prod' });
    assert.equal(del.status, 200, del.text);
    const missing = await call(url, 'GET', `${API}/registered-models/alias?name=al&alias=prod`);
    assert.equal(missing.status, 404);

    const history = await call(url, 'GET', `${API}/registered-models/alias-history?name=al&alias=prod`);
    assert.equal(history.status, 200, history.text);
    assert.deepEqual(
      history.json.events.map((e: { from_version: string | null; to_version: string | null }) => [e.from_version, e.to_version]),
      [
        [null, '1'],
        ['1', '2'],
        ['2', null],
      ],
    );
    assert.equal(history.json.events[0].user_id, 'ada');
    assert.equal(history.json.events[0].reason, 'first');
  });

  test('registry errors are MLflow-shaped', async () => {
    const missing = await call(url, 'POST', `${API}/registered-models/create`, {});
    assert.equal(missing.status, 400);
    assert.match(missing.json.message, /Missing value for required parameter 'name'/);

    await call(url, 'POST', `${API}/registered-models/create`, { name: 'dup-model' });
    const dup = await call(url, 'POST', `${API}/registered-models/create`, { name: 'dup-model' });
    assert.equal(dup.status, 400);
    assert.equal(dup.json.error_code, 'RESOURCE_ALREADY_EXISTS');

    const noSource = await call(url, 'POST', `${API}/model-versions/create`, { name: 'dup-model' });
    assert.match(noSource.json.message, /'source'/);

    const noVersion = await call(url, 'GET', `${API}/model-versions/get?name=dup-model`);
    assert.equal(noVersion.status, 400);
    assert.match(noVersion.json.message, /'version'/);

    const unknown = await call(url, 'GET', `${API}/model-versions/get?name=nobody&version=1`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error_code, 'RESOURCE_DOES_NOT_EXIST');

    const wrongMethod = await call(url, 'POST', `${API}/registered-models/update`, { name: 'dup-model' });
    assert.equal(wrongMethod.status, 404);
    assert.equal(wrongMethod.json.error_code, 'ENDPOINT_NOT_FOUND');
  });
});
