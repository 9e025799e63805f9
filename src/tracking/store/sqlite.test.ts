import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { defineContractTests } from './contract.js';
import { openStore, parseStoreUri } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-store-sqlite-'));
const writer = fileURLToPath(new URL('./test-writer.js', import.meta.url));

after(() => rmSync(dir, { recursive: true, force: true }));

defineContractTests('sqlite', () => openStore(`sqlite:///${join(dir, 'contract.db')}`, { artifactRoot: '/srv/artifacts' }));

interface Child {
  runId: Promise<string>;
  acks: number[];
  stderr: () => string;
  exit: Promise<number | null>;
  kill: () => void;
}

function startWriter(uri: string, batches: number, size: number): Child {
  const child = spawn(process.execPath, [writer, uri, String(batches), String(size)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const acks: number[] = [];
  let err = '';
  let buffer = '';
  let resolveRun!: (id: string) => void;
  const runId = new Promise<string>((resolve) => (resolveRun = resolve));
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.startsWith('run ')) resolveRun(line.slice(4));
      else if (line.startsWith('ack ')) acks.push(Number(line.slice(4)));
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (err += chunk));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { runId, acks, stderr: () => err, exit, kill: () => child.kill('SIGKILL') };
}

describe('sqlite backend', () => {
  test('URI forms: relative, absolute (four slashes), memory', async () => {
    assert.deepEqual(parseStoreUri('sqlite:////abs/path.db'), { dialect: 'sqlite', path: '/abs/path.db' });
    assert.deepEqual(parseStoreUri('sqlite:///rel/path.db'), { dialect: 'sqlite', path: join(process.cwd(), 'rel/path.db') });
    assert.deepEqual(parseStoreUri('sqlite::memory:'), { dialect: 'sqlite', path: ':memory:' });
    assert.deepEqual(parseStoreUri('postgres://u:p@h:5/db'), { dialect: 'postgres', connectionString: 'postgresql://u:p@h:5/db' });
    assert.throws(() => parseStoreUri('mysql://x'), /unsupported store URI/);
    const memory = await openStore('sqlite::memory:', { artifactRoot: 'mlflow-artifacts:' });
    try {
      assert.equal((await memory.getExperiment('0')).artifact_location, 'mlflow-artifacts:/0');
      const id = await memory.createExperiment({ name: 'x' });
      assert.equal(id, '1');
      assert.equal((await memory.getExperiment(id)).artifact_location, 'mlflow-artifacts:/1');
    } finally {
      await memory.close();
    }
  });

  test('schema: WAL, indexes and schema_version after two opens', async () => {
    const path = join(dir, 'schema.db');
    await (await openStore(`sqlite:///${path}`)).close();
    await (await openStore(`sqlite:///${path}`)).close();
    const db = new Database(path, { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.deepEqual(db.prepare('SELECT version FROM schema_version ORDER BY version').all(), [{ version: 1 }, { version: 2 }, { version: 3 }, { version: 4 }, { version: 5 }]);
      const indexes = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index'").all() as { name: string }[]).map((r) => r.name);
      for (const name of ['params_key_value', 'metrics_point', 'runs_experiment_stage_start', 'logged_models_experiment', 'logged_model_metrics_point']) assert.ok(indexes.includes(name), name);
    } finally {
      db.close();
    }
  });

  test('crash: SIGKILL mid-storm loses no acknowledged batch and leaves an intact database', async () => {
    const path = join(dir, 'crash.db');
    const uri = `sqlite:///${path}`;
    const size = 200;
    const child = startWriter(uri, -1, size);
    const runId = await child.runId;
    const deadline = Date.now() + 20_000;
    while (child.acks.length < 40 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    child.kill();
    await child.exit;
    const acked = [...child.acks];
    assert.ok(acked.length >= 40, `writer acknowledged only ${acked.length} batches: ${child.stderr()}`);

    const db = new Database(path);
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    } finally {
      db.close();
    }
    const store = await openStore(uri);
    try {
      const history = (await store.getMetricHistory(runId, 'm')).items;
      const steps = new Set(history.map((m) => m.step));
      for (const b of acked) {
        for (let i = 0; i < size; i++) assert.ok(steps.has(b * size + i), `acknowledged batch ${b} lost step ${b * size + i}`);
      }
      // Batches are atomic: whatever is present is whole batches.
      assert.equal(history.length % size, 0);
      const latest = (await store.getRun(runId)).data.metrics[0];
      assert.equal(latest.step, Math.max(...history.map((m) => m.step)));
    } finally {
      await store.close();
    }
  });

  test('concurrency: 4 processes opening a fresh file and logging at once all succeed without SQLITE_BUSY', async () => {
    const path = join(dir, 'concurrent.db');
    const uri = `sqlite:///${path}`;
    const batches = 40;
    const size = 100;
    const children = Array.from({ length: 4 }, () => startWriter(uri, batches, size));
    const codes = await Promise.all(children.map((c) => c.exit));
    for (const [i, c] of children.entries()) {
      assert.equal(codes[i], 0, `writer ${i} failed: ${c.stderr()}`);
      assert.doesNotMatch(c.stderr(), /locked|SQLITE_BUSY/i);
      assert.equal(c.acks.length, batches);
    }
    const store = await openStore(uri);
    try {
      for (const c of children) {
        const runId = await c.runId;
        assert.equal((await store.getMetricHistory(runId, 'm')).items.length, batches * size);
      }
      const db = new Database(path, { readonly: true });
      try {
        assert.deepEqual(db.prepare('SELECT version FROM schema_version ORDER BY version').all(), [{ version: 1 }, { version: 2 }, { version: 3 }, { version: 4 }, { version: 5 }]);
        assert.equal((db.prepare("SELECT COUNT(*) AS n FROM experiments WHERE name = 'Default'").get() as { n: number }).n, 1);
      } finally {
        db.close();
      }
    } finally {
      await store.close();
    }
  });

  test('a schema-4 database (before stages) upgrades: its model versions read as stage None and can move', async () => {
    const path = join(dir, 'before-stages.db');
    const uri = `sqlite:///${path}`;
    const first = await openStore(uri);
    await first.createRegisteredModel({ name: 'old' });
    await first.createModelVersion({ name: 'old', source: 's' });
    await first.close();
    // Put the file back to schema 4, as a Kiln without stages left it.
    const db = new Database(path);
    try {
      db.exec('ALTER TABLE model_versions DROP COLUMN current_stage; DELETE FROM schema_version WHERE version = 5;');
    } finally {
      db.close();
    }
    const store = await openStore(uri);
    try {
      assert.equal((await store.getModelVersion('old', '1')).current_stage, 'None');
      assert.equal((await store.transitionModelVersionStage('old', '1', 'Production', false)).current_stage, 'Production');
    } finally {
      await store.close();
    }
  });
});
