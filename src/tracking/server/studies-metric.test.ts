import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestServer } from './test-helpers.js';

test('/metrics counts tuning studies by status, so a failed study outlives the trainer that ran it', async () => {
  const server = await startTestServer();
  try {
    const scrape = async (): Promise<string> => (await fetch(`${server.url}/metrics`)).text();
    assert.match(await scrape(), /kiln_tracking_studies\{status="FAILED"\} 0/);
    const experimentId = await server.store.createExperiment({ name: 'studies' });
    const study = await server.store.createRun({ experiment_id: experimentId, tags: [{ key: 'kiln.run_type', value: 'study' }] });
    await server.store.createRun({ experiment_id: experimentId, tags: [{ key: 'kiln.run_type', value: 'trial' }] });
    await server.store.updateRun(study.info.run_id, { status: 'FAILED', end_time: Date.now() });
    // The count is cached for 10 s; a fresh server reads it at once.
    await server.app.close();
    const again = await startTestServer({ store: server.store });
    try {
      const text = await (await fetch(`${again.url}/metrics`)).text();
      assert.match(text, /kiln_tracking_studies\{status="FAILED"\} 1/);
      assert.match(text, /kiln_tracking_studies\{status="RUNNING"\} 0/);
    } finally {
      await again.app.close();
    }
  } finally {
    await server.close();
  }
});
