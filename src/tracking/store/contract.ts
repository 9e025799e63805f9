/**
 * tracking/store/contract — the one contract suite every TrackingStore backend must pass.
 *
 * `defineContractTests(name, open, cleanup)`: `open()` must return a store over the SAME database
 * each time it is called (the suite reopens it to check migrations are idempotent); `cleanup()`
 * runs after the suite. Tests share one database, so each uses its own unique names.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { defineClassicContract } from './contract-classic.js';
import { defineLoggedModelContract } from './contract-logged-models.js';
import { TrackingError, type TrackingErrorCode } from './errors.js';
import type { Metric, Run, TrackingStore } from './types.js';

export function expectError(code: TrackingErrorCode, ...fragments: string[]) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof TrackingError, `expected TrackingError, got ${String(err)}`);
    assert.equal(err.errorCode, code, `wrong code for: ${err.message}`);
    for (const f of fragments) assert.ok(err.message.includes(f), `message lacks ${JSON.stringify(f)}:\n${err.message}`);
    return true;
  };
}

let counter = 0;
const unique = (prefix: string): string => `${prefix}-${process.pid}-${Date.now()}-${++counter}`;

const metric = (key: string, value: number, step = 0, timestamp = 1000): Metric => ({ key, value, step, timestamp });

export interface ContractOptions {
  /**
   * The store is reached through MLflow's JSON wire (a RestStore): an empty required string is
   * "missing" there, and protobuf's JSON mapping accepts a numeric string for a double — the two
   * places where the wire, not the store, decides.
   */
  overHttp?: boolean;
}

