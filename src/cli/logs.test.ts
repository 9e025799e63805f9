import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, test } from 'node:test';
import { KILN_BIN, REAL_DATA, runKiln, SKIP_WITHOUT_DATA } from './test-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'kiln-cli-logs-'));
after(() => rmSync(root, { recursive: true, force: true }));

const jsonLines = (path: string): Record<string, unknown>[] =>
  readFileSync(path, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);

describe('--log-dir and the --json contract', () => {
  test('kiln server --json: stdout is only the JSON line; logs go to the folder (requests with request_id) and stderr', async () => {
    const logDir = join(root, 'server-logs');
    const child = spawn(process.execPath, [KILN_BIN, 'server', '--port', '0', '--home', join(root, 'home'), '--json', '--log-dir', logDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, KILN_SERVER_TOKEN: 'cli-secret-token-42' },
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let url = '';
    for await (const line of createInterface({ input: child.stdout })) {
      stdout += `${line}\n`;
      url = (JSON.parse(line) as { url: string }).url;
      break;
    }
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    assert.equal((await fetch(`${url}/health`)).status, 200);
    assert.equal((await fetch(`${url}/api/2.0/mlflow/experiments/search`, { headers: { authorization: 'Bearer cli-secret-token-42' } })).status, 200);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);

    assert.equal(stdout.trim().split('\n').length, 1, `stdout: ${stdout}`);
    assert.match(stderr, /kiln tracking server listening on/);
    assert.doesNotMatch(stderr, /incoming request|request completed/);
    const lines = jsonLines(join(logDir, 'tracking_log.log'));
    assert.ok(lines.every((line) => line.service === 'tracking'));
    assert.ok(lines.some((line) => String(line.message).startsWith('kiln tracking server listening on')));
    const completed = lines.filter((line) => line.message === 'request completed');
    assert.equal(completed.length, 2);
    assert.ok(completed.every((line) => typeof line.request_id === 'string'));
    assert.equal(jsonLines(join(logDir, 'app_combined.log')).length, lines.length);
    const everything = readFileSync(join(logDir, 'tracking_log.log'), 'utf8') + stderr;
    assert.ok(!everything.includes('cli-secret-token-42'), 'the server token leaked into a log');
  });

  test('kiln train --json: epochs in server_log.log with the run id; stdout ends with the JSON result', { skip: SKIP_WITHOUT_DATA }, async () => {
    const logDir = join(root, 'train-logs');
    const run = await runKiln(['train', '--epochs', '1', '--layers', '32', '--json', '--home', join(root, 'train-home'), '--data-dir', REAL_DATA!, '--log-dir', logDir]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim().split('\n').length, 1, 'only the JSON result on stdout');
    const runId = run.json.run_id as string;
    assert.ok(runId);
    const lines = jsonLines(join(logDir, 'server_log.log'));
    const epoch = lines.find((line) => line.message === 'epoch 1/1 done');
    assert.ok(epoch, 'no epoch record');
    assert.equal(epoch.run_id, runId);
    assert.equal(typeof epoch.val_acc, 'number');
    assert.ok(lines.every((line) => line.service === 'trainer'));
    assert.match(run.stderr, /model saved to/);
    assert.doesNotMatch(run.stderr, /epoch 1\/1 done/, 'epoch records are for the files; the terminal has the progress line');
    assert.ok(!existsSync(join(logDir, 'api_log.log')));
  });

  test('kiln tune: every trial epoch in server_log.log carries the study, the trial number and the trial run id', { skip: SKIP_WITHOUT_DATA }, async () => {
    const logDir = join(root, 'tune-logs');
    const run = await runKiln(['tune', '--profile', 'seed', '--n-trials', '2', '--epochs', '1', '--study-name', 'log-context', '--json', '--home', join(root, 'tune-home'), '--data-dir', REAL_DATA!, '--log-dir', logDir]);
    assert.equal(run.code, 0, run.stderr);
    const epochs = jsonLines(join(logDir, 'server_log.log')).filter((line) => line.message === 'epoch 1/1 done');
    assert.deepEqual(epochs.map((line) => [line.study, line.trial]), [['log-context', 0], ['log-context', 1]]);
    assert.ok(epochs.every((line) => typeof line.run_id === 'string' && /^[0-9a-f]{32}$/.test(line.run_id)));
    assert.notEqual(epochs[0]!.run_id, epochs[1]!.run_id);
  });
});
