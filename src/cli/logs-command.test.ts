import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LogSink } from '../observability/logging.js';
import { runKiln, runKilnInTty, SKIP_WITHOUT_SCRIPT, spawnKiln } from './test-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'kiln-cli-logs-command-'));
after(() => rmSync(root, { recursive: true, force: true }));

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const RUN = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

/**
 * Writes the log folder a day of Kiln produces, with the real LogSink on a moved clock: two days
 * ago (a trial, a failed trial, an API request) and one hour ago (the study's end, a request, a
 * tracking-server warning). The day change rotates the first day into the dated backups.
 */
function writeLogs(dir: string, now: number): void {
  let clock = now - 2 * DAY;
  const sink = new LogSink({ dir, terminal: null, now: () => clock, rotation: { now: () => clock } });
  sink.logger('trainer', { study: 'quick', run_id: RUN }).info({ epoch: 1, val_acc: 0.81 }, 'epoch 1/8 done');
  sink.logger('trainer', { study: 'quick', run_id: 'ffff0000ffff0000ffff0000ffff0000' }).error(new Error('out of memory'), 'trial 2 failed');
  sink.logger('api').child({ request_id: 'req-7' }).info({ req: { method: 'POST', url: '/predict' }, res: { statusCode: 200 }, responseTime: 3.25 }, 'request completed');
  clock = now - HOUR;
  sink.logger('trainer', { study: 'quick' }).info('study quick: best val_acc 0.8812');
  sink.logger('api').child({ request_id: 'req-8' }).warn({ req: { method: 'POST', url: '/predict' }, res: { statusCode: 415 }, responseTime: 1.5 }, 'request completed');
  sink.logger('tracking').warn('slow store write');
  sink.close();
}

const messages = (stdout: string): string[] =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => String((JSON.parse(line) as { message: string }).message));

