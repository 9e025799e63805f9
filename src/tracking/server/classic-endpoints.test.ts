/**
 * Wire tests for the MLflow 2.0 calls every MLflow client still makes: sent as MLflow's Python
 * client sends them (JSON bodies, GET query strings with repeated keys), on both prefixes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AJAX, API, call, startTestServer, type TestServer } from './test-helpers.js';

describe('tracking server: MLflow 2.0 classic endpoints', () => {
  let server: TestServer;
  let url: string;
  before(async () => {
    server = await startTestServer();
    url = server.url;
  });
  after(async () => {
    await server.close();
  });

  const newRun = async (): Promise<string> => {
    const exp = await server.store.createExperiment({ name: `exp-${Math.random()}` });
    return (await server.store.createRun({ experiment_id: exp })).info.run_id;
  };

  test('POST experiments/delete-experiment-tag deletes on both prefixes; an absent tag is 404, a missing key 400', async () => {
    const exp = await server.store.createExperiment({ name: 'tagged', tags: [{ key: 'a', value: '1' }, { key: 'b', value: '2' }, { key: 'c', value: '3' }] });
    const first = await call(url, 'POST', `${API}/experiments/delete-experiment-tag`, { experiment_id: exp, key: 'a' });
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(first.json, {});
    assert.equal((await call(url, 'POST', `${AJAX}/experiments/delete-experiment-tag`, { experiment_id: exp, key: 'b' })).status, 200);
    assert.deepEqual((await server.store.getExperiment(exp)).tags, [{ key: 'c', value: '3' }]);
    const again = await call(url, 'POST', `${API}/experiments/delete-experiment-tag`, { experiment_id: exp, key: 'a' });
    assert.equal(again.status, 404);
    assert.equal(again.json.error_code, 'RESOURCE_DOES_NOT_EXIST');
    const noKey = await call(url, 'POST', `${API}/experiments/delete-experiment-tag`, { experiment_id: exp });
    assert.equal(noKey.status, 400);
    assert.equal(noKey.json.error_code, 'INVALID_PARAMETER_VALUE');
    assert.match(noKey.json.message, /key/);
  });

  test('POST runs/log-model appends the MLmodel summary to mlflow.log-model.history; bad JSON or fields are 400, an unknown run 404', async () => {
    const runId = await newRun();
    const model = {
      run_id: runId,
      artifact_path: 'model',
      utc_time_created: '2026-01-02 03:04:05.000000',
      flavors: { onnx: { onnx_version: '1.17.0', config: { large: true } } },
      model_uuid: 'abc',
      mlflow_version: '2.22.0',
    };
    for (const prefix of [API, AJAX]) {
      const logged = await call(url, 'POST', `${prefix}/runs/log-model`, { run_id: runId, model_json: JSON.stringify(model) });
      assert.equal(logged.status, 200, logged.text);
      assert.deepEqual(logged.json, {});
    }
    const run = await call(url, 'GET', `${API}/runs/get?run_id=${runId}`);
    const tag = run.json.run.data.tags.find((t: { key: string }) => t.key === 'mlflow.log-model.history');
    const summary = { run_id: runId, utc_time_created: model.utc_time_created, artifact_path: 'model', model_uuid: 'abc', flavors: { onnx: { onnx_version: '1.17.0' } } };
    assert.deepEqual(JSON.parse(tag.value), [summary, summary]);

    const malformed = await call(url, 'POST', `${API}/runs/log-model`, { run_id: runId, model_json: '{not json' });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.json.error_code, 'INVALID_PARAMETER_VALUE');
    assert.match(malformed.json.message, /Malformed model info/);
    const { flavors: _f, utc_time_created: _u, ...partial } = model;
    const missing = await call(url, 'POST', `${API}/runs/log-model`, { run_id: runId, model_json: JSON.stringify(partial) });
    assert.equal(missing.status, 400);
    assert.match(missing.json.message, /missing mandatory fields: flavors, utc_time_created/);
    const noJson = await call(url, 'POST', `${API}/runs/log-model`, { run_id: runId });
    assert.equal(noJson.status, 400);
    assert.equal(noJson.json.error_code, 'INVALID_PARAMETER_VALUE');
    const unknown = await call(url, 'POST', `${API}/runs/log-model`, { run_id: 'f'.repeat(32), model_json: JSON.stringify(model) });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error_code, 'RESOURCE_DOES_NOT_EXIST');
  });

  test('POST model-versions/transition-stage moves stages; every reply carries current_stage and get-latest-versions honours stages', async () => {
    await call(url, 'POST', `${API}/registered-models/create`, { name: 'staged' });
    for (const source of ['s1', 's2', 's3']) await call(url, 'POST', `${API}/model-versions/create`, { name: 'staged', source });
    const moved = await call(url, 'POST', `${API}/model-versions/transition-stage`, { name: 'staged', version: '1', stage: 'Production', archive_existing_versions: false });
    assert.equal(moved.status, 200, moved.text);
    assert.equal(moved.json.model_version.current_stage, 'Production');
    const staging = await call(url, 'POST', `${AJAX}/model-versions/transition-stage`, { name: 'staged', version: '2', stage: 'staging', archive_existing_versions: false });
    assert.equal(staging.json.model_version.current_stage, 'Staging');
    assert.equal((await call(url, 'GET', `${API}/model-versions/get?name=staged&version=1`)).json.model_version.current_stage, 'Production');

    const versions = (r: { json: { model_versions: { version: string; current_stage: string }[] } }): string[] =>
      r.json.model_versions.map((v) => `${v.current_stage}:${v.version}`);
    assert.deepEqual(versions(await call(url, 'POST', `${API}/registered-models/get-latest-versions`, { name: 'staged' })), ['None:3', 'Staging:2', 'Production:1']);
    assert.deepEqual(versions(await call(url, 'POST', `${API}/registered-models/get-latest-versions`, { name: 'staged', stages: ['Production'] })), ['Production:1']);
    assert.deepEqual(versions(await call(url, 'GET', `${API}/registered-models/get-latest-versions?name=staged&stages=staging&stages=None`)), ['None:3', 'Staging:2']);
    const model = (await call(url, 'GET', `${API}/registered-models/get?name=staged`)).json.registered_model;
    assert.deepEqual(model.latest_versions.map((v: { version: string }) => v.version), ['3', '2', '1']);

    const archived = await call(url, 'POST', `${API}/model-versions/transition-stage`, { name: 'staged', version: '2', stage: 'Production', archive_existing_versions: true });
    assert.equal(archived.json.model_version.current_stage, 'Production');
    const search = await call(url, 'GET', `${API}/model-versions/search?filter=${encodeURIComponent("name = 'staged'")}`);
    assert.deepEqual(versions(search), ['None:3', 'Production:2', 'Archived:1']);

    const badStage = await call(url, 'POST', `${API}/model-versions/transition-stage`, { name: 'staged', version: '1', stage: 'Live', archive_existing_versions: false });
    assert.equal(badStage.status, 400);
    assert.equal(badStage.json.error_code, 'INVALID_PARAMETER_VALUE');
    const noArchiveFlag = await call(url, 'POST', `${API}/model-versions/transition-stage`, { name: 'staged', version: '1', stage: 'Staging' });
    assert.equal(noArchiveFlag.status, 400);
    assert.match(noArchiveFlag.json.message, /archive_existing_versions/);
    const unknown = await call(url, 'POST', `${API}/model-versions/transition-stage`, { name: 'staged', version: '9', stage: 'Staging', archive_existing_versions: false });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error_code, 'RESOURCE_DOES_NOT_EXIST');
    const badFilter = await call(url, 'POST', `${API}/registered-models/get-latest-versions`, { name: 'staged', stages: ['Live'] });
    assert.equal(badFilter.status, 400);
    assert.equal(badFilter.json.error_code, 'INVALID_PARAMETER_VALUE');
  });

  describe('GET metrics/get-history-bulk-interval', () => {
    let a: string;
    let b: string;
    before(async () => {
      a = await newRun();
      b = await newRun();
      // Run a logs steps 0..9, run b steps 0, 2, …, 18; run b's step 12 is NaN.
      await server.store.logBatch(a, { metrics: Array.from({ length: 10 }, (_, i) => ({ key: 'loss', value: i / 10, step: i, timestamp: 1000 + i })) });
      await server.store.logBatch(b, { metrics: Array.from({ length: 10 }, (_, i) => ({ key: 'loss', value: i === 6 ? NaN : i, step: 2 * i, timestamp: 2000 + i })) });
    });
    const bulk = (query: string, prefix = API) => call(url, 'GET', `${prefix}/metrics/get-history-bulk-interval?${query}`);
    const points = (r: { json: { metrics: { run_id: string; step: number }[] } }): string[] =>
      r.json.metrics.map((m) => `${m.run_id === a ? 'a' : 'b'}${m.step}`);

    test('samples shared steps over all runs, keeps each run\'s first and last step, by run then step', async () => {
      const r = await bulk(`run_ids=${a}&run_ids=${b}&metric_key=loss&max_results=4`);
      assert.equal(r.status, 200, r.text);
      // Steps of both runs: 0..10, 12, 14, 16, 18 (15); four evenly spaced (0, 3, 7, 12), the last (18), and a's last (9).
      assert.deepEqual(points(r), ['a0', 'a3', 'a7', 'a9', 'b0', 'b12', 'b18']);
      assert.deepEqual(r.json.metrics[0], { key: 'loss', value: 0, timestamp: 1000, step: 0, run_id: a });
      assert.equal(r.json.metrics.find((m: { run_id: string; step: number }) => m.run_id === b && m.step === 12).value, 'NaN');
    });

    test('start_step and end_step bound the steps; without max_results every step in range comes back', async () => {
      assert.deepEqual(points(await bulk(`run_ids=${a}&run_ids=${b}&metric_key=loss&start_step=2&end_step=6&max_results=2`, AJAX)), ['a2', 'a4', 'a6', 'b2', 'b4', 'b6']);
      assert.deepEqual(points(await bulk(`run_ids=${b}&metric_key=loss&start_step=3&end_step=9`)), ['b4', 'b6', 'b8']);
      assert.equal((await bulk(`run_ids=${a}&metric_key=loss`)).json.metrics.length, 10);
      assert.deepEqual((await bulk(`run_ids=${a}&metric_key=accuracy`)).json, { metrics: [] });
    });

    test('bad input is 400 INVALID_PARAMETER_VALUE with MLflow\'s messages; an unknown run is 404', async () => {
      const cases: [string, RegExp][] = [
        [`run_ids=${a}&metric_key=loss&start_step=2`, /both must be specified/],
        [`run_ids=${a}&metric_key=loss&start_step=5&end_step=2`, /end_step must be greater than start_step/],
        [`run_ids=${a}&metric_key=loss&max_results=0`, /max_results must be between 1 and 2500/],
        [`run_ids=${a}&metric_key=loss&max_results=2501`, /max_results must be between 1 and 2500/],
        [`${Array.from({ length: 101 }, () => `run_ids=${a}`).join('&')}&metric_key=loss`, /at most 100 run_ids. Received 101/],
        [`run_ids=${a}`, /metric_key/],
        ['metric_key=loss', /run_ids/],
      ];
      for (const [query, message] of cases) {
        const r = await bulk(query);
        assert.equal(r.status, 400, query);
        assert.equal(r.json.error_code, 'INVALID_PARAMETER_VALUE', query);
        assert.match(r.json.message, message, query);
      }
      const unknown = await bulk(`run_ids=${a}&run_ids=${'e'.repeat(32)}&metric_key=loss`);
      assert.equal(unknown.status, 404);
      assert.equal(unknown.json.error_code, 'RESOURCE_DOES_NOT_EXIST');
    });
  });
});
