/**
 * cli/readme-quickstart.test — runs the README's quickstart as a newcomer would: the commands of its
 * first `sh` block (train, serve, curl the shipped sample images, stop), in a fresh folder, against a
 * real `kiln serve` on a real port, and checks the answers the README shows are the ones that come.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { KILN_BIN, REAL_DATA, SKIP_WITHOUT_DATA } from './test-helpers.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const README = readFileSync(join(REPO, 'README.md'), 'utf8');
const CURL = ['/usr/bin/curl', '/bin/curl'].find((path) => existsSync(path));
const run = promisify(execFile);

/** The README's "## Quickstart" section: its first `sh` block (commands) and its first `json` block (answers). */
function quickstart(): { commands: string[]; answers: Record<string, unknown>[] } {
  const start = README.indexOf('\n## Quickstart');
  assert.ok(start >= 0, 'the README has no "## Quickstart" section');
  const section = README.slice(start + 1, README.indexOf('\n## ', start + 1));
  const block = (lang: string): string[] => {
    const match = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(section);
    assert.ok(match, `the Quickstart section has no ${lang} block`);
    return match[1]!.split('\n').map((line) => line.replace(/\s+#.*$/, '').trim()).filter(Boolean);
  };
  return { commands: block('sh'), answers: block('json').map((line) => JSON.parse(line) as Record<string, unknown>) };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitReady(url: string, child: ChildProcess): Promise<void> {
  for (;;) {
    assert.equal(child.exitCode, null, 'kiln serve exited before it was ready');
    const ready = await fetch(url).then((res) => res.ok, () => false);
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('README quickstart, run as written', { skip: SKIP_WITHOUT_DATA || (!CURL && 'curl is not installed') }, () => {
  let dir = '';
  let port = 0;
  let serve: ChildProcess | undefined;
  // A newcomer's environment: none of the developer's Kiln or MLflow settings, only where the data is.
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(KILN|MLFLOW)_/.test(key)));
  env.KILN_DATA_DIR = REAL_DATA;
  // `npx kiln` is this checkout's bin; the API's port is a free one instead of 8000 (other tests run alongside).
  const local = (command: string): string =>
    command.replace(/^npx kiln /, `"${process.execPath}" "${KILN_BIN}" `).replaceAll('127.0.0.1:8000', `127.0.0.1:${port}`);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-quickstart-'));
    // A checkout's view: the sample images at docs/sample-images, kiln-data/ and Logs/ written here.
    await symlink(join(REPO, 'docs'), join(dir, 'docs'));
    env.KILN_LOG_DIR = join(dir, 'Logs');
    port = await freePort();
  });
  after(async () => {
    if (serve && serve.exitCode === null) serve.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  test('train, serve, and classify docs/sample-images with curl: the README shows the answers that come back', { timeout: 600_000 }, async () => {
    const { commands, answers } = quickstart();
    assert.deepEqual(
      commands.map((command) => command.split(' ').slice(0, 3).join(' ')),
      ['npx kiln train', 'npx kiln serve', 'curl -s -F', 'curl -s -F', 'kill %1'],
      'the quickstart is train, serve in the background, two curl calls, stop',
    );
    const served: Record<string, unknown>[] = [];
    for (const command of commands) {
      if (command.startsWith('npx kiln train')) {
        const { stdout } = await run('bash', ['-c', local(command)], { cwd: dir, env, maxBuffer: 1 << 24 });
        assert.match(stdout, /model saved to kiln-data\/models\/quickstart/);
        assert.ok(existsSync(join(dir, 'kiln-data', 'tracking.db')), 'the run is tracked in ./kiln-data/tracking.db, as "Where files go" says');
      } else if (command.startsWith('npx kiln serve')) {
        assert.ok(command.endsWith('&'), 'the quickstart runs the API in the background');
        const line = local(command.slice(0, -1).trim()) + ` --port ${port}`;
        serve = spawn('bash', ['-c', `exec ${line}`], { cwd: dir, env, stdio: 'ignore' });
        await waitReady(`http://127.0.0.1:${port}/ready`, serve);
      } else if (command.startsWith('curl ')) {
        const { stdout } = await run('bash', ['-c', local(command)], { cwd: dir, env });
        served.push(JSON.parse(stdout) as Record<string, unknown>);
      } else {
        assert.equal(command, 'kill %1');
        const exited = new Promise<number | null>((resolve) => serve!.once('exit', (code) => resolve(code)));
        serve!.kill('SIGTERM');
        assert.equal(await exited, 0, 'kiln serve drains and exits 0 on SIGTERM');
      }
    }
    assert.equal(served.length, answers.length, 'one answer shown per curl command');
    served.forEach((answer, i) => {
      const shown = answers[i]!;
      assert.deepEqual(Object.keys(answer).sort(), Object.keys(shown).sort(), `answer ${i}: the fields the README shows`);
      assert.deepEqual([answer.prediction, answer.class_id, answer.model], [shown.prediction, shown.class_id, shown.model], `answer ${i}`);
      assert.ok(Math.abs((answer.confidence as number) - (shown.confidence as number)) < 0.05, `answer ${i}: confidence ${String(answer.confidence)}`);
    });
  });
});
