import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { API, ARTIFACTS, call, rawRequest, startTestServer, type TestServer } from './test-helpers.js';

async function put(url: string, path: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<number> {
  const response = await fetch(`${url}${ARTIFACTS}/${path}`, { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream', ...headers } });
  await response.arrayBuffer();
  return response.status;
}

describe('tracking server: proxied artifacts', () => {
  let server: TestServer;
  let url: string;
  before(async () => {
    server = await startTestServer({ maxArtifactBytes: 64 * 1024 });
    url = server.url;
  });
  after(async () => {
    await server.close();
  });

  test('upload, download (with a content type), list, delete', async () => {
    assert.equal(await put(url, 'a/b/hello.txt', 'hello world'), 200);
    assert.equal(await readFile(join(server.dest, 'a/b/hello.txt'), 'utf8'), 'hello world');
    // A JSON file uploaded as application/json is stored verbatim, not parsed.
    assert.equal(await put(url, 'a/b/data.json', '{"x": [1, 2]}', { 'content-type': 'application/json' }), 200);
    assert.equal(await put(url, 'a/space%20name.bin', Buffer.from([0, 1, 2, 255])), 200);
    assert.ok(existsSync(join(server.dest, 'a/space name.bin')));

    const text = await fetch(`${url}${ARTIFACTS}/a/b/hello.txt`);
    assert.equal(text.status, 200);
    assert.match(text.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(await text.text(), 'hello world');
    const json = await fetch(`${url}/ajax-api/2.0/mlflow-artifacts/artifacts/a/b/data.json`);
    assert.equal(json.headers.get('content-type'), 'application/json');
    assert.equal(await json.text(), '{"x": [1, 2]}');
    const bin = await fetch(`${url}${ARTIFACTS}/a/space%20name.bin`);
    assert.equal(bin.headers.get('content-type'), 'application/octet-stream');
    assert.deepEqual([...new Uint8Array(await bin.arrayBuffer())], [0, 1, 2, 255]);

    const listed = await call(url, 'GET', `${ARTIFACTS}?path=a`);
    assert.equal(listed.status, 200, listed.text);
    assert.deepEqual(listed.json.files, [
      { path: 'b', is_dir: true },
      { path: 'space name.bin', is_dir: false, file_size: 4 },
    ]);
    assert.deepEqual((await call(url, 'GET', `${ARTIFACTS}?path=nowhere`)).json.files, []);

    // Overwrite replaces atomically and leaves no temp files behind.
    assert.equal(await put(url, 'a/b/hello.txt', 'bye'), 200);
    assert.equal(await readFile(join(server.dest, 'a/b/hello.txt'), 'utf8'), 'bye');
    assert.deepEqual((await readdir(join(server.dest, 'a/b'))).sort(), ['data.json', 'hello.txt']);

    const deleted = await call(url, 'DELETE', `${ARTIFACTS}/a/b/hello.txt`);
    assert.equal(deleted.status, 200);
    assert.deepEqual(deleted.json, {});
    assert.ok(!existsSync(join(server.dest, 'a/b/hello.txt')));
    const missing = await call(url, 'GET', `${ARTIFACTS}/a/b/hello.txt`);
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error_code, 'RESOURCE_DOES_NOT_EXIST');
    assert.equal((await call(url, 'DELETE', `${ARTIFACTS}/a/b/hello.txt`)).status, 404);
  });

  test('a folder of files uploaded for a run is listed by artifacts/list', async () => {
    const { json: exp } = await call(url, 'POST', `${API}/experiments/create`, { name: 'artifact-exp' });
    const { json: created } = await call(url, 'POST', `${API}/runs/create`, { experiment_id: exp.experiment_id });
    const runId = created.run.info.run_id as string;
    const artifactUri = created.run.info.artifact_uri as string;
    assert.equal(artifactUri, `mlflow-artifacts:/${exp.experiment_id}/${runId}/artifacts`);
    const base = artifactUri.slice('mlflow-artifacts:/'.length);

    const folder: Record<string, string> = {
      'model/MLmodel': 'flavors: {}',
      'model/weights.bin': 'w'.repeat(1000),
      'model/meta/info.json': '{}',
      'plots/loss.png': 'png',
    };
    for (const [path, content] of Object.entries(folder)) assert.equal(await put(url, `${base}/${path}`, content), 200, path);

    const root = await call(url, 'GET', `${API}/artifacts/list?run_id=${runId}`);
    assert.equal(root.status, 200, root.text);
    assert.equal(root.json.root_uri, artifactUri);
    assert.deepEqual(root.json.files, [
      { path: 'model', is_dir: true },
      { path: 'plots', is_dir: true },
    ]);
    const model = await call(url, 'GET', `/ajax-api/2.0/mlflow/artifacts/list?run_uuid=${runId}&path=model`);
    assert.deepEqual(model.json.files, [
      { path: 'model/MLmodel', is_dir: false, file_size: 11 },
      { path: 'model/meta', is_dir: true },
      { path: 'model/weights.bin', is_dir: false, file_size: 1000 },
    ]);
    const escape = await call(url, 'GET', `${API}/artifacts/list?run_id=${runId}&path=../../..`);
    assert.equal(escape.status, 400);
    assert.equal(escape.json.error_code, 'INVALID_PARAMETER_VALUE');
    const noRun = await call(url, 'GET', `${API}/artifacts/list`);
    assert.equal(noRun.status, 400);
    assert.match(noRun.json.message, /Missing value for required parameter 'run_id'/);
  });

  test('path traversal: every variant is refused with 4xx and nothing is written outside', async () => {
    const outside = join(server.dir, 'outside');
    await mkdir(outside, { recursive: true });
    await writeFile(join(server.dir, 'secret.txt'), 'secret');
    await symlink(outside, join(server.dest, 'link-out'));
    const before = (await readdir(server.dir)).sort();

    const variants = [
      '../escape.txt',
      '../../escape.txt',
      'a/../../escape.txt',
      '%2e%2e/escape.txt',
      '%2E%2E%2Fescape.txt',
      'a%2F..%2F..%2Fescape.txt',
      '%252e%252e/escape.txt',
      '%252e%252e%252fescape.txt',
      '..%5cescape.txt',
      'a\\..\\..\\escape.txt',
      'x%00.txt',
      '%2Fetc%2Fescape.txt',
      '/etc/escape.txt',
      './escape.txt',
      'a//escape.txt',
      'link-out/escape.txt',
      'link-out/deeper/escape.txt',
      '%2e%2e',
      '..',
    ];
    for (const variant of variants) {
      for (const method of ['PUT', 'GET', 'DELETE']) {
        const path = `${ARTIFACTS}/${variant}`;
        const reply = await rawRequest(url, method, path, method === 'PUT' ? 'pwned' : undefined);
        assert.equal(reply.status, 400, `${method} ${variant} → ${reply.status} ${reply.text}`);
        assert.equal(JSON.parse(reply.text).error_code, 'INVALID_PARAMETER_VALUE', `${method} ${variant}`);
      }
    }
    for (const listPath of ['..', '../..', '%2e%2e', '%252e%252e', 'link-out', '/etc', 'a%5c..%5c..']) {
      const reply = await rawRequest(url, 'GET', `${ARTIFACTS}?path=${listPath}`);
      assert.equal(reply.status, 400, `list ${listPath} → ${reply.status} ${reply.text}`);
      assert.equal(JSON.parse(reply.text).error_code, 'INVALID_PARAMETER_VALUE');
    }
    // Downloading through a symlink that leads out is refused too.
    await symlink(join(server.dir, 'secret.txt'), join(server.dest, 'secret-link'));
    const leak = await rawRequest(url, 'GET', `${ARTIFACTS}/secret-link`);
    assert.equal(leak.status, 400);
    assert.ok(!leak.text.includes('secret'));

    assert.deepEqual((await readdir(server.dir)).sort(), before, 'nothing new next to the artifact root');
    assert.deepEqual(await readdir(outside), [], 'nothing written through the symlink');
    assert.equal(await readFile(join(server.dir, 'secret.txt'), 'utf8'), 'secret');
    // The store and server are intact afterwards.
    assert.equal((await call(url, 'POST', `${API}/experiments/create`, { name: 'after-traversal' })).status, 200);
    assert.equal(await put(url, 'still/works.txt', 'ok'), 200);
    // A file where a folder should be is a client error, not a crash.
    const underFile = await rawRequest(url, 'PUT', `${ARTIFACTS}/still/works.txt/inner.txt`, 'x');
    assert.equal(underFile.status, 400);
    assert.equal(JSON.parse(underFile.text).error_code, 'INVALID_PARAMETER_VALUE');
  });

  test('an artifact over the limit → 413, nothing kept; the server keeps serving', async () => {
    const big = Buffer.alloc(100 * 1024, 7);
    assert.equal(await put(url, 'big/declared.bin', big), 413);
    // Streamed without a Content-Length: the limit is enforced while writing.
    const streamed = await fetch(`${url}${ARTIFACTS}/big/streamed.bin`, {
      method: 'PUT',
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < 10; i++) controller.enqueue(new Uint8Array(16 * 1024));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    const body = (await streamed.json()) as { error_code: string };
    assert.equal(streamed.status, 413);
    assert.equal(body.error_code, 'BAD_REQUEST');
    const leftovers = existsSync(join(server.dest, 'big')) ? await readdir(join(server.dest, 'big')) : [];
    assert.deepEqual(leftovers, []);
    assert.equal(await put(url, 'big/small.bin', Buffer.alloc(1024)), 200);
  });
});
