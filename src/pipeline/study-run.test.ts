import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { REAL_DATA, runKiln, SKIP_WITHOUT_DATA } from '../cli/test-helpers.js';
import { startTrackingServer } from '../tracking/server/index.js';
import { startTestServer } from '../tracking/server/test-helpers.js';
import { studyStorageUri } from './study-run.js';
import type { TrackingSession } from '../tracking/client/index.js';

describe('where a study lives', () => {
  test('with --storage, there; else where tracking goes, a tracking server included', () => {
    const session = (uri: string, remote: boolean): TrackingSession => ({ uri, remote }) as TrackingSession;
    assert.equal(studyStorageUri({ tracking: session('http://tracking:5000', true) }), 'http://tracking:5000');
    assert.equal(studyStorageUri({ tracking: session('sqlite:///h/tracking.db', false) }), 'sqlite:///h/tracking.db');
    assert.equal(studyStorageUri({ storageUri: 'postgresql://u@db/kiln', tracking: session('http://tracking:5000', true) }), 'postgresql://u@db/kiln');
  });

  describe('kiln tune --tracking-uri http://… (a real server, real training on a reduced budget)', { skip: SKIP_WITHOUT_DATA }, () => {
    let dir = '';
    let server: FastifyInstance;
    let url = '';
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'kiln-remote-study-'));
      server = await startTrackingServer({ backendStoreUri: `sqlite:///${join(dir, 'server', 'tracking.db')}`, artifactsDestination: join(dir, 'server', 'artifacts'), port: 0, ui: false, defaultMetrics: false });
      url = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
    });
    after(async () => {
      await server?.close();
      await rm(dir, { recursive: true, force: true });
    });

    test('the study, its worker process included, lives on the server, whose Studies API shows it; nothing is stored locally', async () => {
      const home = join(dir, 'client');
      const args = ['tune', '--profile', 'seed', '--study-name', 'remote', '--n-trials', '3', '--workers', '2', '--epochs', '1', '--pruner', 'none'];
      const run = await runKiln([...args, '--tracking-uri', url, '--home', home, '--data-dir', REAL_DATA ?? '', '--json']);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual((run.json as { trials: unknown }).trials, { complete: 3, pruned: 0, failed: 0, total: 3 });
      const reply = await fetch(`${url}/api/2.0/kiln/studies/remote`);
      const study = ((await reply.json()) as { study: { trials: Array<{ state: string; run_id: string | null }> } }).study;
      assert.deepEqual(study.trials.map((t) => t.state), ['COMPLETE', 'COMPLETE', 'COMPLETE']);
      assert.ok(study.trials.every((t) => typeof t.run_id === 'string'), 'each trial names its tracking run');
      assert.equal(existsSync(join(home, 'tracking.db')), false, 'no local study database');
    });

    test('a tracking server without Kiln\'s study API (an MLflow server) fails the command before any run, saying to use --storage', async () => {
      const mlflowLike = await startTestServer();
      try {
        const home = join(dir, 'client-mlflow');
        const run = await runKiln(['tune', '--profile', 'seed', '--n-trials', '1', '--epochs', '1', '--tracking-uri', mlflowLike.url, '--home', home, '--data-dir', REAL_DATA ?? '']);
        assert.equal(run.code, 1, run.stderr);
        assert.match(run.stderr, /KILN_ERR_STUDY_STORAGE_UNSUPPORTED[\s\S]*--storage/);
        const experiments = (await mlflowLike.store.searchExperiments({ view_type: 'ALL' })).items.map((e) => e.experiment_id);
        const runs = await mlflowLike.store.searchRuns({ experiment_ids: experiments, run_view_type: 'ALL' });
        assert.equal(runs.items.length, 0, 'no parent run left behind');
      } finally {
        await mlflowLike.close();
      }
    });
  });
});
