/**
 * tracking/store/contract-classic — the part of the TrackingStore contract that covers MLflow
 * 2.0 calls every MLflow client still makes: deleting an experiment tag, runs/log-model's
 * `mlflow.log-model.history`, and model version stages (transition, archive_existing_versions,
 * latest version per stage). Called from defineContractTests (contract.ts) inside its describe,
 * so SQLite, PostgreSQL and REST all run it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectError } from './contract.js';
import { LOGGED_MODELS_TAG } from './model-history.js';
import type { Run, TrackingStore } from './types.js';
import { MAX_TAG_VAL_LENGTH } from './validation.js';

export interface ClassicContext {
  store: () => TrackingStore;
  unique: (prefix: string) => string;
  newExperiment: () => Promise<string>;
}

/** An MLmodel as MLflow 2's client sends it in runs/log-model's model_json. */
const mlmodel = (runId: string, artifactPath: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  run_id: runId,
  artifact_path: artifactPath,
  utc_time_created: '2026-01-02 03:04:05.000000',
  flavors: { python_function: { loader_module: 'mlflow.onnx', env: { conda: 'conda.yaml' }, config: { huge: 'x'.repeat(100) } }, onnx: { onnx_version: '1.17.0' } },
  model_uuid: `uuid-${artifactPath}`,
  mlflow_version: '2.22.0',
  signature: { inputs: '[]' },
  ...extra,
});

const history = (run: Run): unknown[] => JSON.parse(run.data.tags.find((t) => t.key === LOGGED_MODELS_TAG)?.value ?? 'null') as unknown[];