describe('kiln logs', () => {
  const dir = join(root, 'Logs');
  const now = Date.now();
  before(() => writeLogs(dir, now));

  test('the log folder holds the active file and a dated backup (what the commands below read)', () => {
    assert.ok(existsSync(join(dir, 'app_combined.log')));
    assert.deepEqual(
      readdirSync(dir).filter((name) => name.startsWith('app_combined.log.')),
      [`app_combined.log.${new Date(now - 2 * DAY).toISOString().slice(0, 10)}`],
    );
  });

  test('--json passes the matching lines through as they are in the file', async () => {
    const run = await runKiln(['logs', '--log-dir', dir, '--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, readFileSync(join(dir, 'app_combined.log'), 'utf8'), 'without --since: the active file, byte for byte');
  });

  test('filters: service, lowest level, run id (or its start), request id, since', async () => {
    const cases: { args: string[]; expected: string[] }[] = [
      { args: ['--service', 'api'], expected: ['request completed'] },
      { args: ['--service', 'tracking,trainer'], expected: ['study quick: best val_acc 0.8812', 'slow store write'] },
      { args: ['--level', 'warn'], expected: ['request completed', 'slow store write'] },
      { args: ['--since', '3d', '--level', 'error'], expected: ['trial 2 failed'] },
      { args: ['--since', '3d', '--run', RUN.slice(0, 8)], expected: ['epoch 1/8 done'] },
      { args: ['--since', '3d', '--request', 'req-7'], expected: ['request completed'] },
      { args: ['--since', '3d', '--request', 'req-'], expected: [] },
      { args: ['--since', '3d'], expected: ['epoch 1/8 done', 'trial 2 failed', 'request completed', 'study quick: best val_acc 0.8812', 'request completed', 'slow store write'] },
      { args: ['--since', '2h'], expected: ['study quick: best val_acc 0.8812', 'request completed', 'slow store write'] },
      { args: ['--since', new Date(now - 2 * DAY - 1000).toISOString().slice(0, 19)], expected: ['epoch 1/8 done', 'trial 2 failed', 'request completed', 'study quick: best val_acc 0.8812', 'request completed', 'slow store write'] },
      { args: ['--since', '3d', '-n', '2'], expected: ['request completed', 'slow store write'] },
    ];
    for (const { args, expected } of cases) {
      const run = await runKiln(['logs', '--log-dir', dir, '--json', ...args]);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(messages(run.stdout), expected, args.join(' '));
    }
  });

  test('readable: time, level, service, message, the request in short, the context as key=value, an error with its stack', async () => {
    const run = await runKiln(['logs', '--log-dir', dir, '--since', '3d']);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.split('\n');
    const day = new Date(now - 2 * DAY).toISOString().slice(0, 10);
    assert.match(lines[0]!, new RegExp(`^${day}T[\\d:.]+Z INFO  trainer  epoch 1/8 done  study=quick run_id=${RUN} epoch=1 val_acc=0.81$`));
    assert.match(lines[1]!, /^\S+ ERROR trainer {2}trial 2 failed: out of memory {2}study=quick run_id=ffff/);
    assert.match(lines[2]!, /^\s+at /, 'the stack of the error, indented');
    assert.ok(run.stdout.includes('INFO  api      request completed  POST /predict 200 3.3 ms  request_id=req-7'), run.stdout);
    assert.ok(!run.stdout.includes('\x1b['), 'no colours into a pipe');
  });

  test('$KILN_LOG_DIR is the folder when --log-dir is not given', async () => {
    const run = await runKiln(['logs', '--service', 'tracking', '--json'], { KILN_LOG_DIR: dir });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(messages(run.stdout), ['slow store write']);
  });

  test('no log files: exit 1 with a hint; a filter value that does not exist: exit 2', async () => {
    const missing = await runKiln(['logs', '--log-dir', join(root, 'nothing'), '--json']);
    assert.equal(missing.code, 1);
    assert.equal((missing.json.error as { code: string }).code, 'KILN_ERR_LOGS_NOT_FOUND');
    assert.match(missing.stderr, /hint: .*--log-dir/);
    for (const args of [['--level', 'loud'], ['--service', 'database'], ['--since', 'yesterday'], ['-n', 'ten']]) {
      const run = await runKiln(['logs', '--log-dir', dir, ...args, '--json']);
      assert.equal(run.code, 2, args.join(' '));
      assert.equal((run.json.error as { code: string }).code, 'KILN_ERR_INVALID_OPTION', args.join(' '));
    }
  });

  test('on a terminal, levels are coloured; NO_COLOR turns colours off', { skip: SKIP_WITHOUT_SCRIPT }, async () => {
    const coloured = await runKilnInTty(['logs', '--log-dir', dir, '--level', 'warn']);
    assert.equal(coloured.code, 0, coloured.output);
    assert.ok(coloured.output.includes('\x1b[33mWARN '), JSON.stringify(coloured.output));
    const plain = await runKilnInTty(['logs', '--log-dir', dir, '--level', 'warn'], { NO_COLOR: '1' });
    assert.equal(plain.code, 0, plain.output);
    assert.ok(!plain.output.includes('\x1b['), JSON.stringify(plain.output));
    assert.match(plain.output, /WARN {2}tracking slow store write/);
  });
});

describe('kiln logs -f', () => {
  test('follows new lines, through a rotation, until stopped; filters apply', { timeout: 120_000 }, async () => {
    const dir = join(root, 'follow');
    let clock = Date.now();
    const sink = new LogSink({ dir, terminal: null, now: () => clock, rotation: { now: () => clock } });
    const api = sink.logger('api');
    const trainer = sink.logger('trainer');
    api.info('before follow');
    const follower = spawnKiln(['logs', '-f', '--log-dir', dir, '--service', 'api', '--json']);
    try {
      await follower.waitFor(/before follow/);
      trainer.info('filtered out');
      api.info('appended 1');
      await follower.waitFor(/appended 1/);
      clock += 2 * 24 * HOUR;
      api.info('after rotation');
      assert.ok(readdirSync(dir).some((name) => name.startsWith('app_combined.log.')), 'the file was rotated');
      await follower.waitFor(/after rotation/);
    } finally {
      sink.close();
      follower.child.kill('SIGTERM');
    }
    assert.equal(await follower.exited, 0);
    assert.deepEqual(messages(follower.stdout()), ['before follow', 'appended 1', 'after rotation']);
  });

  test('waits for a log file that does not exist yet; a real kiln server writing it, found by request id', { timeout: 120_000 }, async () => {
    const dir = join(root, 'server-logs');
    const follower = spawnKiln(['logs', '-f', '--log-dir', dir, '--service', 'tracking', '--request', 'req-2']);
    const server = spawnKiln(['server', '--port', '0', '--home', join(root, 'server-home'), '--log-dir', dir, '--json']);
    try {
      await server.waitFor(/"url"/);
      const { url } = JSON.parse(server.stdout().trim().split('\n')[0]!) as { url: string };
      assert.equal((await fetch(`${url}/health`)).status, 200);
      assert.equal((await fetch(`${url}/api/2.0/mlflow/experiments/get?experiment_id=424242`)).status, 404);
      await follower.waitFor(/request completed/);
    } finally {
      server.child.kill('SIGTERM');
      follower.child.kill('SIGTERM');
      await server.exited;
    }
    assert.equal(await follower.exited, 0);
    assert.match(follower.stdout(), /^\S+ INFO {2}tracking request completed {2}GET \/api\/2\.0\/mlflow\/experiments\/get\?experiment_id=424242 404 [\d.]+ ms {2}request_id=req-2\n$/);
  });
});
