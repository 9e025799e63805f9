/**
 * tracking/store/contract-logged-models — the part of the TrackingStore contract that covers
 * MLflow 3's logged models and their links to runs, metrics and model versions. Called from
 * defineContractTests (contract.ts) inside its describe, so SQLite, PostgreSQL and REST all run it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectError } from './contract.js';
import type { LoggedModel, TrackingStore } from './types.js';

export interface LoggedModelContext {
  store: () => TrackingStore;
  unique: (prefix: string) => string;
  newExperiment: () => Promise<string>;
}

const names = (models: LoggedModel[]): string[] => models.map((m) => m.info.name);

export function defineLoggedModelContract({ store: current, unique, newExperiment }: LoggedModelContext): void {
  test('logged models: create (PENDING, m- id, artifacts under the experiment), get, finalize, delete', async () => {
    const store = current();
    const exp = await newExperiment();
    const location = (await store.getExperiment(exp)).artifact_location;
    const model = await store.createLoggedModel({
      experiment_id: exp,
      name: 'classifier',
      model_type: 'cnn',
      params: [{ key: 'lr', value: '0.01' }],
      tags: [{ key: 'team', value: 'vision' }],
    });
    assert.match(model.info.model_id, /^m-[0-9a-f]{32}$/);
    assert.equal(model.info.experiment_id, exp);
    assert.equal(model.info.name, 'classifier');
    assert.equal(model.info.model_type, 'cnn');
    assert.equal(model.info.status, 'LOGGED_MODEL_PENDING');
    assert.equal(model.info.artifact_uri, `${location}/models/${model.info.model_id}/artifacts`);
    assert.equal(model.info.source_run_id, undefined);
    assert.deepEqual(model.info.tags, [{ key: 'team', value: 'vision' }]);
    assert.deepEqual(model.info.registrations, []);
    assert.deepEqual(model.data, { params: [{ key: 'lr', value: '0.01' }], metrics: [] });
    assert.deepEqual(await store.getLoggedModel(model.info.model_id), model);

    const generated = await store.createLoggedModel({ experiment_id: exp });
    assert.match(generated.info.name, /^[a-z]+-[a-z]+-\d+$/);

    const ready = await store.finalizeLoggedModel(model.info.model_id, 'LOGGED_MODEL_READY');
    assert.equal(ready.info.status, 'LOGGED_MODEL_READY');
    assert.ok(ready.info.last_updated_timestamp_ms >= model.info.last_updated_timestamp_ms);
    const failed = await store.finalizeLoggedModel(generated.info.model_id, 'LOGGED_MODEL_UPLOAD_FAILED');
    assert.equal(failed.info.status, 'LOGGED_MODEL_UPLOAD_FAILED');
    await assert.rejects(store.finalizeLoggedModel(model.info.model_id, 'LOGGED_MODEL_PENDING'), expectError('INVALID_PARAMETER_VALUE', 'LOGGED_MODEL_READY'));

    await store.deleteLoggedModel(model.info.model_id);
    const gone = `Logged model with ID '${model.info.model_id}' not found`;
    await assert.rejects(store.getLoggedModel(model.info.model_id), expectError('RESOURCE_DOES_NOT_EXIST', gone));
    await assert.rejects(store.deleteLoggedModel(model.info.model_id), expectError('RESOURCE_DOES_NOT_EXIST', gone));
    await assert.rejects(store.finalizeLoggedModel(model.info.model_id, 'LOGGED_MODEL_READY'), expectError('RESOURCE_DOES_NOT_EXIST', gone));
    const missing = `m-${'0'.repeat(32)}`;
    await assert.rejects(store.getLoggedModel(missing), expectError('RESOURCE_DOES_NOT_EXIST', missing));
  });

  test('logged models: refused input names the field (experiment, name, source run)', async () => {
    const store = current();
    const exp = await newExperiment();
    await assert.rejects(store.createLoggedModel({ experiment_id: '987654321' }), expectError('RESOURCE_DOES_NOT_EXIST', 'No Experiment with id=987654321'));
    await assert.rejects(store.createLoggedModel({ experiment_id: exp, name: 'a/b' }), expectError('INVALID_PARAMETER_VALUE', 'Invalid model name'));
    await assert.rejects(
      store.createLoggedModel({ experiment_id: exp, source_run_id: 'f'.repeat(32) }),
      expectError('RESOURCE_DOES_NOT_EXIST', `Run with id=${'f'.repeat(32)} not found`),
    );
    await assert.rejects(
      store.createLoggedModel({ experiment_id: exp, params: [{ key: 'a', value: '1' }, { key: 'a', value: '2' }] }),
      expectError('INVALID_PARAMETER_VALUE', 'Duplicate parameter keys'),
    );
    const deleted = await newExperiment();
    await store.deleteExperiment(deleted);
    await assert.rejects(store.createLoggedModel({ experiment_id: deleted }), expectError('INVALID_PARAMETER_VALUE', "must be in the 'active' state"));
  });

  test('logged models: tags set and overwritten, deleted (a missing tag is RESOURCE_DOES_NOT_EXIST); params immutable', async () => {
    const store = current();
    const exp = await newExperiment();
    const { info } = await store.createLoggedModel({ experiment_id: exp, tags: [{ key: 'a', value: '1' }] });
    const tagged = await store.setLoggedModelTags(info.model_id, [
      { key: 'a', value: '2' },
      { key: 'b', value: 'x' },
    ]);
    assert.deepEqual(tagged.info.tags, [
      { key: 'a', value: '2' },
      { key: 'b', value: 'x' },
    ]);
    await store.deleteLoggedModelTag(info.model_id, 'a');
    assert.deepEqual((await store.getLoggedModel(info.model_id)).info.tags, [{ key: 'b', value: 'x' }]);
    // Over HTTP the key travels in the path: a slash or a space in it must survive the trip.
    await store.setLoggedModelTags(info.model_id, [{ key: 'mlflow.source/dir name', value: 'y' }]);
    await store.deleteLoggedModelTag(info.model_id, 'mlflow.source/dir name');
    assert.deepEqual((await store.getLoggedModel(info.model_id)).info.tags, [{ key: 'b', value: 'x' }]);
    await assert.rejects(store.deleteLoggedModelTag(info.model_id, 'a'), expectError('RESOURCE_DOES_NOT_EXIST', "No tag with key 'a'"));

    await store.logLoggedModelParams(info.model_id, [{ key: 'depth', value: '3' }]);
    await store.logLoggedModelParams(info.model_id, [{ key: 'depth', value: '3' }, { key: 'width', value: '64' }]);
    assert.deepEqual((await store.getLoggedModel(info.model_id)).data.params, [
      { key: 'depth', value: '3' },
      { key: 'width', value: '64' },
    ]);
    await assert.rejects(store.logLoggedModelParams(info.model_id, [{ key: 'depth', value: '4' }]), expectError('INVALID_PARAMETER_VALUE', 'depth'));
    const missing = `m-${'1'.repeat(32)}`;
    await assert.rejects(store.setLoggedModelTags(missing, [{ key: 'a', value: '1' }]), expectError('RESOURCE_DOES_NOT_EXIST', missing));
    await assert.rejects(store.logLoggedModelParams(missing, [{ key: 'a', value: '1' }]), expectError('RESOURCE_DOES_NOT_EXIST', missing));
  });

  test('metrics a run logs with model_id (and a dataset) are recorded on the model; an unknown model refuses the whole batch', async () => {
    const store = current();
    const exp = await newExperiment();
    const run = await store.createRun({ experiment_id: exp });
    const { info } = await store.createLoggedModel({ experiment_id: exp, source_run_id: run.info.run_id });
    await store.logBatch(run.info.run_id, {
      metrics: [
        { key: 'acc', value: 0.8, timestamp: 10, step: 1, model_id: info.model_id, dataset_name: 'val', dataset_digest: 'd1' },
        { key: 'acc', value: 0.9, timestamp: 20, step: 2, model_id: info.model_id },
        { key: 'loss', value: Number.NaN, timestamp: 20, step: 2, model_id: info.model_id },
        { key: 'run_only', value: 1, timestamp: 20, step: 0 },
      ],
    });
    const { data } = await store.getLoggedModel(info.model_id);
    assert.deepEqual(
      data.metrics.map((m) => ({ ...m, value: Number.isNaN(m.value) ? 'NaN' : m.value })),
      [
        { key: 'acc', value: 0.8, timestamp: 10, step: 1, model_id: info.model_id, run_id: run.info.run_id, dataset_name: 'val', dataset_digest: 'd1' },
        { key: 'acc', value: 0.9, timestamp: 20, step: 2, model_id: info.model_id, run_id: run.info.run_id },
        { key: 'loss', value: 'NaN', timestamp: 20, step: 2, model_id: info.model_id, run_id: run.info.run_id },
      ],
    );
    // The run keeps its own metrics as before, without the model fields.
    const runMetrics = (await store.getRun(run.info.run_id)).data.metrics;
    assert.deepEqual(
      runMetrics.map((m) => m.key),
      ['acc', 'loss', 'run_only'],
    );
    assert.deepEqual(runMetrics[0], { key: 'acc', value: 0.9, timestamp: 20, step: 2 });

    const missing = `m-${'2'.repeat(32)}`;
    await assert.rejects(
      store.logBatch(run.info.run_id, { metrics: [{ key: 'other', value: 1, timestamp: 30, step: 3, model_id: missing }] }),
      expectError('RESOURCE_DOES_NOT_EXIST', missing),
    );
    assert.ok(!(await store.getRun(run.info.run_id)).data.metrics.some((m) => m.key === 'other'), 'the refused batch wrote nothing');
  });

  test("links: a model created with source_run_id is in the run's outputs; logOutputs adds more; versions keep model_id", async () => {
    const store = current();
    const exp = await newExperiment();
    const run = await store.createRun({ experiment_id: exp });
    assert.deepEqual(run.outputs, { model_outputs: [] });
    const first = await store.createLoggedModel({ experiment_id: exp, source_run_id: run.info.run_id });
    assert.equal(first.info.source_run_id, run.info.run_id);
    const second = await store.createLoggedModel({ experiment_id: exp });
    await store.logOutputs(run.info.run_id, [{ model_id: second.info.model_id, step: 5 }]);
    await store.logOutputs(run.info.run_id, [{ model_id: first.info.model_id, step: 0 }]);
    assert.deepEqual((await store.getRun(run.info.run_id)).outputs.model_outputs, [
      { model_id: first.info.model_id, step: 0 },
      { model_id: second.info.model_id, step: 5 },
    ]);
    const searched = await store.searchRuns({ experiment_ids: [exp] });
    assert.equal(searched.items[0].outputs.model_outputs.length, 2);
    const missing = `m-${'3'.repeat(32)}`;
    await assert.rejects(store.logOutputs(run.info.run_id, [{ model_id: missing, step: 0 }]), expectError('RESOURCE_DOES_NOT_EXIST', missing));

    const name = unique('registered');
    await store.createRegisteredModel({ name });
    const v1 = await store.createModelVersion({ name, source: `models:/${first.info.model_id}`, run_id: run.info.run_id });
    assert.equal(v1.model_id, first.info.model_id, 'read from the models:/ source');
    assert.equal(await store.getModelVersionDownloadUri(name, '1'), first.info.artifact_uri, "a models:/ version's files are the logged model's");
    const v2 = await store.createModelVersion({ name, source: `${run.info.artifact_uri}/model`, model_id: second.info.model_id });
    assert.equal(v2.model_id, second.info.model_id);
    assert.equal((await store.getModelVersion(name, '2')).model_id, second.info.model_id);
    const v3 = await store.createModelVersion({ name, source: 'file:///plain/model' });
    assert.equal(v3.model_id, undefined, 'an MLflow 2 version has no model_id');
    assert.equal(await store.getModelVersionDownloadUri(name, '3'), 'file:///plain/model');
    const v4 = await store.createModelVersion({ name, source: `models:/${first.info.model_id}/sub/dir` });
    assert.equal(await store.getModelVersionDownloadUri(name, v4.version), `${first.info.artifact_uri}/sub/dir`);
    assert.deepEqual((await store.getLoggedModel(first.info.model_id)).info.registrations, [
      { name, version: '1' },
      { name, version: '4' },
    ]);
    await assert.rejects(store.createModelVersion({ name, source: 'x', model_id: missing }), expectError('RESOURCE_DOES_NOT_EXIST', missing));
  });

  test('searchLoggedModels: name, status, metrics (latest per dataset), params, tags, source run; order_by; pages; what is not supported', async () => {
    const store = current();
    const exp = await newExperiment();
    const other = await newExperiment();
    const run = await store.createRun({ experiment_id: exp });
    const make = async (name: string, acc: number[], params: Record<string, string>, tags: Record<string, string>) => {
      const m = await store.createLoggedModel({
        experiment_id: exp,
        name,
        source_run_id: name === 'alpha' ? run.info.run_id : undefined,
        params: Object.entries(params).map(([key, value]) => ({ key, value })),
        tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
      });
      await store.logBatch(run.info.run_id, {
        metrics: acc.map((value, step) => ({ key: 'acc', value, timestamp: 100 + step, step, model_id: m.info.model_id, dataset_name: 'val' })),
      });
      return m;
    };
    const alpha = await make('alpha', [0.9, 0.4], { depth: '2' }, { stage: 'dev' }); // latest acc 0.4
    const beta = await make('beta', [0.3, 0.7], { depth: '3' }, { stage: 'prod' }); // latest acc 0.7
    const gamma = await make('gamma', [], { depth: '3' }, {});
    await store.logBatch(run.info.run_id, { metrics: [{ key: 'acc', value: 0.95, timestamp: 1, step: 0, model_id: gamma.info.model_id, dataset_name: 'test' }] });
    await store.finalizeLoggedModel(beta.info.model_id, 'LOGGED_MODEL_READY');
    await store.createLoggedModel({ experiment_id: other, name: 'elsewhere' });
    const search = (filter?: string, extra: Partial<Parameters<TrackingStore['searchLoggedModels']>[0]> = {}) =>
      store.searchLoggedModels({ experiment_ids: [exp], filter, ...extra }).then((p) => names(p.items).sort());

    assert.deepEqual(await search(), ['alpha', 'beta', 'gamma']);
    assert.deepEqual(await search("name = 'beta'"), ['beta']);
    assert.deepEqual(await search("name LIKE 'a%'"), ['alpha']);
    assert.deepEqual(await search("status = 'LOGGED_MODEL_READY'"), ['beta']);
    assert.deepEqual(await search("status = 'PENDING'"), ['alpha', 'gamma']);
    assert.deepEqual(await search('metrics.acc > 0.5'), ['beta', 'gamma'], 'the latest value counts: alpha fell to 0.4');
    assert.deepEqual(await search('metrics.acc > 0.5', { datasets: [{ dataset_name: 'val' }] }), ['beta']);
    assert.deepEqual(await search('metrics.acc < 0.5 AND params.depth = \'2\''), ['alpha']);
    assert.deepEqual(await search("params.depth = '3'"), ['beta', 'gamma']);
    assert.deepEqual(await search("tags.stage IN ('dev', 'prod')"), ['alpha', 'beta']);
    assert.deepEqual(await search(`source_run_id = '${run.info.run_id}'`), ['alpha']);
    assert.deepEqual(await search(`model_id = '${gamma.info.model_id}'`), ['gamma']);
    assert.deepEqual(names((await store.searchLoggedModels({ experiment_ids: [exp, other], filter: "name != 'alpha'" })).items).sort(), ['beta', 'elsewhere', 'gamma']);

    const byMetric = await store.searchLoggedModels({ experiment_ids: [exp], order_by: [{ field_name: 'metrics.acc', ascending: false }] });
    assert.deepEqual(names(byMetric.items), ['gamma', 'beta', 'alpha']);
    const byValMetric = await store.searchLoggedModels({ experiment_ids: [exp], order_by: [{ field_name: 'metrics.acc', dataset_name: 'val' }] });
    assert.deepEqual(names(byValMetric.items), ['alpha', 'beta', 'gamma'], 'gamma has no val value: last');
    const byName = await store.searchLoggedModels({ experiment_ids: [exp], order_by: [{ field_name: 'name', ascending: false }] });
    assert.deepEqual(names(byName.items), ['gamma', 'beta', 'alpha']);
    const newest = await store.searchLoggedModels({ experiment_ids: [exp] });
    assert.ok(newest.items[0].info.creation_timestamp_ms >= newest.items[2].info.creation_timestamp_ms, 'newest first by default');

    const p1 = await store.searchLoggedModels({ experiment_ids: [exp], order_by: [{ field_name: 'name' }], max_results: 2 });
    assert.deepEqual(names(p1.items), ['alpha', 'beta']);
    assert.ok(p1.next_page_token);
    const p2 = await store.searchLoggedModels({ experiment_ids: [exp], order_by: [{ field_name: 'name' }], max_results: 2, page_token: p1.next_page_token });
    assert.deepEqual(names(p2.items), ['gamma']);
    assert.equal(p2.next_page_token, undefined);

    await store.deleteLoggedModel(alpha.info.model_id);
    assert.deepEqual(await search(), ['beta', 'gamma'], 'deleted models are not found');

    await assert.rejects(store.searchLoggedModels({ experiment_ids: [] }), expectError('INVALID_PARAMETER_VALUE', 'experiment_ids'));
    await assert.rejects(search("datasets.name = 'val'"), expectError('INVALID_PARAMETER_VALUE', "the 'datasets' field"));
    await assert.rejects(search("metrics.acc LIKE '1%'"), expectError('INVALID_PARAMETER_VALUE', 'metric'));
    await assert.rejects(search("colour = 'red'"), expectError('INVALID_PARAMETER_VALUE', "Invalid attribute key 'colour'"));
    await assert.rejects(
      store.searchLoggedModels({ experiment_ids: [exp], order_by: [{ field_name: 'params.depth' }] }),
      expectError('INVALID_PARAMETER_VALUE', 'params and tags cannot be ordered by'),
    );
    await assert.rejects(store.searchLoggedModels({ experiment_ids: [exp], max_results: 1001 }), expectError('INVALID_PARAMETER_VALUE', 'max_results'));
  });
}
