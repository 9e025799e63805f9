import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createTrackingServer } from './app.js';
import { openStore } from '../store/index.js';
import { PART_SIZE } from './s3-artifact-storage.js';
import { startTestS3, type TestS3 } from './s3-test-helpers.js';
import { API, ARTIFACTS, call, rawRequest, startTestServer, type TestServer } from './test-helpers.js';

const PREFIX = 'team/artifacts';

async function put(url: string, path: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<number> {
  const response = await fetch(`${url}${ARTIFACTS}/${path}`, { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream', ...headers } });
  await response.arrayBuffer();
  return response.status;
}

/** `size` bytes of a repeatable pattern, produced chunk by chunk (never held whole). */
function* pattern(size: number): Generator<Uint8Array> {
  const chunk = 256 * 1024;
  for (let at = 0; at < size; at += chunk) {
    const part = new Uint8Array(Math.min(chunk, size - at));
    for (let i = 0; i < part.length; i++) part[i] = (at + i) % 251;
    yield part;
  }
}

function streamOf(size: number): ReadableStream<Uint8Array> {
  const chunks = pattern(size);
  return new ReadableStream({
    pull(controller) {
      const next = chunks.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
  });
}

describe('tracking server: proxied artifacts in S3 (a real s3rver on loopback)', () => {
  let s3: TestS3;
  let server: TestServer;
  let url: string;
  const saved = { ...process.env };
  before(async () => {
    s3 = await startTestS3();
    // The server finds the endpoint and credentials where it would in production: its environment.
    Object.assign(process.env, s3.env);
    server = await startTestServer({ artifactsDestination: `s3://${s3.bucket}/${PREFIX}` });
    url = server.url;
  });
  after(async () => {
    await server.close();
    await s3.close();
    process.env = saved;
  });

  test('upload, download (with a content type), list, overwrite, delete: objects under the prefix', async () => {
    assert.equal(await put(url, 'a/b/hello.txt', 'hello world'), 200);
    assert.equal(await put(url, 'a/b/data.json', '{"x": [1, 2]}', { 'content-type': 'application/json' }), 200);
    assert.equal(await put(url, 'a/space%20name.bin', Buffer.from([0, 1, 2, 255])), 200);
    assert.deepEqual(await s3.keys(), [`${PREFIX}/a/b/data.json`, `${PREFIX}/a/b/hello.txt`, `${PREFIX}/a/space name.bin`]);
    assert.ok(s3.events.includes(`ObjectCreated:Put ${PREFIX}/a/b/hello.txt`), 'a small file is one PUT');

    const text = await fetch(`${url}${ARTIFACTS}/a/b/hello.txt`);
    assert.equal(text.status, 200);
    assert.match(text.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(text.headers.get('content-length'), '11');
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
    assert.deepEqual((await call(url, 'GET', `${ARTIFACTS}?path=`)).json.files, [{ path: 'a', is_dir: true }]);
    assert.deepEqual((await call(url, 'GET', `${ARTIFACTS}?path=nowhere`)).json.files, []);
    assert.deepEqual((await call(url, 'GET', `${ARTIFACTS}?path=a/b/hello.txt`)).json.files, [], 'a file is not a folder');

    assert.equal(await put(url, 'a/b/hello.txt', 'bye'), 200);
    assert.equal(await (await fetch(`${url}${ARTIFACTS}/a/b/hello.txt`)).text(), 'bye');

    const deleted = await call(url, 'DELETE', `${ARTIFACTS}/a/b/hello.txt`);
    assert.equal(deleted.status, 200);
    assert.deepEqual(deleted.json, {});
    const missing = await call(url, 'GET', `${ARTIFACTS}/a/b/hello.txt`);
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error_code, 'RESOURCE_DOES_NOT_EXIST');
    assert.equal((await call(url, 'DELETE', `${ARTIFACTS}/a/b/hello.txt`)).status, 404);
    // A folder is deleted with everything below it, as the local store's rm -r does.
    assert.equal((await call(url, 'DELETE', `${ARTIFACTS}/a`)).status, 200);
    assert.deepEqual(await s3.keys(), []);
  });

  test('a folder is not a file, and no file goes below a file: 400, as the local store answers', async () => {
    assert.equal(await put(url, 'shape/dir/inner.txt', 'x'), 200);
    const folderRead = await call(url, 'GET', `${ARTIFACTS}/shape/dir`);
    assert.equal(folderRead.status, 400);
    assert.equal(folderRead.json.error_code, 'INVALID_PARAMETER_VALUE');
    const overFolder = await rawRequest(url, 'PUT', `${ARTIFACTS}/shape/dir`, 'x');
    assert.equal(overFolder.status, 400, overFolder.text);
    assert.match(JSON.parse(overFolder.text).message, /is a directory/);
    const belowFile = await rawRequest(url, 'PUT', `${ARTIFACTS}/shape/dir/inner.txt/deeper.txt`, 'x');
    assert.equal(belowFile.status, 400, belowFile.text);
    assert.match(JSON.parse(belowFile.text).message, /is a file/);
    assert.deepEqual(await s3.keys(), [`${PREFIX}/shape/dir/inner.txt`]);
    assert.equal((await call(url, 'DELETE', `${ARTIFACTS}/shape`)).status, 200);
  });

  test('a folder of files uploaded for a run is listed by artifacts/list', async () => {
    const { json: exp } = await call(url, 'POST', `${API}/experiments/create`, { name: 's3-exp' });
    const { json: created } = await call(url, 'POST', `${API}/runs/create`, { experiment_id: exp.experiment_id });
    const runId = created.run.info.run_id as string;
    const artifactUri = created.run.info.artifact_uri as string;
    assert.equal(artifactUri, `mlflow-artifacts:/${exp.experiment_id}/${runId}/artifacts`);
    const base = artifactUri.slice('mlflow-artifacts:/'.length);
    for (const [path, content] of Object.entries({ 'model/MLmodel': 'flavors: {}', 'model/weights.bin': 'w'.repeat(1000), 'model/meta/info.json': '{}', 'plots/loss.png': 'png' })) {
      assert.equal(await put(url, `${base}/${path}`, content), 200, path);
    }
    const root = await call(url, 'GET', `${API}/artifacts/list?run_id=${runId}`);
    assert.equal(root.status, 200, root.text);
    assert.deepEqual(root.json.files, [
      { path: 'model', is_dir: true },
      { path: 'plots', is_dir: true },
    ]);
    const model = await call(url, 'GET', `${API}/artifacts/list?run_id=${runId}&path=model`);
    assert.deepEqual(model.json.files, [
      { path: 'model/MLmodel', is_dir: false, file_size: 11 },
      { path: 'model/meta', is_dir: true },
      { path: 'model/weights.bin', is_dir: false, file_size: 1000 },
    ]);
    const escape = await call(url, 'GET', `${API}/artifacts/list?run_id=${runId}&path=../../..`);
    assert.equal(escape.status, 400);
    assert.equal(escape.json.error_code, 'INVALID_PARAMETER_VALUE');
  });

  test('a 21 MiB upload streamed without a length goes up in parts and comes back byte for byte', async () => {
    const size = 21 * 1024 * 1024;
    assert.ok(size > 2 * PART_SIZE, 'large enough for three parts');
    const expected = createHash('sha256');
    for (const chunk of pattern(size)) expected.update(chunk);
    const upload = await fetch(`${url}${ARTIFACTS}/big/weights.bin`, { method: 'PUT', body: streamOf(size), duplex: 'half' } as RequestInit);
    assert.equal(upload.status, 200, await upload.text());

    const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: `${PREFIX}/big/weights.bin` }));
    assert.equal(head.ContentLength, size);
    assert.deepEqual(
      s3.events.filter((event) => event.endsWith('/big/weights.bin')),
      [`ObjectCreated:Post ${PREFIX}/big/weights.bin`],
      'stored by one completed multipart upload, not a single PUT',
    );

    const download = await fetch(`${url}${ARTIFACTS}/big/weights.bin`);
    assert.equal(download.status, 200);
    assert.equal(download.headers.get('content-length'), String(size));
    const actual = createHash('sha256');
    let bytes = 0;
    for await (const chunk of download.body as unknown as AsyncIterable<Uint8Array>) {
      actual.update(chunk);
      bytes += chunk.length;
    }
    assert.equal(bytes, size);
    assert.equal(actual.digest('hex'), expected.digest('hex'));
    assert.deepEqual((await call(url, 'GET', `${ARTIFACTS}?path=big`)).json.files, [{ path: 'weights.bin', is_dir: false, file_size: size }]);
    assert.equal((await call(url, 'DELETE', `${ARTIFACTS}/big`)).status, 200);
  });

  test('path traversal: every variant is refused with 400 and no key outside the prefix is touched', async () => {
    // Objects beside and above the prefix, which a traversal would reach.
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'secret.txt', Body: 'secret' }));
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'team/secret.txt', Body: 'secret' }));
    const before = await s3.keys();
    const variants = [
      '../secret.txt',
      '../../secret.txt',
      'a/../../secret.txt',
      '%2e%2e/secret.txt',
      '%2E%2E%2Fsecret.txt',
      'a%2F..%2F..%2Fsecret.txt',
      '%252e%252e/secret.txt',
      '%252e%252e%252fsecret.txt',
      '..%5csecret.txt',
      'a\\..\\..\\secret.txt',
      'x%00.txt',
      '%2Fsecret.txt',
      '/secret.txt',
      './secret.txt',
      'a//secret.txt',
      '%2e%2e',
      '..',
    ];
    for (const variant of variants) {
      for (const method of ['PUT', 'GET', 'DELETE']) {
        const reply = await rawRequest(url, method, `${ARTIFACTS}/${variant}`, method === 'PUT' ? 'pwned' : undefined);
        assert.equal(reply.status, 400, `${method} ${variant} → ${reply.status} ${reply.text}`);
        assert.equal(JSON.parse(reply.text).error_code, 'INVALID_PARAMETER_VALUE', `${method} ${variant}`);
        assert.ok(!reply.text.includes('secret"'), 'nothing of the secret leaks');
      }
    }
    for (const listPath of ['..', '../..', '%2e%2e', '%252e%252e', '/etc', 'a%5c..%5c..']) {
      const reply = await rawRequest(url, 'GET', `${ARTIFACTS}?path=${listPath}`);
      assert.equal(reply.status, 400, `list ${listPath} → ${reply.status} ${reply.text}`);
      assert.equal(JSON.parse(reply.text).error_code, 'INVALID_PARAMETER_VALUE');
    }
    assert.deepEqual(await s3.keys(), before, 'no key written or deleted');
    assert.equal(await put(url, 'still/works.txt', 'ok'), 200);
    assert.equal((await call(url, 'DELETE', `${ARTIFACTS}/still`)).status, 200);
  });

  test('experiments may not point at local folders when artifacts live in S3', async () => {
    const local = await call(url, 'POST', `${API}/experiments/create`, { name: 'local-loc', artifact_location: '/tmp/anything' });
    assert.equal(local.status, 400);
    assert.match(local.json.message, /object storage/);
    const proxied = await call(url, 'POST', `${API}/experiments/create`, { name: 'proxied-loc', artifact_location: 'mlflow-artifacts:/custom/place' });
    assert.equal(proxied.status, 200, proxied.text);
  });

  /** A second server on the same bucket, under `prefix`, with its own upload limit. */
  async function limitedServer(prefix: string, maxArtifactBytes: number): Promise<{ base: string; close(): Promise<void> }> {
    const store = await openStore('sqlite::memory:', { artifactRoot: 'mlflow-artifacts:' });
    const app = await createTrackingServer({ store, artifactsDestination: `s3://${s3.bucket}/${prefix}`, maxArtifactBytes, defaultMetrics: false, ui: false });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    return {
      base: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
      close: async () => {
        await app.close();
        await store.close();
      },
    };
  }

  test('an artifact over the limit → 413 (declared or streamed), nothing kept; the server keeps serving', async () => {
    const limited = await limitedServer('limited', 64 * 1024);
    try {
      assert.equal(await put(limited.base, 'big/declared.bin', Buffer.alloc(100 * 1024, 7)), 413);
      const streamed = await fetch(`${limited.base}${ARTIFACTS}/big/streamed.bin`, { method: 'PUT', body: streamOf(160 * 1024), duplex: 'half' } as RequestInit);
      assert.equal(streamed.status, 413);
      assert.equal(((await streamed.json()) as { error_code: string }).error_code, 'BAD_REQUEST');
      assert.deepEqual((await s3.keys()).filter((key) => key.startsWith('limited/')), []);
      assert.equal(await put(limited.base, 'big/small.bin', Buffer.alloc(1024)), 200);
      assert.deepEqual((await s3.keys()).filter((key) => key.startsWith('limited/')), ['limited/big/small.bin']);
    } finally {
      await limited.close();
    }
  });

  test('a streamed upload that passes the limit after its first parts were sent → 413, and no object appears', async () => {
    const limited = await limitedServer('limited-multipart', 2 * PART_SIZE - 1);
    try {
      const streamed = await fetch(`${limited.base}${ARTIFACTS}/big/streamed.bin`, { method: 'PUT', body: streamOf(3 * PART_SIZE), duplex: 'half' } as RequestInit);
      assert.equal(streamed.status, 413, await streamed.clone().text());
      assert.deepEqual((await s3.keys()).filter((key) => key.startsWith('limited-multipart/')), []);
      assert.ok(!s3.events.some((event) => event.includes('limited-multipart/')), 'no object was ever created');
      assert.equal(await put(limited.base, 'after.bin', Buffer.alloc(10)), 200);
    } finally {
      await limited.close();
    }
  });

  test('a destination that cannot work stops the server at startup with a clear message', async () => {
    const store = await openStore('sqlite::memory:', { artifactRoot: 'mlflow-artifacts:' });
    try {
      await assert.rejects(createTrackingServer({ store, artifactsDestination: 's3://no-such-bucket/x', ui: false }), {
        code: 'KILN_ERR_ARTIFACT_STORAGE',
        message: /bucket 'no-such-bucket' is not reachable.*404/,
      });
      await assert.rejects(createTrackingServer({ store, artifactsDestination: 's3://Bad_Bucket/x', ui: false }), { code: 'KILN_ERR_CONFIG', message: /not a valid S3 bucket name/ });
      await assert.rejects(createTrackingServer({ store, artifactsDestination: `s3://${s3.bucket}/a/../b`, ui: false }), { code: 'KILN_ERR_CONFIG', message: /prefix .* is invalid/ });
      await assert.rejects(createTrackingServer({ store, artifactsDestination: 'gs://bucket/x', ui: false }), { code: 'KILN_ERR_CONFIG', message: /unsupported artifacts destination/ });
    } finally {
      await store.close();
    }
  });

  // Last: it stops the object store.
  test('when the object store is down, artifact calls answer 503 TEMPORARILY_UNAVAILABLE, not 500', async () => {
    assert.equal(await put(url, 'late/file.txt', 'x'), 200);
    await s3.close();
    for (const [method, path] of [
      ['GET', `${ARTIFACTS}/late/file.txt`],
      ['GET', `${ARTIFACTS}?path=late`],
      ['PUT', `${ARTIFACTS}/late/other.txt`],
      ['DELETE', `${ARTIFACTS}/late/file.txt`],
    ] as const) {
      const reply = await rawRequest(url, method, path, method === 'PUT' ? 'x' : undefined);
      assert.equal(reply.status, 503, `${method} ${path} → ${reply.status} ${reply.text}`);
      assert.equal(JSON.parse(reply.text).error_code, 'TEMPORARILY_UNAVAILABLE');
    }
    assert.equal((await call(url, 'GET', `${API}/experiments/search?max_results=1`)).status, 200, 'the rest of the server is unaffected');
  });
});
