/**
 * Runs the contract suite against a real PostgreSQL server that this file starts itself:
 * initdb in a temp dir, postgres on a free 127.0.0.1 port (unix socket in the temp dir), a fresh
 * database; stopped and removed afterwards. As root, initdb/pg_ctl run as the `postgres` user.
 * Without the PostgreSQL binaries the suite is skipped (reported as skipped, not passed).
 */
import { after, before, describe, test } from 'node:test';
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { defineContractTests } from './contract.js';
import { LATEST_SCHEMA_VERSION, openStore } from './index.js';

function findBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return join(root, versions[0], 'bin');
  }
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return join(which.stdout.trim(), '..');
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

const binDir = findBinDir();

if (binDir === undefined) {
  test('TrackingStore contract: postgres', (t) => {
    t.skip('PostgreSQL not installed: apt-get install postgresql');
  });
} else {
  const bin = binDir;
  const isRoot = process.getuid?.() === 0;
  let dir = '';
  let uri = '';
  let started = false;

  /** Runs a PostgreSQL tool, as the postgres user when we are root. */
  const pgTool = (tool: string, args: string[]): string => {
    const command = isRoot ? 'runuser' : join(bin, tool);
    const argv = isRoot ? ['-u', 'postgres', '--', join(bin, tool), ...args] : args;
    return execFileSync(command, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  };

  const stop = async () => {
    if (started) {
      try {
        pgTool('pg_ctl', ['-D', join(dir, 'data'), '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already gone
      }
      started = false;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  };

  describe('postgres backend', () => {
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'kiln-store-pg-'));
      if (isRoot) {
        const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
        const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
        chownSync(dir, uid, gid);
      }
      const port = await freePort();
      pgTool('initdb', ['-D', join(dir, 'data'), '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync']);
      pgTool('pg_ctl', [
        '-D',
        join(dir, 'data'),
        '-l',
        join(dir, 'server.log'),
        '-w',
        '-t',
        '60',
        '-o',
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -F -c full_page_writes=off`,
        'start',
      ]);
      started = true;
      const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
      await admin.connect();
      await admin.query('CREATE DATABASE kiln_contract');
      await admin.end();
      uri = `postgresql://postgres@127.0.0.1:${port}/kiln_contract`;
    });

    after(stop);

    defineContractTests('postgres', () => openStore(uri, { artifactRoot: 's3://bucket/artifacts' }));

    test('two stores opening a fresh database at once migrate it exactly once', async () => {
      const admin = await openStore(uri);
      await admin.close();
      const client = new pg.Client({ connectionString: uri.replace('/kiln_contract', '/postgres') });
      await client.connect();
      await client.query('CREATE DATABASE kiln_race');
      await client.end();
      const raceUri = uri.replace('/kiln_contract', '/kiln_race');
      const stores = await Promise.all([openStore(raceUri), openStore(raceUri), openStore(raceUri)]);
      try {
        const check = new pg.Client({ connectionString: raceUri });
        await check.connect();
        const versions = await check.query('SELECT version FROM schema_version');
        const defaults = await check.query("SELECT COUNT(*)::int AS n FROM experiments WHERE name = 'Default'");
        await check.end();
        if (versions.rowCount !== LATEST_SCHEMA_VERSION || defaults.rows[0].n !== 1) throw new Error(`bad migration state: ${JSON.stringify([versions.rows, defaults.rows])}`);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });
  });
}