export function defineContractTests(
  name: string,
  open: () => Promise<TrackingStore>,
  cleanup: () => Promise<void> = async () => undefined,
  options: ContractOptions = {},
): void {
  describe(`TrackingStore contract: ${name}`, () => {
    let store: TrackingStore;

    before(async () => {
      store = await open();
    });

    after(async () => {
      await store?.close();
      await cleanup();
    });

    const newExperiment = async (tags?: { key: string; value: string }[]) => store.createExperiment({ name: unique('exp'), tags });

    // ------------------------------------------------------------ experiments

    test('default experiment "0" exists and migrations are idempotent (open twice)', async () => {
      const def = await store.getExperiment('0');
      assert.equal(def.name, 'Default');
      assert.equal(def.lifecycle_stage, 'active');
      assert.match(def.artifact_location, /\/0$/);
      const id = await newExperiment();
      const second = await open();
      try {
        assert.equal((await second.getExperiment(id)).experiment_id, id);
        assert.equal((await second.getExperimentByName('Default')).experiment_id, '0');
        const defaults = await second.searchExperiments({ filter: "name = 'Default'", view_type: 'ALL' });
        assert.equal(defaults.items.length, 1);
      } finally {
        await second.close();
      }
    });

    test('experiments: create, get, get by name, tags, duplicates, validation, unknown ids', async () => {
      const name = unique('exp');
      const id = await store.createExperiment({ name, tags: [{ key: 'team', value: 'vision' }] });
      assert.match(id, /^\d+$/);
      const exp = await store.getExperiment(id);
      assert.equal(exp.name, name);
      assert.equal(exp.lifecycle_stage, 'active');
      assert.ok(exp.artifact_location.endsWith(`/${id}`), exp.artifact_location);
      assert.deepEqual(exp.tags, [{ key: 'team', value: 'vision' }]);
      assert.ok(exp.creation_time > 0 && exp.last_update_time >= exp.creation_time);
      assert.equal((await store.getExperimentByName(name)).experiment_id, id);
      // A server accepts only locations it owns (tracking/server/artifact-location.ts); a store takes any.
      const location = options.overHttp ? 'mlflow-artifacts:/custom' : '/data/custom';
      const custom = await store.createExperiment({ name: unique('exp'), artifact_location: location });
      assert.equal((await store.getExperiment(custom)).artifact_location, location);

      await assert.rejects(store.createExperiment({ name }), expectError('RESOURCE_ALREADY_EXISTS', `Experiment(name=${name}) already exists`));
      await assert.rejects(
        store.createExperiment({ name: '' }),
        expectError('INVALID_PARAMETER_VALUE', options.overHttp ? "Missing value for required parameter 'name'" : 'Invalid experiment name'),
      );
      await assert.rejects(store.getExperiment('987654321'), expectError('RESOURCE_DOES_NOT_EXIST', 'No Experiment with id=987654321 exists'));
      await assert.rejects(store.getExperiment('not-a-number'), expectError('RESOURCE_DOES_NOT_EXIST', 'No Experiment with id=not-a-number exists'));
      await assert.rejects(store.getExperimentByName('no-such-experiment'), expectError('RESOURCE_DOES_NOT_EXIST', "Could not find experiment with name 'no-such-experiment'"));

      await store.setExperimentTag(id, { key: 'team', value: 'nlp' });
      await store.setExperimentTag(id, { key: 'owner', value: 'ada' });
      assert.deepEqual((await store.getExperiment(id)).tags, [
        { key: 'owner', value: 'ada' },
        { key: 'team', value: 'nlp' },
      ]);
      await assert.rejects(store.setExperimentTag('987654321', { key: 'a', value: 'b' }), expectError('RESOURCE_DOES_NOT_EXIST'));
    });

    test('experiments: rename, delete/restore (cascading to runs), view types', async () => {
      const id = await newExperiment();
      const other = unique('exp');
      await store.createExperiment({ name: other });
      const renamed = unique('renamed');
      await store.renameExperiment(id, renamed);
      assert.equal((await store.getExperiment(id)).name, renamed);
      await assert.rejects(store.renameExperiment(id, other), expectError('RESOURCE_ALREADY_EXISTS'));
      await assert.rejects(store.renameExperiment(id, ''), expectError('INVALID_PARAMETER_VALUE'));

      const run = await store.createRun({ experiment_id: id });
      await store.deleteExperiment(id);
      assert.equal((await store.getExperiment(id)).lifecycle_stage, 'deleted');
      assert.equal((await store.getRun(run.info.run_id)).info.lifecycle_stage, 'deleted');
      await assert.rejects(store.deleteExperiment(id), expectError('RESOURCE_DOES_NOT_EXIST'));
      await assert.rejects(store.renameExperiment(id, unique('x')), expectError('INVALID_PARAMETER_VALUE', 'non-active'));
      await assert.rejects(store.setExperimentTag(id, { key: 'a', value: 'b' }), expectError('INVALID_PARAMETER_VALUE', "must be in the 'active' state"));
      await assert.rejects(store.createRun({ experiment_id: id }), expectError('INVALID_PARAMETER_VALUE', 'non-active experiment'));

      const filter = `name = '${renamed}'`;
      assert.equal((await store.searchExperiments({ filter })).items.length, 0);
      assert.equal((await store.searchExperiments({ filter, view_type: 'DELETED_ONLY' })).items.length, 1);
      assert.equal((await store.searchExperiments({ filter, view_type: 'ALL' })).items.length, 1);

      await store.restoreExperiment(id);
      assert.equal((await store.getExperiment(id)).lifecycle_stage, 'active');
      assert.equal((await store.getRun(run.info.run_id)).info.lifecycle_stage, 'active');
      await assert.rejects(store.restoreExperiment(id), expectError('INVALID_PARAMETER_VALUE', 'Cannot restore an active experiment'));
      await assert.rejects(store.deleteExperiment('987654321'), expectError('RESOURCE_DOES_NOT_EXIST'));
    });

    test('searchExperiments: filter by name/tags/attributes, order_by, pagination', async () => {
      const prefix = unique('search-exp');
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        ids.push(await store.createExperiment({ name: `${prefix}-${i}`, tags: [{ key: 'parity', value: i % 2 === 0 ? 'even' : 'odd' }] }));
      }
      const like = `name LIKE '${prefix}-%'`;
      const all = await store.searchExperiments({ filter: like });
      assert.equal(all.items.length, 5);
      assert.equal(all.next_page_token, undefined);
      // Default order: newest first (creation_time DESC, then id).
      const byName = await store.searchExperiments({ filter: like, order_by: ['name ASC'] });
      assert.deepEqual(byName.items.map((e) => e.name), [0, 1, 2, 3, 4].map((i) => `${prefix}-${i}`));
      const desc = await store.searchExperiments({ filter: like, order_by: ['attributes.name DESC'] });
      assert.equal(desc.items[0].name, `${prefix}-4`);
      const even = await store.searchExperiments({ filter: `${like} AND tags.parity = 'even'`, order_by: ['name'] });
      assert.deepEqual(even.items.map((e) => e.experiment_id), [ids[0], ids[2], ids[4]]);
      const ilike = await store.searchExperiments({ filter: `name ILIKE '${prefix.toUpperCase()}-%'` });
      assert.equal(ilike.items.length, 5);
      const recent = await store.searchExperiments({ filter: `${like} AND creation_time >= 0` });
      assert.equal(recent.items.length, 5);

      const p1 = await store.searchExperiments({ filter: like, order_by: ['name'], max_results: 2 });
      assert.equal(p1.items.length, 2);
      assert.ok(p1.next_page_token);
      const p2 = await store.searchExperiments({ filter: like, order_by: ['name'], max_results: 2, page_token: p1.next_page_token });
      const p3 = await store.searchExperiments({ filter: like, order_by: ['name'], max_results: 2, page_token: p2.next_page_token });
      assert.equal(p3.items.length, 1);
      assert.equal(p3.next_page_token, undefined);
      assert.deepEqual([...p1.items, ...p2.items, ...p3.items].map((e) => e.name), byName.items.map((e) => e.name));
      await assert.rejects(store.searchExperiments({ filter: 'metrics.x > 1' }), expectError('INVALID_PARAMETER_VALUE'));
      await assert.rejects(store.searchExperiments({ max_results: 50001 }), expectError('INVALID_PARAMETER_VALUE', 'max_results'));
    });

    // ------------------------------------------------------------ runs

    test('runs: create, get, update, names, tags, parent, delete/restore, deleteTag', async () => {
      const exp = await newExperiment();
      const expInfo = await store.getExperiment(exp);
      const parent = await store.createRun({ experiment_id: exp, user_id: 'ada', start_time: 1234, run_name: 'parent-run' });
      assert.match(parent.info.run_id, /^[0-9a-f]{32}$/);
      assert.equal(parent.info.run_uuid, parent.info.run_id);
      assert.equal(parent.info.run_name, 'parent-run');
      assert.equal(parent.info.status, 'RUNNING');
      assert.equal(parent.info.start_time, 1234);
      assert.equal(parent.info.user_id, 'ada');
      assert.equal(parent.info.end_time, undefined);
      assert.equal(parent.info.artifact_uri, `${expInfo.artifact_location}/${parent.info.run_id}/artifacts`);
      assert.deepEqual(parent.data.tags, [{ key: 'mlflow.runName', value: 'parent-run' }]);
      assert.deepEqual(parent.inputs, { dataset_inputs: [] });

      const child = await store.createRun({ experiment_id: exp, tags: [{ key: 'mlflow.parentRunId', value: parent.info.run_id }] });
      assert.match(child.info.run_name, /^[a-z]+-[a-z]+-\d+$/);
      const fetched = await store.getRun(child.info.run_id);
      assert.ok(fetched.data.tags.some((t) => t.key === 'mlflow.parentRunId' && t.value === parent.info.run_id));
      const children = await store.searchRuns({ experiment_ids: [exp], filter: `tags.mlflow.parentRunId = '${parent.info.run_id}'` });
      assert.deepEqual(children.items.map((r) => r.info.run_id), [child.info.run_id]);

      await assert.rejects(store.createRun({ experiment_id: '987654321' }), expectError('RESOURCE_DOES_NOT_EXIST', 'No Experiment with id=987654321'));
      await assert.rejects(
        store.createRun({ experiment_id: exp, run_name: 'a', tags: [{ key: 'mlflow.runName', value: 'b' }] }),
        expectError('INVALID_PARAMETER_VALUE', 'run_name'),
      );
      // The name is the mlflow.runName tag: it obeys the tag value limit, whichever way it arrives.
      await assert.rejects(store.createRun({ experiment_id: exp, run_name: 'n'.repeat(8001) }), expectError('INVALID_PARAMETER_VALUE', 'length limit of 8000'));
      await assert.rejects(store.updateRun(parent.info.run_id, { run_name: 'n'.repeat(8001) }), expectError('INVALID_PARAMETER_VALUE', 'length limit of 8000'));
      await assert.rejects(store.getRun('0'.repeat(32)), expectError('RESOURCE_DOES_NOT_EXIST', `Run with id=${'0'.repeat(32)} not found`));

      const info = await store.updateRun(parent.info.run_id, { status: 'FINISHED', end_time: 5678, run_name: 'renamed' });
      assert.equal(info.status, 'FINISHED');
      assert.equal(info.end_time, 5678);
      assert.equal(info.run_name, 'renamed');
      const updated = await store.getRun(parent.info.run_id);
      assert.equal(updated.info.run_name, 'renamed');
      assert.ok(updated.data.tags.some((t) => t.key === 'mlflow.runName' && t.value === 'renamed'));
      await assert.rejects(store.updateRun(parent.info.run_id, { status: 'BOGUS' as never }), expectError('INVALID_PARAMETER_VALUE'));
      // Logging to a FINISHED run is allowed (MLflow allows it).
      await store.logBatch(parent.info.run_id, { metrics: [metric('late', 1)] });
      // Setting the mlflow.runName tag renames the run.
      await store.logBatch(parent.info.run_id, { tags: [{ key: 'mlflow.runName', value: 'by-tag' }] });
      assert.equal((await store.getRun(parent.info.run_id)).info.run_name, 'by-tag');

      await store.logBatch(child.info.run_id, { tags: [{ key: 'keep', value: '1' }, { key: 'drop', value: '2' }] });
      await store.logBatch(child.info.run_id, { tags: [{ key: 'keep', value: 'overwritten' }] });
      await store.deleteTag(child.info.run_id, 'drop');
      const tags = (await store.getRun(child.info.run_id)).data.tags;
      assert.ok(tags.some((t) => t.key === 'keep' && t.value === 'overwritten'));
      assert.ok(!tags.some((t) => t.key === 'drop'));
      await assert.rejects(store.deleteTag(child.info.run_id, 'drop'), expectError('RESOURCE_DOES_NOT_EXIST', 'No tag with name: drop'));

      await store.deleteRun(child.info.run_id);
      assert.equal((await store.getRun(child.info.run_id)).info.lifecycle_stage, 'deleted');
      await assert.rejects(
        store.logBatch(child.info.run_id, { metrics: [metric('m', 1)] }),
        expectError('INVALID_PARAMETER_VALUE', `The run ${child.info.run_id} must be in the 'active' state`),
      );
      await assert.rejects(store.updateRun(child.info.run_id, { status: 'FAILED' }), expectError('INVALID_PARAMETER_VALUE', "'active' state"));
      await assert.rejects(store.deleteTag(child.info.run_id, 'keep'), expectError('INVALID_PARAMETER_VALUE'));
      await assert.rejects(store.logInputs(child.info.run_id, []), expectError('INVALID_PARAMETER_VALUE'));
      const active = await store.searchRuns({ experiment_ids: [exp] });
      assert.deepEqual(active.items.map((r) => r.info.run_id), [parent.info.run_id]);
      const deleted = await store.searchRuns({ experiment_ids: [exp], run_view_type: 'DELETED_ONLY' });
      assert.deepEqual(deleted.items.map((r) => r.info.run_id), [child.info.run_id]);
      assert.equal((await store.searchRuns({ experiment_ids: [exp], run_view_type: 'ALL' })).items.length, 2);
      await store.restoreRun(child.info.run_id);
      assert.equal((await store.getRun(child.info.run_id)).info.lifecycle_stage, 'active');
      await assert.rejects(store.deleteRun('f'.repeat(32)), expectError('RESOURCE_DOES_NOT_EXIST'));
      await assert.rejects(store.restoreRun('f'.repeat(32)), expectError('RESOURCE_DOES_NOT_EXIST'));
    });

    test('params are immutable: same value is fine, a different one is INVALID_PARAMETER_VALUE naming key, old and new', async () => {
      const run = await store.createRun({ experiment_id: await newExperiment() });
      const id = run.info.run_id;
      await store.logBatch(id, { params: [{ key: 'lr', value: '0.001' }, { key: 'layers', value: '3' }] });
      await store.logBatch(id, { params: [{ key: 'lr', value: '0.001' }] });
      await assert.rejects(
        store.logBatch(id, { params: [{ key: 'lr', value: '0.01' }], metrics: [metric('loss', 1)] }),
        expectError('INVALID_PARAMETER_VALUE', 'lr', '0.001', '0.01', 'Changing param values is not allowed'),
      );
      // The failed batch wrote nothing (one transaction).
      assert.deepEqual((await store.getRun(id)).data.metrics, []);
      await assert.rejects(
        store.logBatch(id, { params: [{ key: 'opt', value: 'adam' }, { key: 'opt', value: 'sgd' }] }),
        expectError('INVALID_PARAMETER_VALUE', 'Duplicate parameter keys'),
      );
      assert.deepEqual((await store.getRun(id)).data.params, [
        { key: 'layers', value: '3' },
        { key: 'lr', value: '0.001' },
      ]);
      await assert.rejects(store.logBatch(id, { params: [{ key: 'k'.repeat(251), value: 'v' }] }), expectError('INVALID_PARAMETER_VALUE', 'length limit of 250'));
      await assert.rejects(store.logBatch(id, { params: [{ key: 'big', value: 'v'.repeat(6001) }] }), expectError('INVALID_PARAMETER_VALUE', 'length limit of 6000'));
      await store.logBatch(id, { params: [{ key: 'ok', value: 'v'.repeat(6000) }] });
      await assert.rejects(store.logBatch(id, { params: [{ key: 'bad!name', value: 'v' }] }), expectError('INVALID_PARAMETER_VALUE', 'Invalid parameter name'));
      await assert.rejects(store.logBatch(id, { params: [{ key: '../escape', value: 'v' }] }), expectError('INVALID_PARAMETER_VALUE'));
    });

    test('logBatch validation: limits, metric values, tag lengths, unknown run', async () => {
      const id = (await store.createRun({ experiment_id: await newExperiment() })).info.run_id;
      const metrics = Array.from({ length: 1001 }, (_, i) => metric('m', i, i));
      await assert.rejects(store.logBatch(id, { metrics }), expectError('INVALID_PARAMETER_VALUE', 'at most 1000 metrics'));
      const params = Array.from({ length: 101 }, (_, i) => ({ key: `p${i}`, value: '1' }));
      await assert.rejects(store.logBatch(id, { params }), expectError('INVALID_PARAMETER_VALUE', 'at most 100 params'));
      const tags = Array.from({ length: 101 }, (_, i) => ({ key: `t${i}`, value: '1' }));
      await assert.rejects(store.logBatch(id, { tags }), expectError('INVALID_PARAMETER_VALUE', 'at most 100 tags'));
      await assert.rejects(
        store.logBatch(id, { metrics: metrics.slice(0, 1000), params: params.slice(0, 1) }),
        expectError('INVALID_PARAMETER_VALUE', 'at most 1000'),
      );
      await store.logBatch(id, { metrics: metrics.slice(0, 1000) });
      const notADouble = options.overHttp ? 'one' : '1';
      await assert.rejects(
        store.logBatch(id, { metrics: [{ key: 'm', value: notADouble as unknown as number, timestamp: 1, step: 0 }] }),
        expectError('INVALID_PARAMETER_VALUE', options.overHttp ? "Invalid value for parameter 'metrics[0].value'" : 'valid double'),
      );
      await assert.rejects(store.logBatch(id, { metrics: [{ key: 'm', value: 1, timestamp: 1.5, step: 0 }] }), expectError('INVALID_PARAMETER_VALUE', 'timestamp'));
      await assert.rejects(store.logBatch(id, { metrics: [{ key: 'm', value: 1, timestamp: -1, step: 0 }] }), expectError('INVALID_PARAMETER_VALUE', 'Timestamp must be a nonnegative'));
      await assert.rejects(store.logBatch(id, { tags: [{ key: 't', value: 'x'.repeat(8001) }] }), expectError('INVALID_PARAMETER_VALUE', 'length limit of 8000'));
      await store.logBatch(id, { tags: [{ key: 't', value: 'x'.repeat(8000) }] });
      await assert.rejects(store.logBatch('e'.repeat(32), { metrics: [metric('m', 1)] }), expectError('RESOURCE_DOES_NOT_EXIST', `Run with id=${'e'.repeat(32)} not found`));
      await store.logBatch(id, {});
    });

    test('latest metric: max step, then max timestamp, then max value; NaN and ±Infinity round-trip', async () => {
      const id = (await store.createRun({ experiment_id: await newExperiment() })).info.run_id;
      await store.logBatch(id, { metrics: [metric('a', 1, 5, 100), metric('a', 2, 3, 999)] });
      await store.logBatch(id, { metrics: [metric('a', 0.5, 4, 5000)] }); // older step: ignored
      await store.logBatch(id, { metrics: [metric('b', 1, 2, 100)] });
      await store.logBatch(id, { metrics: [metric('b', 0, 2, 200)] }); // same step, later timestamp wins
      await store.logBatch(id, { metrics: [metric('c', 1, 2, 100), metric('c', 7, 2, 100), metric('c', 3, 2, 100)] }); // max value
      await store.logBatch(id, { metrics: [metric('c', 5, 2, 100)] });
      await store.logBatch(id, { metrics: [metric('nan', 1, 0), metric('nan', NaN, 1)] });
      await store.logBatch(id, { metrics: [metric('inf', Infinity, 0), metric('ninf', -Infinity, 0)] });
      const latest = Object.fromEntries((await store.getRun(id)).data.metrics.map((m) => [m.key, m]));
      assert.deepEqual(latest.a, metric('a', 1, 5, 100));
      assert.deepEqual(latest.b, metric('b', 0, 2, 200));
      assert.deepEqual(latest.c, metric('c', 7, 2, 100));
      assert.ok(Number.isNaN(latest.nan.value));
      assert.equal(latest.nan.step, 1);
      assert.equal(latest.inf.value, Infinity);
      assert.equal(latest.ninf.value, -Infinity);
      const history = (await store.getMetricHistory(id, 'nan')).items;
      assert.equal(history.length, 2);
      assert.equal(history[0].value, 1);
      assert.ok(Number.isNaN(history[1].value));
      assert.equal((await store.getMetricHistory(id, 'inf')).items[0].value, Infinity);
      assert.equal((await store.getMetricHistory(id, 'ninf')).items[0].value, -Infinity);
      // Search sees Infinity and skips NaN for comparisons.
      assert.equal((await store.searchRuns({ experiment_ids: [(await store.getRun(id)).info.experiment_id], filter: 'metrics.inf > 1e308' })).items.length, 1);
      assert.equal((await store.searchRuns({ experiment_ids: [(await store.getRun(id)).info.experiment_id], filter: 'metrics.nan >= 0' })).items.length, 0);
    });

    test('getMetricHistory: full history in (step, timestamp) order, paginated when max_results is given', async () => {
      const id = (await store.createRun({ experiment_id: await newExperiment() })).info.run_id;
      const points = Array.from({ length: 25 }, (_, i) => metric('loss', 1 / (i + 1), 24 - i, 1000 + i));
      await store.logBatch(id, { metrics: points.slice(0, 10) });
      await store.logBatch(id, { metrics: points.slice(10) });
      const all = await store.getMetricHistory(id, 'loss');
      assert.equal(all.items.length, 25);
      assert.equal(all.next_page_token, undefined);
      assert.deepEqual(all.items.map((m) => m.step), Array.from({ length: 25 }, (_, i) => i));
      const pages: Metric[] = [];
      let token: string | undefined;
      let count = 0;
      do {
        const page = await store.getMetricHistory(id, 'loss', { max_results: 10, page_token: token });
        pages.push(...page.items);
        token = page.next_page_token;
        count++;
      } while (token);
      assert.equal(count, 3);
      assert.deepEqual(pages, all.items);
      assert.deepEqual((await store.getMetricHistory(id, 'absent')).items, []);
      await assert.rejects(store.getMetricHistory('d'.repeat(32), 'loss'), expectError('RESOURCE_DOES_NOT_EXIST'));
      await assert.rejects(store.getMetricHistory(id, 'loss', { page_token: 'not a token!' }), expectError('INVALID_PARAMETER_VALUE', 'page token'));
    });

    test('an identical metric point logged twice (a retried batch) is stored once; a different value at the same step is kept', async () => {
      const id = (await store.createRun({ experiment_id: await newExperiment() })).info.run_id;
      const batch = [metric('acc', 0.5, 1, 1000), metric('acc', 0.6, 2, 2000)];
      await store.logBatch(id, { metrics: batch });
      await store.logBatch(id, { metrics: batch });
      await store.logBatch(id, { metrics: [metric('acc', 0.55, 1, 1000)] });
      assert.deepEqual(
        (await store.getMetricHistory(id, 'acc')).items.map((m) => [m.step, m.value]),
        [
          [1, 0.5],
          [1, 0.55],
          [2, 0.6],
        ],
      );
    });

    test('logInputs: datasets deduplicated by name+digest per experiment, input tags', async () => {
      const exp = await newExperiment();
      const r1 = (await store.createRun({ experiment_id: exp })).info.run_id;
      const r2 = (await store.createRun({ experiment_id: exp })).info.run_id;
      const dataset = { name: 'mnist', digest: 'abc123', source_type: 'local', source: '/data/mnist', schema: '{"x":1}', profile: '{"rows":10}' };
      await store.logInputs(r1, [{ tags: [{ key: 'mlflow.data.context', value: 'train' }], dataset }]);
      await store.logInputs(r1, [{ tags: [{ key: 'mlflow.data.context', value: 'train' }], dataset }]);
      await store.logInputs(r2, [{ tags: [], dataset: { ...dataset, source: 'ignored-on-dedupe' } }, { tags: [], dataset: { name: 'mnist', digest: 'def456', source_type: 'local', source: '/data/b' } }]);
      const run1 = await store.getRun(r1);
      assert.deepEqual(run1.inputs.dataset_inputs, [{ tags: [{ key: 'mlflow.data.context', value: 'train' }], dataset }]);
      const run2 = await store.getRun(r2);
      assert.equal(run2.inputs.dataset_inputs.length, 2);
      assert.equal(run2.inputs.dataset_inputs[0].dataset.source, '/data/mnist');
      assert.equal(run2.inputs.dataset_inputs[1].dataset.digest, 'def456');
      const byDataset = await store.searchRuns({ experiment_ids: [exp], filter: "datasets.digest = 'def456'" });
      assert.deepEqual(byDataset.items.map((r) => r.info.run_id), [r2]);
      const byContext = await store.searchRuns({ experiment_ids: [exp], filter: "datasets.context = 'train'" });
      assert.deepEqual(byContext.items.map((r) => r.info.run_id), [r1]);
      await assert.rejects(store.logInputs(r1, [{ tags: [], dataset: { ...dataset, digest: '' } }]), expectError('INVALID_PARAMETER_VALUE', 'digest'));
    });

    // ------------------------------------------------------------ run search

    describe('searchRuns', () => {
      let exp: string;
      let runs: Run[];
      const ids = (page: { items: Run[] }) => page.items.map((r) => r.info.run_name);

      before(async () => {
        exp = await newExperiment();
        runs = [];
        const specs = [
          { name: 'alpha', acc: 0.9, loss: 0.1, lr: '0.001', opt: 'adam', stage: 'prod', start: 1000 },
          { name: 'beta', acc: 0.6, loss: 0.4, lr: '0.01', opt: 'sgd', stage: 'dev', start: 2000 },
          { name: 'gamma', acc: 0.3, loss: 0.7, lr: '0.001', opt: 'SGD', stage: 'dev', start: 3000 },
          { name: 'delta', acc: null, loss: 0.9, lr: '0.1', opt: 'adamw', stage: 'Prod', start: 4000 },
        ];
        for (const s of specs) {
          const run = await store.createRun({ experiment_id: exp, run_name: s.name, start_time: s.start, user_id: s.name === 'alpha' ? 'ada' : 'bob' });
          const metrics = [metric('loss', s.loss)];
          if (s.acc !== null) metrics.push(metric('val acc', s.acc), metric('val_acc', s.acc));
          await store.logBatch(run.info.run_id, {
            metrics,
            params: [
              { key: 'lr', value: s.lr },
              { key: 'optimizer', value: s.opt },
            ],
            tags: [{ key: 'stage', value: s.stage }],
          });
          runs.push(run);
        }
        await store.updateRun(runs[0].info.run_id, { status: 'FINISHED', end_time: 1500 });
      });

      const search = (filter: string, order_by?: string[]) => store.searchRuns({ experiment_ids: [exp], filter, order_by: order_by ?? ['attributes.start_time ASC'] });

      test('metric comparators', async () => {
        assert.deepEqual(ids(await search('metrics.val_acc > 0.5')), ['alpha', 'beta']);
        assert.deepEqual(ids(await search('metrics.val_acc >= 0.6')), ['alpha', 'beta']);
        assert.deepEqual(ids(await search('metrics.val_acc < 0.6')), ['gamma']);
        assert.deepEqual(ids(await search('metrics.val_acc <= 0.6')), ['beta', 'gamma']);
        assert.deepEqual(ids(await search('metrics.val_acc = 0.9')), ['alpha']);
        assert.deepEqual(ids(await search('metrics.val_acc != 0.9')), ['beta', 'gamma']);
        assert.deepEqual(ids(await search('metric.loss > 0.5')), ['gamma', 'delta']);
        assert.deepEqual(ids(await search('metrics.`val acc` > 0.5')), ['alpha', 'beta']);
        assert.deepEqual(ids(await search('metrics."val acc" > 0.5')), ['alpha', 'beta']);
        assert.deepEqual(ids(await search('metrics.loss>-1')), ['alpha', 'beta', 'gamma', 'delta']);
      });

      test('param and tag comparators, LIKE/ILIKE, IN/NOT IN', async () => {
        assert.deepEqual(ids(await search("params.lr = '0.001'")), ['alpha', 'gamma']);
        assert.deepEqual(ids(await search('params.lr = "0.001"')), ['alpha', 'gamma']);
        assert.deepEqual(ids(await search("params.lr != '0.001'")), ['beta', 'delta']);
        assert.deepEqual(ids(await search("params.optimizer LIKE 'adam%'")), ['alpha', 'delta']);
        assert.deepEqual(ids(await search("params.optimizer LIKE 'sgd'")), ['beta']);
        assert.deepEqual(ids(await search("params.optimizer ILIKE 'sgd'")), ['beta', 'gamma']);
        assert.deepEqual(ids(await search("params.optimizer like 'a_am'")), ['alpha']);
        assert.deepEqual(ids(await search("params.lr IN ('0.01', '0.1')")), ['beta', 'delta']);
        assert.deepEqual(ids(await search("params.lr NOT IN ('0.01', '0.1')")), ['alpha', 'gamma']);
        assert.deepEqual(ids(await search("tags.stage = 'dev'")), ['beta', 'gamma']);
        assert.deepEqual(ids(await search("tags.stage LIKE 'prod'")), ['alpha']);
        assert.deepEqual(ids(await search("tags.stage ILIKE 'PROD'")), ['alpha', 'delta']);
        assert.deepEqual(ids(await search("tags.stage IN ('prod', 'Prod')")), ['alpha', 'delta']);
        assert.deepEqual(ids(await search("tag.stage != 'dev'")), ['alpha', 'delta']);
        assert.deepEqual(ids(await search("params.missing = 'x'")), []);
      });

      test('attributes, bare names and AND', async () => {
        assert.deepEqual(ids(await search("attributes.run_name = 'beta'")), ['beta']);
        assert.deepEqual(ids(await search("run_name LIKE '%ta'")), ['beta', 'delta']);
        assert.deepEqual(ids(await search("attributes.status = 'FINISHED'")), ['alpha']);
        assert.deepEqual(ids(await search("status != 'FINISHED'")), ['beta', 'gamma', 'delta']);
        assert.deepEqual(ids(await search("attributes.user_id = 'ada'")), ['alpha']);
        assert.deepEqual(ids(await search('attributes.start_time >= 2000 AND attributes.start_time < 4000')), ['beta', 'gamma']);
        assert.deepEqual(ids(await search('end_time <= 1500')), ['alpha']);
        assert.deepEqual(ids(await search(`attributes.run_id IN ('${runs[1].info.run_id}', '${runs[3].info.run_id}')`)), ['beta', 'delta']);
        assert.deepEqual(ids(await search(`run_id = '${runs[2].info.run_id}'`)), ['gamma']);
        assert.deepEqual(ids(await search("attributes.artifact_uri LIKE '%/artifacts'")).length, 4);
        assert.deepEqual(ids(await search("lifecycle_stage = 'active'")).length, 4);
        assert.deepEqual(ids(await search("metrics.val_acc > 0.5 and params.lr = '0.001'")), ['alpha']);
        assert.deepEqual(ids(await search("metrics.loss < 1 AND tags.stage = 'dev' AND params.optimizer ILIKE 's%'")), ['beta', 'gamma']);
      });

      test('syntax and semantic errors are INVALID_PARAMETER_VALUE with positions', async () => {
        await assert.rejects(search('metrics.acc >'), expectError('INVALID_PARAMETER_VALUE', 'position 13'));
        await assert.rejects(search('metrics.acc ~ 1'), expectError('INVALID_PARAMETER_VALUE', 'position 12'));
        await assert.rejects(search("params.lr = '0.1' OR params.lr = '0.2'"), expectError('INVALID_PARAMETER_VALUE', 'OR', 'position 18'));
        await assert.rejects(search("params.lr = 'unterminated"), expectError('INVALID_PARAMETER_VALUE', 'unterminated'));
        await assert.rejects(search('foo.bar = 1'), expectError('INVALID_PARAMETER_VALUE', "invalid entity type 'foo'"));
        await assert.rejects(search('params.lr = 0.1'), expectError('INVALID_PARAMETER_VALUE', 'not quoted'));
        await assert.rejects(search("metrics.acc = 'high'"), expectError('INVALID_PARAMETER_VALUE', 'numeric'));
        await assert.rejects(search("metrics.acc LIKE '1'"), expectError('INVALID_PARAMETER_VALUE', "Invalid comparator 'LIKE'"));
        await assert.rejects(search("params.lr > '1'"), expectError('INVALID_PARAMETER_VALUE', "Invalid comparator '>'"));
        await assert.rejects(search("attributes.nope = 'x'"), expectError('INVALID_PARAMETER_VALUE', "Invalid attribute key 'nope'"));
        await assert.rejects(search("params.lr IN '0.1'"), expectError('INVALID_PARAMETER_VALUE', "'('"));
        await assert.rejects(search("params.lr = '1' params.x = '2'"), expectError('INVALID_PARAMETER_VALUE', 'expected AND'));
        await assert.rejects(search("params.lr = '1'", ['metrics.acc SIDEWAYS']), expectError('INVALID_PARAMETER_VALUE', 'order_by'));
        // Values travel as parameters: quotes inside a value are just characters.
        assert.deepEqual(ids(await search(`params.lr = "x' OR '1'='1"`)), []);
      });

      test('order_by metrics/params/attributes; runs missing the metric go last; default order', async () => {
        assert.deepEqual(ids(await search('', ['metrics.val_acc DESC'])), ['alpha', 'beta', 'gamma', 'delta']);
        assert.deepEqual(ids(await search('', ['metrics.val_acc ASC'])), ['gamma', 'beta', 'alpha', 'delta']);
        assert.deepEqual(ids(await search('', ['metrics.`val acc`'])), ['gamma', 'beta', 'alpha', 'delta']);
        assert.deepEqual(ids(await search('', ['params.lr DESC', 'attributes.run_name'])), ['delta', 'beta', 'alpha', 'gamma']);
        assert.deepEqual(ids(await search('', ['tags.stage', 'start_time DESC'])), ['delta', 'gamma', 'beta', 'alpha']);
        assert.deepEqual(ids(await search('', ['attributes.run_name DESC'])), ['gamma', 'delta', 'beta', 'alpha']);
        assert.deepEqual(ids(await store.searchRuns({ experiment_ids: [exp] })), ['delta', 'gamma', 'beta', 'alpha']);
        const full = (await search("run_name = 'alpha'")).items[0];
        assert.deepEqual(full.data.params, [
          { key: 'lr', value: '0.001' },
          { key: 'optimizer', value: 'adam' },
        ]);
        assert.equal(full.data.metrics.length, 3);
        assert.ok(full.data.tags.some((t) => t.key === 'stage'));
      });

      test('pagination with opaque tokens; last page has no token; bad tokens and max_results rejected', async () => {
        const seen: string[] = [];
        let token: string | undefined;
        let pages = 0;
        do {
          const page = await store.searchRuns({ experiment_ids: [exp], max_results: 3, page_token: token, order_by: ['metrics.loss'] });
          seen.push(...ids(page));
          token = page.next_page_token;
          pages++;
        } while (token);
        assert.equal(pages, 2);
        assert.deepEqual(seen, ['alpha', 'beta', 'gamma', 'delta']);
        const exact = await store.searchRuns({ experiment_ids: [exp], max_results: 4 });
        assert.equal(exact.next_page_token, undefined);
        await assert.rejects(store.searchRuns({ experiment_ids: [exp], page_token: '%%%' }), expectError('INVALID_PARAMETER_VALUE', 'Invalid page token'));
        const wrong = Buffer.from(JSON.stringify({ offset: -3 })).toString('base64');
        await assert.rejects(store.searchRuns({ experiment_ids: [exp], page_token: wrong }), expectError('INVALID_PARAMETER_VALUE', 'Invalid page token'));
        await assert.rejects(store.searchRuns({ experiment_ids: [exp], max_results: 50001 }), expectError('INVALID_PARAMETER_VALUE', 'at most 50000'));
        await assert.rejects(store.searchRuns({ experiment_ids: [exp], max_results: 0 }), expectError('INVALID_PARAMETER_VALUE', 'max_results'));
        assert.equal((await store.searchRuns({ experiment_ids: [exp], max_results: 50000 })).items.length, 4);
        assert.deepEqual((await store.searchRuns({ experiment_ids: [] })).items, []);
        assert.ok((await store.searchRuns({ experiment_ids: [exp, '0'] })).items.length >= 4);
      });
    });

    // ------------------------------------------------------------ registry

    test('registered models: create, get, duplicates, update, tags, rename cascade, delete', async () => {
      const name = unique('model');
      const created = await store.createRegisteredModel({ name, description: 'first', tags: [{ key: 'task', value: 'cls' }] }, { user_id: 'ada' });
      assert.equal(created.name, name);
      assert.equal(created.description, 'first');
      assert.equal(created.user_id, 'ada');
      assert.deepEqual(created.tags, [{ key: 'task', value: 'cls' }]);
      assert.deepEqual(created.latest_versions, []);
      assert.deepEqual(created.aliases, []);
      await assert.rejects(store.createRegisteredModel({ name }), expectError('RESOURCE_ALREADY_EXISTS', `Registered Model (name=${name}) already exists`));
      await assert.rejects(store.createRegisteredModel({ name: '' }), expectError('INVALID_PARAMETER_VALUE'));
      await assert.rejects(store.getRegisteredModel('no-such-model'), expectError('RESOURCE_DOES_NOT_EXIST', 'Registered Model with name=no-such-model not found'));

      assert.equal((await store.updateRegisteredModel(name, 'second')).description, 'second');
      await store.setRegisteredModelTag(name, { key: 'task', value: 'detection' });
      await store.setRegisteredModelTag(name, { key: 'extra', value: '1' });
      await store.deleteRegisteredModelTag(name, 'extra');
      assert.deepEqual((await store.getRegisteredModel(name)).tags, [{ key: 'task', value: 'detection' }]);
      await assert.rejects(store.setRegisteredModelTag('no-such-model', { key: 'a', value: 'b' }), expectError('RESOURCE_DOES_NOT_EXIST'));

      const v1 = await store.createModelVersion({ name, source: 'runs:/abc/model', run_id: 'abc', tags: [{ key: 'k', value: 'v' }] });
      await store.createModelVersion({ name, source: 'runs:/def/model' });
      await store.setRegisteredModelAlias(name, 'champion', v1.version, { user_id: 'ada', reason: 'best' });
      const newName = unique('renamed-model');
      const renamed = await store.renameRegisteredModel(name, newName);
      assert.equal(renamed.name, newName);
      assert.equal(renamed.latest_versions[0].name, newName);
      assert.equal(renamed.latest_versions[0].version, '2');
      assert.deepEqual(renamed.aliases, [{ alias: 'champion', version: '1' }]);
      assert.deepEqual(renamed.tags, [{ key: 'task', value: 'detection' }]);
      const moved = await store.getModelVersion(newName, '1');
      assert.deepEqual(moved.tags, [{ key: 'k', value: 'v' }]);
      assert.deepEqual(moved.aliases, ['champion']);
      assert.equal((await store.getModelVersionByAlias(newName, 'champion')).version, '1');
      assert.equal((await store.getAliasHistory(newName)).length, 1);
      await assert.rejects(store.getRegisteredModel(name), expectError('RESOURCE_DOES_NOT_EXIST'));
      await assert.rejects(store.getModelVersion(name, '1'), expectError('RESOURCE_DOES_NOT_EXIST'));
      const other = unique('model');
      await store.createRegisteredModel({ name: other });
      await assert.rejects(store.renameRegisteredModel(newName, other), expectError('RESOURCE_ALREADY_EXISTS'));

      await store.deleteRegisteredModel(newName);
      await assert.rejects(store.getRegisteredModel(newName), expectError('RESOURCE_DOES_NOT_EXIST'));
      await assert.rejects(store.getModelVersion(newName, '1'), expectError('RESOURCE_DOES_NOT_EXIST'));
      await assert.rejects(store.deleteRegisteredModel(newName), expectError('RESOURCE_DOES_NOT_EXIST'));
    });

    test('model versions: auto-increment, fields, update, tags, delete without reuse, download uri', async () => {
      const name = unique('model');
      await store.createRegisteredModel({ name });
      const run = await store.createRun({ experiment_id: await newExperiment() });
      const v1 = await store.createModelVersion(
        { name, source: 's3://bucket/m1', run_id: run.info.run_id, run_link: 'http://x/run', description: 'one' },
        { user_id: 'ada' },
      );
      assert.equal(v1.version, '1');
      assert.equal(v1.status, 'READY');
      assert.equal(v1.current_stage, 'None');
      assert.equal(v1.source, 's3://bucket/m1');
      assert.equal(v1.run_id, run.info.run_id);
      assert.equal(v1.run_link, 'http://x/run');
      assert.equal(v1.description, 'one');
      assert.equal(v1.user_id, 'ada');
      assert.deepEqual(v1.aliases, []);
      const v2 = await store.createModelVersion({ name, source: 's3://bucket/m2' });
      assert.equal(v2.version, '2');
      assert.equal((await store.getRegisteredModel(name)).latest_versions[0].version, '2');
      assert.equal((await store.updateModelVersion(name, '1', 'updated')).description, 'updated');
      await store.setModelVersionTag(name, '1', { key: 'validated', value: 'yes' });
      await store.setModelVersionTag(name, '1', { key: 'validated', value: 'no' });
      await store.setModelVersionTag(name, '1', { key: 'temp', value: '1' });
      await store.deleteModelVersionTag(name, '1', 'temp');
      assert.deepEqual((await store.getModelVersion(name, '1')).tags, [{ key: 'validated', value: 'no' }]);
      assert.equal(await store.getModelVersionDownloadUri(name, '2'), 's3://bucket/m2');
      await store.deleteModelVersion(name, '2');
      await assert.rejects(store.getModelVersion(name, '2'), expectError('RESOURCE_DOES_NOT_EXIST', `Model Version (name=${name}, version=2) not found`));
      const v3 = await store.createModelVersion({ name, source: 's3://bucket/m3' });
      assert.equal(v3.version, '3');
      await assert.rejects(store.getModelVersion(name, 'abc'), expectError('INVALID_PARAMETER_VALUE', "'version'"));
      await assert.rejects(store.createModelVersion({ name: 'no-such-model', source: 'x' }), expectError('RESOURCE_DOES_NOT_EXIST', 'Registered Model with name=no-such-model not found'));
      await assert.rejects(store.createModelVersion({ name, source: '' }), expectError('INVALID_PARAMETER_VALUE', 'source'));
      await assert.rejects(store.getModelVersionDownloadUri(name, '9'), expectError('RESOURCE_DOES_NOT_EXIST'));
    });

    test('aliases: set, move, get-by-alias, delete, full history, reserved names; version delete drops its aliases', async () => {
      const name = unique('model');
      await store.createRegisteredModel({ name });
      await store.createModelVersion({ name, source: 'a' });
      await store.createModelVersion({ name, source: 'b' });
      await store.createModelVersion({ name, source: 'c' });
      await store.setRegisteredModelAlias(name, 'prod', '1', { user_id: 'ada', reason: 'launch' });
      await store.setRegisteredModelAlias(name, 'prod', '2', { user_id: 'bob', reason: 'better' });
      await store.setRegisteredModelAlias(name, 'staging', '3');
      assert.equal((await store.getModelVersionByAlias(name, 'prod')).version, '2');
      assert.deepEqual((await store.getModelVersion(name, '2')).aliases, ['prod']);
      assert.deepEqual((await store.getRegisteredModel(name)).aliases, [
        { alias: 'prod', version: '2' },
        { alias: 'staging', version: '3' },
      ]);
      await store.deleteRegisteredModelAlias(name, 'prod', { user_id: 'carol', reason: 'rollback' });
      await assert.rejects(store.getModelVersionByAlias(name, 'prod'), expectError('RESOURCE_DOES_NOT_EXIST', 'alias prod not found'));
      await store.deleteModelVersion(name, '3');
      await assert.rejects(store.getModelVersionByAlias(name, 'staging'), expectError('RESOURCE_DOES_NOT_EXIST'));

      const prod = await store.getAliasHistory(name, 'prod');
      assert.deepEqual(
        prod.map((e) => [e.from_version, e.to_version, e.user_id, e.reason]),
        [
          [null, '1', 'ada', 'launch'],
          ['1', '2', 'bob', 'better'],
          ['2', null, 'carol', 'rollback'],
        ],
      );
      assert.ok(prod.every((e) => e.name === name && e.alias === 'prod' && e.timestamp > 0));
      const all = await store.getAliasHistory(name);
      assert.equal(all.length, 5);
      assert.deepEqual(all.filter((e) => e.alias === 'staging').map((e) => [e.from_version, e.to_version]), [
        [null, '3'],
        ['3', null],
      ]);

      await assert.rejects(store.setRegisteredModelAlias(name, 'latest', '1'), expectError('INVALID_PARAMETER_VALUE', 'reserved'));
      await assert.rejects(store.setRegisteredModelAlias(name, 'V2', '1'), expectError('INVALID_PARAMETER_VALUE', 'reserved'));
      await assert.rejects(store.setRegisteredModelAlias(name, 'bad alias!', '1'), expectError('INVALID_PARAMETER_VALUE'));
      await assert.rejects(store.setRegisteredModelAlias(name, 'prod', '42'), expectError('RESOURCE_DOES_NOT_EXIST'));
      await assert.rejects(store.getAliasHistory('no-such-model'), expectError('RESOURCE_DOES_NOT_EXIST'));
      await assert.rejects(store.getModelVersionByAlias('no-such-model', 'prod'), expectError('RESOURCE_DOES_NOT_EXIST'));
    });

    test('searchRegisteredModels and searchModelVersions: filters, order_by, pagination', async () => {
      const prefix = unique('reg');
      for (let i = 0; i < 3; i++) {
        const name = `${prefix}-${i}`;
        await store.createRegisteredModel({ name, tags: [{ key: 'team', value: i === 1 ? 'nlp' : 'vision' }] });
        for (let v = 0; v <= i; v++) await store.createModelVersion({ name, source: `file:///models/${name}/${v}`, run_id: `run${i}`, tags: [{ key: 'v', value: String(v) }] });
      }
      const models = await store.searchRegisteredModels({ filter: `name LIKE '${prefix}-%'` });
      assert.deepEqual(models.items.map((m) => m.name), [0, 1, 2].map((i) => `${prefix}-${i}`));
      assert.equal(models.items[2].latest_versions[0].version, '3');
      assert.deepEqual((await store.searchRegisteredModels({ filter: `name = '${prefix}-1'` })).items.map((m) => m.name), [`${prefix}-1`]);
      assert.equal((await store.searchRegisteredModels({ filter: `name ILIKE '${prefix.toUpperCase()}-%'` })).items.length, 3);
      const nlp = await store.searchRegisteredModels({ filter: `name LIKE '${prefix}-%' AND tags.team = 'nlp'` });
      assert.deepEqual(nlp.items.map((m) => m.name), [`${prefix}-1`]);
      const desc = await store.searchRegisteredModels({ filter: `name LIKE '${prefix}-%'`, order_by: ['name DESC'] });
      assert.equal(desc.items[0].name, `${prefix}-2`);
      const p1 = await store.searchRegisteredModels({ filter: `name LIKE '${prefix}-%'`, max_results: 2 });
      assert.equal(p1.items.length, 2);
      const p2 = await store.searchRegisteredModels({ filter: `name LIKE '${prefix}-%'`, max_results: 2, page_token: p1.next_page_token });
      assert.deepEqual(p2.items.map((m) => m.name), [`${prefix}-2`]);
      assert.equal(p2.next_page_token, undefined);
      // MLflow 3 clients always add this clause; models without the tag must stay in the answer.
      const notPrompts = await store.searchRegisteredModels({ filter: `name LIKE '${prefix}-%' AND tag.\`mlflow.prompt.is_prompt\` != 'true'` });
      assert.equal(notPrompts.items.length, 3);
      await assert.rejects(store.searchRegisteredModels({ filter: "metrics.x > 1" }), expectError('INVALID_PARAMETER_VALUE'));
      await assert.rejects(store.searchRegisteredModels({ max_results: 1001 }), expectError('INVALID_PARAMETER_VALUE', 'max_results'));

      const versions = await store.searchModelVersions({ filter: `name = '${prefix}-2'` });
      assert.deepEqual(versions.items.map((v) => v.version), ['3', '2', '1']);
      assert.deepEqual((await store.searchModelVersions({ filter: "run_id = 'run1'" })).items.map((v) => `${v.name}/${v.version}`).filter((s) => s.startsWith(prefix)), [
        `${prefix}-1/2`,
        `${prefix}-1/1`,
      ]);
      const inRuns = await store.searchModelVersions({ filter: `name LIKE '${prefix}-%' AND run_id IN ('run0', 'run1')` });
      assert.equal(inRuns.items.length, 3);
      const bySource = await store.searchModelVersions({ filter: `source_path = 'file:///models/${prefix}-2/0'` });
      assert.deepEqual(bySource.items.map((v) => v.version), ['1']);
      const byTag = await store.searchModelVersions({ filter: `name LIKE '${prefix}-%' AND tags.v = '2'` });
      assert.deepEqual(byTag.items.map((v) => `${v.name}/${v.version}`), [`${prefix}-2/3`]);
      const byNumber = await store.searchModelVersions({ filter: `name = '${prefix}-2' AND version_number >= 2`, order_by: ['version_number ASC'] });
      assert.deepEqual(byNumber.items.map((v) => v.version), ['2', '3']);
      const q1 = await store.searchModelVersions({ filter: `name LIKE '${prefix}-%'`, max_results: 4 });
      const q2 = await store.searchModelVersions({ filter: `name LIKE '${prefix}-%'`, max_results: 4, page_token: q1.next_page_token });
      assert.equal(q1.items.length + q2.items.length, 6);
      assert.equal(q2.next_page_token, undefined);
      await assert.rejects(store.searchModelVersions({ filter: "params.x = '1'" }), expectError('INVALID_PARAMETER_VALUE'));
    });

    // ------------------------------------------------------------ logged models (MLflow 3)

    defineLoggedModelContract({ store: () => store, unique, newExperiment: () => newExperiment() });

    // ------------------------------------------------------------ MLflow 2.0 calls still in every client

    defineClassicContract({ store: () => store, unique, newExperiment: () => newExperiment() });
  });
}
