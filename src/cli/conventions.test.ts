import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { initEngine } from '../engine/index.js';
import { TEST_MLP, writeTestModelFolder } from '../models/onnx/test-helpers.js';
import { openTracking } from '../tracking/client/index.js';
import { KILN_BIN, type KilnRun, REAL_DATA, runKiln, SKIP_WITHOUT_DATA, SKIP_WITHOUT_SCRIPT, spawnKiln } from './test-helpers.js';

const root = await mkdtemp(join(tmpdir(), 'kiln-cli-conventions-'));
after(() => rm(root, { recursive: true, force: true }));

/** Every stdout line is a JSON object: nothing readable slipped in. */
function assertOnlyJson(run: KilnRun, what: string): void {
  const lines = run.stdout.split('\n').filter((line) => line !== '');
  assert.ok(lines.length > 0, `${what}: nothing on stdout`);
  for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), `${what}: stdout line is not JSON: ${line}`);
}

const errorOf = (run: KilnRun): { code: string; message: string; hint?: string } => run.json.error as { code: string; message: string; hint?: string };

/** A port something else holds for the duration of a test. */
async function occupiedPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, server };
}

describe('--json: only JSON on stdout, for every command', () => {
  const home = join(root, 'registry-home');
  let runId = '';

  before(async () => {
    // A run holding a model folder, in the embedded store the commands below read.
    await initEngine({ quiet: true });
    const folder = join(root, 'model');
    (await writeTestModelFolder(folder, TEST_MLP)).dispose();
    const tracking = await openTracking({ home, env: {} });
    try {
      const run = await tracking.store.createRun({ experiment_id: '0' });
      await tracking.artifacts.uploadDirectory(folder, run.info.artifact_uri, 'model');
      runId = run.info.run_id;
    } finally {
      await tracking.close();
    }
  });

  test('kiln models register, alias, list, versions and history', async () => {
    const steps: [string, string[]][] = [
      ['models register', ['models', 'register', '--run', runId]],
      ['models alias', ['models', 'alias', '1', '--reason', 'first']],
      ['models list', ['models', 'list']],
      ['models versions', ['models', 'versions']],
      ['models history', ['models', 'history']],
    ];
    for (const [what, args] of steps) {
      const run = await runKiln([...args, '--home', home, '--json']);
      assert.equal(run.code, 0, `${what}: ${run.stderr}`);
      assert.equal(run.stdout.trim().split('\n').length, 1, `${what}: one line on stdout, got ${run.stdout}`);
      assertOnlyJson(run, what);
    }
    const list = await runKiln(['models', 'list', '--home', home, '--json']);
    assert.equal((list.json.registered_models as { name: string }[])[0]?.name, 'fashion-mnist');
    const history = await runKiln(['models', 'history', '--home', home, '--json']);
    assert.equal((history.json.events as { to_version: string }[])[0]?.to_version, '1');
    const readable = await runKiln(['models', 'list', '--home', home]);
    assert.match(readable.stdout, /^fashion-mnist {2}latest 1 {2}@champion=1\n$/, 'without --json the readable line');
  });

  test('kiln tune --workers 2: the worker processes print nothing on the parent\'s stdout', { skip: SKIP_WITHOUT_DATA, timeout: 600_000 }, async () => {
    const run = await runKiln(['tune', '--profile', 'seed', '--n-trials', '2', '--epochs', '1', '--workers', '2', '--home', join(root, 'workers-home'), '--data-dir', REAL_DATA!, '--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim().split('\n').length, 1, run.stdout);
    assert.equal((run.json.trials as { total: number }).total, 2);
    assert.match(run.stderr, /\[worker 1\]/, 'the worker did run, and its lines went to stderr');
  });

  test('a failure of every command: the error object alone on stdout', async () => {
    const failures: string[][] = [
      ['train', '--epochs', 'ten'],
      ['tune', '--workers', 'many'],
      ['start', '--port', 'x'],
      ['server', '--port', '-1'],
      ['serve', '--model-uri', join(root, 'no-model')],
      ['models', 'list', '--tracking-uri', 'ftp://x'],
      ['models', 'history', '--home', home, '--name', 'unknown-model'],
      ['logs', '--log-dir', join(root, 'no-logs')],
      ['train', '--no-such-flag'],
    ];
    for (const args of failures) {
      const run = await runKiln([...args, '--json']);
      assert.notEqual(run.code, 0, args.join(' '));
      assert.equal(run.stdout.trim().split('\n').length, 1, `${args.join(' ')}: ${run.stdout}`);
      assert.equal(typeof errorOf(run)?.code, 'string', `${args.join(' ')}: ${run.stdout}`);
      assert.match(run.stderr, /error/, 'the readable error goes to stderr');
    }
  });
});

describe('exit status 2 for a usage error, 1 for a failure at run time; codes that say what happened', () => {
  const usageErrors: { args: string[]; code: string; message: RegExp }[] = [
    { args: ['train', '--no-such-flag'], code: 'KILN_ERR_USAGE', message: /unknown option '--no-such-flag'/ },
    { args: ['models', 'alias', '--home', join(root, 'h')], code: 'KILN_ERR_USAGE', message: /give the version/ },
    { args: ['serve'], code: 'KILN_ERR_USAGE', message: /required option '--model-uri <uri>' not specified/ },
    { args: ['tune', '--profile', 'seed', '--workers', '0'], code: 'KILN_ERR_CONFIG', message: /study\.workers/ },
    { args: ['tune', '--profile', 'no-such-profile'], code: 'KILN_ERR_CONFIG', message: /no-such-profile/ },
    { args: ['server', '--port', '70000'], code: 'KILN_ERR_INVALID_OPTION', message: /invalid --port: expected a port number from 0 to 65535/ },
    { args: ['serve', '--model-uri', 'x', '--port', 'http'], code: 'KILN_ERR_INVALID_OPTION', message: /invalid --port/ },
    { args: ['start', '--profile', 'seed', '--serve-port', '8o00'], code: 'KILN_ERR_INVALID_OPTION', message: /invalid --serve-port/ },
    { args: ['tune', '--profile', 'seed', '--metrics-port', '-5'], code: 'KILN_ERR_INVALID_OPTION', message: /invalid --metrics-port/ },
    { args: ['serve', '--model-uri', 'x', '--engine', 'cuda'], code: 'KILN_ERR_INVALID_OPTION', message: /invalid --engine: expected auto, onnx, gpu or tfjs/ },
    { args: ['serve', '--model-uri', 'x', '--rate-limit', 'lots'], code: 'KILN_ERR_INVALID_OPTION', message: /^invalid --rate-limit: expected <max requests>\/<window seconds> like 600\/60, got "lots"$/ },
    { args: ['serve', '--model-uri', 'models:fashion'], code: 'KILN_ERR_MODEL_URI', message: /bad model URI/ },
    { args: ['train', '--threads', 'two'], code: 'KILN_ERR_INVALID_OPTION', message: /invalid --threads/ },
    { args: ['train', '--lr', '0'], code: 'KILN_ERR_INVALID_HYPERPARAMETER', message: /invalid lr/ },
    { args: ['server', '--backend-store-uri', 'http://127.0.0.1:5000'], code: 'KILN_ERR_INVALID_TRACKING_URI', message: /invalid store URI/ },
    { args: ['logs', '--since', 'last tuesday'], code: 'KILN_ERR_INVALID_OPTION', message: /invalid --since/ },
  ];
  for (const { args, code, message } of usageErrors) {
    test(`kiln ${args.join(' ')} → 2, ${code}`, async () => {
      const run = await runKiln([...args, '--json']);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(errorOf(run).code, code, run.stdout);
      assert.match(errorOf(run).message, message);
      assert.doesNotMatch(errorOf(run).message, /hyperparameter/i);
    });
  }

  test('a malformed tracking URI, from the flag or the environment, lists every accepted scheme', async () => {
    for (const [args, env, source] of [
      [['models', 'list', '--tracking-uri', 'localhost:5000'], {}, '--tracking-uri'],
      [['train', '--tracking-uri', 'htp://x'], {}, '--tracking-uri'],
      [['models', 'versions'], { KILN_TRACKING_URI: 'mysql://u:secret@db/kiln' }, '$KILN_TRACKING_URI'],
      [['serve', '--model-uri', 'models:/m@champion', '--tracking-uri', 'http://'], {}, '--tracking-uri'],
    ] as const) {
      const run = await runKiln([...args, '--json'], env);
      assert.equal(run.code, 2, run.stderr);
      const error = errorOf(run);
      assert.equal(error.code, 'KILN_ERR_INVALID_TRACKING_URI');
      assert.ok(error.message.includes(`(from ${source})`), error.message);
      for (const scheme of ['http://', 'https://', 'sqlite:///', 'postgresql://']) assert.ok(error.message.includes(scheme), `${scheme} in ${error.message}`);
      assert.ok(!error.message.includes('secret'), 'credentials are not repeated');
    }
  });

  test('a port in use is KILN_ERR_PORT_IN_USE with a hint naming the flag, for every command that listens', async () => {
    const { port, server } = await occupiedPort();
    try {
      const cases: { args: string[]; flag: string }[] = [
        { args: ['server', '--port', String(port), '--home', join(root, 'ports')], flag: '--port' },
        { args: ['serve', '--model-uri', join(root, 'model'), '--port', String(port)], flag: '--port' },
        { args: ['tune', '--profile', 'seed', '--metrics-port', String(port), '--home', join(root, 'ports')], flag: '--metrics-port' },
        { args: ['start', '--profile', 'seed', '--port', '0', '--metrics-port', '0', '--serve-port', String(port), '--home', join(root, 'ports')], flag: '--serve-port' },
        { args: ['start', '--profile', 'seed', '--port', String(port), '--metrics-port', '0', '--serve-port', '0', '--home', join(root, 'ports')], flag: '--port' },
      ];
      for (const { args, flag } of cases) {
        const run = await runKiln([...args, '--json']);
        assert.equal(run.code, 1, `${args.join(' ')}: ${run.stderr}`);
        const error = errorOf(run);
        assert.equal(error.code, 'KILN_ERR_PORT_IN_USE', `${args.join(' ')}: ${run.stdout}`);
        assert.match(error.message, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use \\(${flag}\\)`));
        assert.ok(error.hint?.includes(`pass ${flag} <another port>`), error.hint);
        assert.match(run.stderr, new RegExp(`hint: .*${flag}`));
        // Nothing started before the port was found taken: no data read, no study, no server.
        assert.doesNotMatch(run.stderr, /data: |tuning: |web UI|listening (at|on)/, `${args.join(' ')}: ${run.stderr}`);
      }
    } finally {
      server.close();
    }
  });
});

describe('an explicit data directory is the only source', () => {
  test('--data-dir (or $KILN_DATA_DIR) without the files fails before anything starts, naming the folder and the files', async () => {
    const empty = join(root, 'empty-data');
    await mkdir(empty, { recursive: true });
    const cases: { args: string[]; env: Record<string, string>; dir: string }[] = [
      { args: ['train', '--data-dir', empty, '--no-tracking'], env: {}, dir: empty },
      { args: ['tune', '--profile', 'seed', '--data-dir', join(root, 'no-such-dir'), '--home', join(root, 'tune-home')], env: {}, dir: join(root, 'no-such-dir') },
      { args: ['train', '--no-tracking'], env: { KILN_DATA_DIR: empty }, dir: empty },
    ];
    for (const { args, env, dir } of cases) {
      const run = await runKiln([...args, '--json'], env);
      assert.equal(run.code, 1, run.stderr);
      const error = errorOf(run);
      assert.equal(error.code, 'KILN_ERR_DATA_NOT_FOUND');
      assert.match(error.message, /does not fall back to the Debian package, the cache or a download/);
      assert.ok(error.message.includes(dir), error.message);
      assert.doesNotMatch(run.stderr, /engine: |data: /, 'no engine loaded, no data read');
    }
  });
});

describe('kiln serve: what waiting cannot mend fails at once', () => {
  const home = join(root, 'serve-home');

  before(async () => {
    await initEngine({ quiet: true });
    const folder = join(root, 'serve-model');
    (await writeTestModelFolder(folder, TEST_MLP)).dispose();
    const tracking = await openTracking({ home, env: {} });
    try {
      for (let i = 0; i < 2; i++) {
        const run = await tracking.store.createRun({ experiment_id: '0' });
        await tracking.artifacts.uploadDirectory(folder, run.info.artifact_uri, 'model');
        const registered = await runKiln(['models', 'register', '--run', run.info.run_id, '--home', home, '--json']);
        assert.equal(registered.code, 0, registered.stderr);
      }
    } finally {
      await tracking.close();
    }
  });

  test('a pinned version that does not exist: exit 1 with the versions that exist, before the server listens', { timeout: 120_000 }, async () => {
    const run = await runKiln(['serve', '--model-uri', 'models:/fashion-mnist/7', '--home', home, '--port', '0', '--json']);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(errorOf(run).code, 'KILN_ERR_MODEL_VERSION_NOT_FOUND');
    assert.match(errorOf(run).message, /fashion-mnist has no version 7; its versions are 1, 2/);
    assert.doesNotMatch(run.stderr, /listening/i);
    const unknown = await runKiln(['serve', '--model-uri', 'models:/no-such-model/1', '--home', home, '--port', '0', '--json']);
    assert.equal(unknown.code, 1, unknown.stderr);
    assert.match(errorOf(unknown).message, /no model named no-such-model is registered/);
  });

  test('a pinned version that exists is served', { timeout: 120_000 }, async () => {
    const serving = spawnKiln(['serve', '--model-uri', 'models:/fashion-mnist/2', '--home', home, '--port', '0', '--json']);
    try {
      await serving.waitFor(/"version":"2"/);
      const { url } = JSON.parse(serving.stdout().trim().split('\n')[0]!) as { url: string };
      assert.equal((await fetch(`${url}/ready`)).status, 200);
    } finally {
      serving.child.kill('SIGTERM');
      assert.equal(await serving.exited, 0);
    }
  });

  test('an alias that is not set yet is still waited for', { timeout: 120_000 }, async () => {
    const waiting = spawnKiln(['serve', '--model-uri', 'models:/fashion-mnist@staging', '--home', home, '--port', '0', '--retry-max', '60']);
    try {
      await waiting.waitFor(/waiting for models:\/fashion-mnist@staging: no such alias yet/);
    } finally {
      waiting.child.kill('SIGTERM');
      assert.equal(await waiting.exited, 0);
    }
  });

  test('a folder without a model fails before "Server listening"', async () => {
    const run = await runKiln(['serve', '--model-uri', join(root, 'not-a-model'), '--port', '0']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /error \[KILN_ERR_MODEL_NOT_FOUND\]: no Kiln model at/);
    assert.doesNotMatch(run.stdout + run.stderr, /listening/i);
  });
});

describe('colours: only on a terminal, never with NO_COLOR', { skip: SKIP_WITHOUT_SCRIPT }, () => {
  const ESC = '\x1b[';

  /** Runs `kiln server` on a terminal until it says it listens, then stops it; resolves with what it printed. */
  async function serverOnTerminal(env: Record<string, string>): Promise<string> {
    const child = spawn('script', ['-qefc', `exec ${process.execPath} ${KILN_BIN} server --port 0 --home ${join(root, 'tty-home')} --log-dir ${join(root, 'tty-logs')}`, '/dev/null'], {
      env: { ...process.env, NO_COLOR: '', TERM: 'xterm-256color', ...env },
    });
    let output = '';
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('kiln tracking server listening')) resolve();
      });
      void exited.then(() => reject(new Error(`kiln server ended before listening: ${output}`)));
    });
    child.kill('SIGTERM');
    await exited;
    return output;
  }

  test('kiln server on a terminal: coloured levels; with NO_COLOR set, the same lines without escape codes', async () => {
    const coloured = await serverOnTerminal({});
    assert.ok(coloured.includes(`${ESC}32mINFO`), JSON.stringify(coloured));
    const plain = await serverOnTerminal({ NO_COLOR: '1' });
    assert.ok(!plain.includes(ESC), JSON.stringify(plain));
    assert.match(plain, /\d\d:\d\d:\d\d INFO {2}tracking kiln tracking server listening/);
  });

  test('piped, nothing is coloured', async () => {
    const server = spawnKiln(['server', '--port', '0', '--home', join(root, 'tty-home'), '--log-dir', join(root, 'tty-logs')], { NO_COLOR: '', TERM: 'xterm-256color' });
    try {
      await server.waitFor(/kiln tracking server listening/);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    assert.ok(!(server.stdout() + server.stderr()).includes(ESC), server.stdout());
  });
});
