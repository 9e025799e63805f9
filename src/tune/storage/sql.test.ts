import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type PostgresServer, postgresBinDir, startPostgres } from '../../db/postgres-server.js';
import { defineStudyStorageContract } from './contract.js';
import { openSqlStudyStorage } from './sql.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-study-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));

defineStudyStorageContract('sqlite', () => openSqlStudyStorage(`sqlite:///${join(dir, 'tracking.db')}`));

if (postgresBinDir() === undefined) {
  test('StudyStorage contract: postgres', (t) => {
    t.skip('PostgreSQL not installed: apt-get install postgresql');
  });
} else {
  describe('postgres study storage', () => {
    let server: PostgresServer | null = null;
    let uri = '';
    before(async () => {
      server = await startPostgres();
      uri = await server.createDatabase('kiln_studies');
    });
    after(async () => {
      await server?.stop();
    });
    defineStudyStorageContract('postgres', () => openSqlStudyStorage(uri));
  });
}
