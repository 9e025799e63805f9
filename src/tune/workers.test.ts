import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStudyStorage } from './storage/open.js';

const WORKER = fileURLToPath(new URL('./test-worker.js', import.meta.url));

function worker(uri: string, study: string, nTrials: number, sleepMs: number): { child: ChildProcess; done: Promise<number | null>; started: Promise<void> } {
  const child = spawn(process.execPath, [WORKER, uri, study, String(nTrials), String(sleepMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const done = new Promise<number | null>((resolve) => child.once('close', resolve));
  const started = new Promise<void>((resolve) => child.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('trial') && resolve()));
  return { child, done, started };
}

describe('studies shared by worker processes (SQLite)', () => {
  let dir = '';
  let uri = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-workers-'));
    uri = `sqlite:///${join(dir, 'tracking.db')}`;
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('two worker processes never run the same trial', async () => {
    const a = worker(uri, 'shared', 8, 20);
    const b = worker(uri, 'shared', 8, 20);
    assert.deepEqual(await Promise.all([a.done, b.done]), [0, 0]);
    const storage = await openStudyStorage(uri);
    try {
      const trials = await storage.getAllTrials((await storage.getStudyIdByName('shared')) as number);
      assert.deepEqual(
        trials.map((t) => t.number),
        Array.from({ length: 16 }, (_, i) => i),
      );
      assert.ok(trials.every((t) => t.state === 'COMPLETE'));
      const pids = new Set(trials.map((t) => t.userAttrs.pid));
      assert.deepEqual([...pids].sort(), [a.child.pid, b.child.pid].sort());
      for (const pid of pids) assert.equal(trials.filter((t) => t.userAttrs.pid === pid).length, 8);
    } finally {
      await storage.close();
    }
  });

  test('a killed worker leaves its trial RUNNING; the next worker marks it FAIL and the study goes on', async () => {
    const doomed = worker(uri, 'crash', 1, 60_000);
    await doomed.started;
    doomed.child.kill('SIGKILL');
    await doomed.done;
    await new Promise((resolve) => setTimeout(resolve, 500));
    const survivor = worker(uri, 'crash', 2, 10);
    assert.equal(await survivor.done, 0);
    const storage = await openStudyStorage(uri);
    try {
      const trials = await storage.getAllTrials((await storage.getStudyIdByName('crash')) as number);
      assert.deepEqual(
        trials.map((t) => [t.number, t.state]),
        [
          [0, 'FAIL'],
          [1, 'COMPLETE'],
          [2, 'COMPLETE'],
        ],
      );
      assert.match(String(trials[0].systemAttrs.fail_reason), /heartbeat/);
    } finally {
      await storage.close();
    }
  });
});
