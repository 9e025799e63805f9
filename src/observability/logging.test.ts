import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, test } from 'node:test';
import { LogSink, logFunction, resolveLogDir, scrubSecrets } from './logging.js';
import { RotatingFile } from './rotating-file.js';

const root = mkdtempSync(join(tmpdir(), 'kiln-logs-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => join(root, String(n++));

const DAY = 24 * 60 * 60 * 1000;
const lines = (path: string): Record<string, unknown>[] =>
  existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];

function captured(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

describe('structured logs', () => {
  test('every line is JSON with time, level, service, message and the bound context', () => {
    const dir = freshDir();
    const sink = new LogSink({ dir, terminal: null });
    const logger = sink.logger('trainer', { study: 'quick' }).child({ run_id: 'r1', trial: 3 });
    logger.info('epoch 1/8 done');
    sink.close();
    const [line] = lines(join(dir, 'server_log.log'));
    assert.ok(line);
    assert.equal(line.level, 'info');
    assert.equal(line.service, 'trainer');
    assert.equal(line.message, 'epoch 1/8 done');
    assert.equal(line.study, 'quick');
    assert.equal(line.run_id, 'r1');
    assert.equal(line.trial, 3);
    assert.ok(!Number.isNaN(Date.parse(String(line.time))), `time is ISO 8601: ${String(line.time)}`);
  });

  test('each service has its file; warnings and errors of all of them also go to system_log.log; everything to app_combined.log', () => {
    const dir = freshDir();
    const sink = new LogSink({ dir, terminal: null });
    const api = sink.logger('api');
    const trainer = sink.logger('trainer');
    const tracking = sink.logger('tracking');
    api.info('api up');
    trainer.info('training');
    trainer.error(new Error('out of memory'), 'trial 2 failed');
    api.warn('slow model load');
    tracking.info('tracking up');
    sink.close();
    const messages = (file: string): unknown[] => lines(join(dir, file)).map((l) => l.message);
    assert.deepEqual(messages('api_log.log'), ['api up', 'slow model load']);
    assert.deepEqual(messages('server_log.log'), ['training', 'trial 2 failed']);
    assert.deepEqual(messages('tracking_log.log'), ['tracking up']);
    assert.deepEqual(messages('system_log.log'), ['trial 2 failed', 'slow model load']);
    assert.deepEqual(messages('app_combined.log'), ['api up', 'training', 'trial 2 failed', 'slow model load', 'tracking up']);
    const failure = lines(join(dir, 'system_log.log'))[0]!;
    assert.equal((failure.err as { message: string }).message, 'out of memory');
    assert.equal(failure.level, 'error');
  });

  test('tokens, passwords and authorization headers never reach a log line', () => {
    const dir = freshDir();
    const terminal = captured();
    const sink = new LogSink({ dir, terminal: terminal.stream, pretty: true, env: { KILN_SERVER_TOKEN: 'tok-123456789', KILN_TRACKING_PASSWORD: 'pa55word!' } });
    const logger = sink.logger('api');
    logger.info({ headers: { authorization: 'Bearer abc.def.ghi' }, password: 'hunter2', config: { token: 'zzz-token' } }, 'request with credentials');
    logger.warn('connecting to postgresql://kiln:s3cretpw@db:5432/kiln?password=also-secret');
    logger.error('auth failed for Authorization: Basic dXNlcjpwYXNzd29yZA==; token=abcdef1234');
    logger.info('server started with token tok-123456789 and tracking password pa55word!');
    logger.info({ req: { headers: { authorization: 'Bearer qwertyuiop' } } }, 'raw request');
    sink.close();
    const everything = readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8')).join('\n') + terminal.text();
    for (const secret of ['abc.def.ghi', 'hunter2', 'zzz-token', 's3cretpw', 'also-secret', 'dXNlcjpwYXNzd29yZA', 'abcdef1234', 'tok-123456789', 'pa55word!', 'qwertyuiop']) {
      assert.ok(!everything.includes(secret), `secret ${secret} leaked into a log`);
    }
    assert.match(everything, /postgresql:\/\/kiln:\[REDACTED\]@db:5432/);
    assert.match(everything, /"password":"\[REDACTED\]"/);
    assert.equal(lines(join(dir, 'api_log.log')).length, 5);
  });

  test('scrubSecrets leaves ordinary text alone', () => {
    const line = 'listening on http://127.0.0.1:8000, model models:/fashion-mnist@champion version 3 (val_acc 0.89)';
    assert.equal(scrubSecrets(line), line);
  });

  test('the terminal gets the plain message (pretty with time, level and context on a TTY); per-request lines stay in the files', () => {
    const plain = captured();
    const pretty = captured();
    const dir = freshDir();
    const sinkPlain = new LogSink({ dir, terminal: plain.stream, pretty: false });
    const sinkPretty = new LogSink({ dir: null, terminal: pretty.stream, pretty: true });
    for (const sink of [sinkPlain, sinkPretty]) {
      const logger = sink.logger('api');
      logger.info({ run_id: 'abc' }, 'kiln serve listening on http://127.0.0.1:8000');
      logger.info({ request_id: 'req-1', res: { statusCode: 200 } }, 'request completed');
      logger.warn({ request_id: 'req-2' }, 'slow request');
      sink.close();
    }
    assert.equal(plain.text(), 'kiln serve listening on http://127.0.0.1:8000\nslow request\n');
    assert.match(pretty.text(), /\d\d:\d\d:\d\d.*INFO .*api.* kiln serve listening on http:\/\/127\.0\.0\.1:8000 .*run_id=abc/);
    assert.doesNotMatch(pretty.text(), /request completed/);
    assert.equal(lines(join(dir, 'api_log.log')).length, 3);
  });

  test('logFunction turns failure reports into warnings (so they reach system_log.log)', () => {
    const dir = freshDir();
    const sink = new LogSink({ dir, terminal: null });
    const log = logFunction(sink.logger('trainer'));
    log('epoch 1 done');
    log('tracking: 3 metric points could not be stored: timeout');
    log('worker 2 failed with code 1');
    sink.close();
    assert.deepEqual(lines(join(dir, 'system_log.log')).map((l) => l.level), ['warn', 'warn']);
    assert.equal(lines(join(dir, 'app_combined.log')).length, 3);
  });

  test('the log folder: --log-dir, else $KILN_LOG_DIR, else ./Logs', () => {
    assert.equal(resolveLogDir('/x/logs', { KILN_LOG_DIR: '/y' }), '/x/logs');
    assert.equal(resolveLogDir(undefined, { KILN_LOG_DIR: '/y' }), '/y');
    assert.equal(resolveLogDir(undefined, {}), join(process.cwd(), 'Logs'));
  });
});

describe('log rotation', () => {
  const start = Date.parse('2026-03-01T10:00:00Z');

  test('a new day moves the file to a dated backup and starts an empty one', () => {
    const dir = freshDir();
    let now = start;
    const file = new RotatingFile({ dir, file: 'api_log.log', now: () => now });
    file.write('day one\n');
    now += DAY;
    file.write('day two\n');
    file.close();
    assert.equal(readFileSync(join(dir, 'api_log.log'), 'utf8'), 'day two\n');
    assert.equal(readFileSync(join(dir, 'api_log.log.2026-03-01'), 'utf8'), 'day one\n');
  });

  test('a file that would outgrow the size cap is rotated within the day (.1, .2, …)', () => {
    const dir = freshDir();
    const file = new RotatingFile({ dir, file: 'x.log', maxBytes: 100, now: () => start });
    const line = `${'a'.repeat(39)}\n`; // 40 bytes
    for (let i = 0; i < 7; i++) file.write(line);
    file.close();
    assert.deepEqual(file.backups(), ['x.log.2026-03-01', 'x.log.2026-03-01.1', 'x.log.2026-03-01.2']);
    for (const name of [...file.backups(), 'x.log']) assert.ok(readFileSync(join(dir, name)).length <= 100, name);
    assert.equal(readFileSync(join(dir, 'x.log'), 'utf8'), line);
  });

  test('backups older than 30 days are deleted: 40 days of logs leave the last 30 days', () => {
    const dir = freshDir();
    let now = start;
    const file = new RotatingFile({ dir, file: 'server_log.log', now: () => now });
    for (let day = 0; day < 40; day++) {
      file.write(`day ${day}\n`);
      now += DAY;
    }
    file.write('today\n');
    file.close();
    const backups = file.backups();
    assert.equal(backups.length, 30);
    assert.equal(backups[0], `server_log.log.${new Date(start + 10 * DAY).toISOString().slice(0, 10)}`);
    assert.equal(backups.at(-1), `server_log.log.${new Date(start + 39 * DAY).toISOString().slice(0, 10)}`);
    assert.equal(readFileSync(join(dir, backups[0]!), 'utf8'), 'day 10\n');
  });

  test('maxBackups bounds the count whatever the age', () => {
    const dir = freshDir();
    const file = new RotatingFile({ dir, file: 'y.log', maxBytes: 10, maxBackups: 3, now: () => start });
    for (let i = 0; i < 10; i++) file.write('123456789\n');
    file.close();
    assert.deepEqual(file.backups(), ['y.log.2026-03-01.6', 'y.log.2026-03-01.7', 'y.log.2026-03-01.8']);
  });

  test('a log left by a run on an earlier day is rotated when the next run opens it', () => {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'api_log.log'), 'yesterday\n');
    const yesterday = new Date(start - DAY);
    utimesSync(join(dir, 'api_log.log'), yesterday, yesterday);
    const file = new RotatingFile({ dir, file: 'api_log.log', now: () => start });
    file.write('today\n');
    file.close();
    assert.equal(readFileSync(join(dir, 'api_log.log.2026-02-28'), 'utf8'), 'yesterday\n');
    assert.equal(readFileSync(join(dir, 'api_log.log'), 'utf8'), 'today\n');
  });

  test('LogSink rotates every file on the injected clock', () => {
    const dir = freshDir();
    let now = start;
    const sink = new LogSink({ dir, terminal: null, now: () => now, rotation: { now: () => now } });
    const logger = sink.logger('api');
    logger.warn('first day');
    now += DAY;
    logger.warn('second day');
    sink.close();
    const names = readdirSync(dir).sort();
    assert.deepEqual(names, [
      'api_log.log', 'api_log.log.2026-03-01',
      'app_combined.log', 'app_combined.log.2026-03-01',
      'system_log.log', 'system_log.log.2026-03-01',
    ]);
    assert.equal(lines(join(dir, 'system_log.log'))[0]!.time, '2026-03-02T10:00:00.000Z');
  });
});
