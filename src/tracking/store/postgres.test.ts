/**
 * Runs the contract suite against a real PostgreSQL server that this file starts itself:
 * initdb in a temp dir, postgres on a free 127.0.0.1 port (unix socket in the temp dir), a fresh
 * database; stopped and removed afterwards. As root, initdb/pg_ctl run as the `postgres` user.
 * Without the PostgreSQL binaries the suite is skipped (reported as skipped, not passed).
 */
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { defineContractTests } from './contract.js';
import { LATEST_SCHEMA_VERSION, openStore } from './index.js';
import { type PostgresServer, postgresBinDir, startPostgres } from '../../db/postgres-server.js';

const binDir = postgresBinDir();

if (binDir === undefined) {
  test('TrackingStore contract: postgres', (t) => {
    t.skip('PostgreSQL not installed: apt-get install postgresql');
  });
} else {
  let server: PostgresServer | null = null;
  let uri = '';

  describe('postgres backend', () => {
    before(async () => {
      server = await startPostgres();
      uri = await server.createDatabase('kiln_contract');
    });

    after(async () => {
      await server?.stop();
    });

    defineContractTests('postgres', () => openStore(uri, { artifactRoot: 's3://bucket/artifacts' }));

    test('two stores opening a fresh database at once migrate it exactly once', async () => {
      const admin = await openStore(uri);
      await admin.close();
      const raceUri = await (server as PostgresServer).createDatabase('kiln_race');
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
