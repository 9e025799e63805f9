import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { checkModelUri, parseRegistryUri, resolveModelUri } from './model-source.js';

describe('model URIs', () => {
  test('models:/name@alias and models:/name/version', () => {
    assert.deepEqual(parseRegistryUri('models:/fashion-mnist@champion'), { name: 'fashion-mnist', alias: 'champion' });
    assert.deepEqual(parseRegistryUri('models:/fashion-mnist/3'), { name: 'fashion-mnist', version: '3' });
    assert.equal(parseRegistryUri('./kiln-data/models/latest'), null);
  });

  test('a folder is served as is; a malformed models: URI is refused', async () => {
    assert.deepEqual(await resolveModelUri('/tmp/some-model', { home: '/tmp/none' }), { folder: '/tmp/some-model', name: '', version: 'local', source: '/tmp/some-model' });
    await assert.rejects(resolveModelUri('models:fashion', { home: '/tmp/none' }), /bad model URI/);
  });

  test('a pinned version that does not exist is an error, not something to wait for; an alias is left to the wait', async () => {
    const home = await mkdtemp(join(tmpdir(), 'kiln-model-source-'));
    try {
      const notFound = (pattern: RegExp) => (error: unknown): boolean => {
        assert.equal((error as { code?: string }).code, 'KILN_ERR_MODEL_VERSION_NOT_FOUND');
        assert.match((error as Error).message, pattern);
        return true;
      };
      await assert.rejects(resolveModelUri('models:/fashion-mnist/3', { home, env: {} }), notFound(/no model named fashion-mnist is registered/));
      await assert.rejects(checkModelUri('models:/fashion-mnist/3', { home, env: {} }), notFound(/only an alias, models:\/fashion-mnist@<alias>, is waited for/));
      await checkModelUri('models:/fashion-mnist@champion', { home, env: {} });
      await assert.rejects(checkModelUri(join(home, 'no-model'), { home, env: {} }), /KILN_ERR_MODEL_NOT_FOUND|no Kiln model at/);
      await assert.rejects(checkModelUri('models:fashion', { home, env: {} }), /bad model URI/);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
