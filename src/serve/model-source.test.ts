import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseRegistryUri, resolveModelUri } from './model-source.js';

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
});