export function defineClassicContract({ store: current, unique, newExperiment }: ClassicContext): void {
  test('deleteExperimentTag removes one tag; an absent tag, an unknown or a deleted experiment are refused', async () => {
    const store = current();
    const exp = await newExperiment();
    await store.setExperimentTag(exp, { key: 'keep', value: '1' });
    await store.setExperimentTag(exp, { key: 'drop', value: '2' });
    await store.deleteExperimentTag(exp, 'drop');
    assert.deepEqual((await store.getExperiment(exp)).tags, [{ key: 'keep', value: '1' }]);
    await assert.rejects(store.deleteExperimentTag(exp, 'drop'), expectError('RESOURCE_DOES_NOT_EXIST', 'No tag with name: drop', exp));
    await assert.rejects(store.deleteExperimentTag('987654321', 'keep'), expectError('RESOURCE_DOES_NOT_EXIST', '987654321'));
    await store.deleteExperiment(exp);
    await assert.rejects(store.deleteExperimentTag(exp, 'keep'), expectError('INVALID_PARAMETER_VALUE', "must be in the 'active' state"));
  });

  test('recordLoggedModel appends the model summary to mlflow.log-model.history, without flavor config or extra fields', async () => {
    const store = current();
    const run = await store.createRun({ experiment_id: await newExperiment() });
    const runId = run.info.run_id;
    await store.recordLoggedModel(runId, mlmodel(runId, 'model'));
    await store.recordLoggedModel(runId, mlmodel(runId, 'better'));
    assert.deepEqual(history(await store.getRun(runId)), [
      {
        run_id: runId,
        utc_time_created: '2026-01-02 03:04:05.000000',
        artifact_path: 'model',
        model_uuid: 'uuid-model',
        flavors: { python_function: { loader_module: 'mlflow.onnx', env: { conda: 'conda.yaml' } }, onnx: { onnx_version: '1.17.0' } },
      },
      {
        run_id: runId,
        utc_time_created: '2026-01-02 03:04:05.000000',
        artifact_path: 'better',
        model_uuid: 'uuid-better',
        flavors: { python_function: { loader_module: 'mlflow.onnx', env: { conda: 'conda.yaml' } }, onnx: { onnx_version: '1.17.0' } },
      },
    ]);
  });

  test('recordLoggedModel refuses a model without a mandatory field, an unknown or deleted run, and a history past the tag limit', async () => {
    const store = current();
    const run = await store.createRun({ experiment_id: await newExperiment() });
    const runId = run.info.run_id;
    const { flavors: _dropped, ...noFlavors } = mlmodel(runId, 'model');
    await assert.rejects(store.recordLoggedModel(runId, noFlavors), expectError('INVALID_PARAMETER_VALUE', 'missing mandatory fields', 'flavors'));
    await assert.rejects(store.recordLoggedModel('0123456789abcdef0123456789abcdef', mlmodel('x', 'model')), expectError('RESOURCE_DOES_NOT_EXIST'));
    const big = mlmodel(runId, 'big', { model_uuid: 'u'.repeat(MAX_TAG_VAL_LENGTH) });
    await assert.rejects(store.recordLoggedModel(runId, big), expectError('INVALID_PARAMETER_VALUE', String(MAX_TAG_VAL_LENGTH)));
    assert.equal(history(await store.getRun(runId)), null, 'a refused call leaves no history behind');
    await store.deleteRun(runId);
    await assert.rejects(store.recordLoggedModel(runId, mlmodel(runId, 'model')), expectError('INVALID_PARAMETER_VALUE'));
  });

  test('transitionModelVersionStage moves a version (any case), archives the others on request, and latest_versions keeps one per stage', async () => {
    const store = current();
    const name = unique('staged');
    await store.createRegisteredModel({ name });
    for (const source of ['a', 'b', 'c']) await store.createModelVersion({ name, source });
    const v1 = await store.transitionModelVersionStage(name, '1', 'production', false);
    assert.equal(v1.current_stage, 'Production');
    assert.ok(v1.last_updated_timestamp >= v1.creation_timestamp);
    await store.transitionModelVersionStage(name, '2', 'Staging', false);
    assert.equal((await store.getModelVersion(name, '1')).current_stage, 'Production');
    const stages = (await store.getRegisteredModel(name)).latest_versions.map((v) => `${v.current_stage}:${v.version}`);
    assert.deepEqual(stages, ['None:3', 'Staging:2', 'Production:1']);
    // Moving 2 to Production with archive_existing_versions archives 1, which was there.
    await store.transitionModelVersionStage(name, '2', 'Production', true);
    assert.equal((await store.getModelVersion(name, '1')).current_stage, 'Archived');
    assert.equal((await store.getModelVersion(name, '3')).current_stage, 'None', 'versions in other stages stay');
    const found = await store.searchModelVersions({ filter: `name = '${name}'` });
    assert.deepEqual(found.items.map((v) => `${v.version}:${v.current_stage}`), ['3:None', '2:Production', '1:Archived']);
    assert.deepEqual((await store.getRegisteredModel(name)).latest_versions.map((v) => `${v.current_stage}:${v.version}`), ['None:3', 'Production:2', 'Archived:1']);
  });

  test('transitionModelVersionStage refuses an unknown stage, archiving into a non-active stage, and unknown versions', async () => {
    const store = current();
    const name = unique('staged');
    await store.createRegisteredModel({ name });
    await store.createModelVersion({ name, source: 'a' });
    await assert.rejects(store.transitionModelVersionStage(name, '1', 'Live', false), expectError('INVALID_PARAMETER_VALUE', 'Invalid Model Version stage: Live', 'None, Staging, Production, Archived'));
    await assert.rejects(store.transitionModelVersionStage(name, '1', 'Archived', true), expectError('INVALID_PARAMETER_VALUE', "'Archived' is not an Active stage"));
    await assert.rejects(store.transitionModelVersionStage(name, '7', 'Staging', false), expectError('RESOURCE_DOES_NOT_EXIST', `Model Version (name=${name}, version=7) not found`));
    await assert.rejects(store.transitionModelVersionStage('no-such-model', '1', 'Staging', false), expectError('RESOURCE_DOES_NOT_EXIST'));
    assert.equal((await store.getModelVersion(name, '1')).current_stage, 'None');
  });
}
