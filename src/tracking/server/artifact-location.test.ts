/**
 * experiments/create accepts only artifact locations the server owns: its proxied
 * `mlflow-artifacts:` scheme and paths inside its artifacts destination. A location naming
 * another host (http, ftp, s3, a `mlflow-artifacts://host`) would send every client of every run
 * of the experiment there.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { API, call, startTestServer, type TestServer } from './test-helpers.js';

describe('experiments/create: artifact_location', () => {
  let server: TestServer;
  let counter = 0;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.close();
  });

  const create = (artifact_location: string) => call(server.url, 'POST', `${API}/experiments/create`, { name: `loc-${counter++}`, artifact_location });
  const locationOf = async (id: string): Promise<string> =>
    (await call(server.url, 'GET', `${API}/experiments/get?experiment_id=${id}`)).json.experiment.artifact_location as string;

  test('URLs of other hosts are refused with 400 INVALID_PARAMETER_VALUE, and nothing is created', async () => {
    const refused = [
      'http://169.254.169.254/latest/meta-data',
      'https://attacker.example/upload',
      'HTTP://127.0.0.1:8080/x',
      'ftp://files.example/pub',
      's3://bucket/prefix',
      'gs://bucket/prefix',
      'hdfs://namenode/x',
      'sftp://host/x',
      'mlflow-artifacts://attacker.example:5000/x',
      'file://attacker.example/share',
      'runs:/0123/artifacts',
    ];
    for (const location of refused) {
      const reply = await create(location);
      assert.equal(reply.status, 400, `${location}: ${reply.text}`);
      assert.equal(reply.json.error_code, 'INVALID_PARAMETER_VALUE');
      assert.match(reply.json.message, /^Invalid artifact_location/);
    }
    const all = await call(server.url, 'POST', `${API}/experiments/search`, { max_results: 1000, view_type: 'ALL' });
    assert.equal((all.json.experiments as { name: string }[]).filter((e) => e.name.startsWith('loc-')).length, 0);
  });

  test('paths that leave the artifacts destination are refused', async () => {
    for (const location of ['/etc', '/tmp/elsewhere', 'relative/path', `${server.dest}/../outside`, server.dest, 'mlflow-artifacts:/a/../../b', 'mlflow-artifacts:', 'C:\\Windows', `${server.dest}\0x`]) {
      const reply = await create(location);
      assert.equal(reply.status, 400, `${location}: ${reply.text}`);
      assert.equal(reply.json.error_code, 'INVALID_PARAMETER_VALUE');
    }
  });

  test('the server\'s own locations are accepted (normalised)', async () => {
    const proxied = await create('mlflow-artifacts:/team/shared');
    assert.equal(proxied.status, 200, proxied.text);
    assert.equal(await locationOf(proxied.json.experiment_id as string), 'mlflow-artifacts:/team/shared');

    const local = await create(join(server.dest, 'local', 'place'));
    assert.equal(local.status, 200, local.text);
    const fileUri = pathToFileURL(join(server.dest, 'by-uri')).href;
    const byUri = await create(fileUri);
    assert.equal(byUri.status, 200, byUri.text);
    assert.equal(await locationOf(byUri.json.experiment_id as string), fileUri);

    const absent = await call(server.url, 'POST', `${API}/experiments/create`, { name: 'loc-default', artifact_location: '' });
    assert.equal(await locationOf(absent.json.experiment_id as string), `mlflow-artifacts:/${absent.json.experiment_id as string}`);
  });
});
