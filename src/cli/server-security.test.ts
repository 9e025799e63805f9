/**
 * `kiln server`'s security flags, with MLflow's names and environment variables: flags win over
 * the environment, a list replaces the defaults, and a bad value stops the server at start.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { rawRequest } from '../tracking/server/test-helpers.js';
import { firstJsonLine, KILN_BIN, runKiln } from './test-helpers.js';

const SEARCH = '/api/2.0/mlflow/experiments/search';
const CLEAN_ENV = {
  MLFLOW_SERVER_ALLOWED_HOSTS: '',
  MLFLOW_SERVER_CORS_ALLOWED_ORIGINS: '',
  MLFLOW_SERVER_X_FRAME_OPTIONS: '',
  MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE: '',
};

describe('kiln server: security flags and MLflow\'s environment variables', () => {
  let home = '';
  const children: ChildProcess[] = [];

  const start = async (args: string[], env: Record<string, string>): Promise<string> => {
    const child = spawn(process.execPath, [KILN_BIN, 'server', '--home', home, '--port', '0', '--json', ...args], {
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, ...CLEAN_ENV, ...env },
    });
    children.push(child);
    return (await firstJsonLine(child)).url as string;
  };
  const status = async (url: string, host: string): Promise<number> => (await rawRequest(url, 'GET', SEARCH, undefined, { host })).status;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'kiln-server-security-'));
  });
  after(async () => {
    for (const child of children) child.kill('SIGTERM');
    await rm(home, { recursive: true, force: true });
  });

  test('--help names every flag and its environment variable', async () => {
    const help = await runKiln(['server', '--help']);
    for (const [flag, env] of [
      ['--allowed-hosts', 'MLFLOW_SERVER_ALLOWED_HOSTS'],
      ['--cors-allowed-origins', 'MLFLOW_SERVER_CORS_ALLOWED_ORIGINS'],
      ['--x-frame-options', 'MLFLOW_SERVER_X_FRAME_OPTIONS'],
      ['--disable-security-middleware', 'MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE'],
    ]) {
      assert.ok(help.stdout.includes(flag), flag);
      assert.ok(help.stdout.replace(/\s+/g, '').includes(env), env);
    }
  });

  test('defaults: loopback names answered, other names refused, X-Frame-Options SAMEORIGIN', async () => {
    const url = await start([], {});
    const port = new URL(url).port;
    assert.equal(await status(url, `localhost:${port}`), 200);
    assert.equal(await status(url, `127.0.0.1:${port}`), 200);
    assert.equal(await status(url, `attacker.example:${port}`), 403);
    assert.equal((await rawRequest(url, 'GET', '/health')).headers['x-frame-options'], 'SAMEORIGIN');
  });

  test('the environment variables configure it; a list replaces the defaults', async () => {
    const url = await start([], {
      MLFLOW_SERVER_ALLOWED_HOSTS: 'tracking, 127.0.0.1',
      MLFLOW_SERVER_CORS_ALLOWED_ORIGINS: 'https://app.example',
      MLFLOW_SERVER_X_FRAME_OPTIONS: 'deny',
    });
    const port = new URL(url).port;
    assert.equal(await status(url, `tracking:${port}`), 200);
    assert.equal(await status(url, `localhost:${port}`), 403);
    const preflight = await rawRequest(url, 'OPTIONS', '/api/2.0/mlflow/experiments/create', undefined, { origin: 'https://app.example', 'access-control-request-method': 'POST' });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], 'https://app.example');
    assert.equal((await rawRequest(url, 'GET', '/health')).headers['x-frame-options'], 'DENY');
  });

  test('flags win over the environment; MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE=true turns it off, =false does not', async () => {
    const flagged = await start(['--allowed-hosts', '*', '--x-frame-options', 'NONE'], { MLFLOW_SERVER_ALLOWED_HOSTS: 'nobody', MLFLOW_SERVER_X_FRAME_OPTIONS: 'DENY' });
    assert.equal(await status(flagged, 'anything.example'), 200);
    assert.equal((await rawRequest(flagged, 'GET', '/health')).headers['x-frame-options'], undefined);

    const off = await start([], { MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE: 'true' });
    assert.equal(await status(off, 'attacker.example'), 200);
    const on = await start([], { MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE: 'false' });
    assert.equal(await status(on, 'attacker.example'), 403);
  });

  test('an unknown --x-frame-options value stops the server with a clear error', async () => {
    const run = await runKiln(['server', '--home', home, '--port', '0', '--x-frame-options', 'ALLOW-FROM https://x.example']);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /--x-frame-options must be one of SAMEORIGIN, DENY, NONE/);
  });
});
