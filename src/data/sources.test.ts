import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DataError } from './errors.js';
import { FASHION_MNIST_FILES, FASHION_MNIST_SHA256 } from './checksums.js';
import { loadFashionMnist } from './dataset.js';
import { checkDataDir, defaultCacheDir, obtainFile, type SourceOptions, writeFileAtomic } from './sources.js';
import { makeFixture, refusedUrl, serveFixture, startServer, tempDir, writeFixture } from './test-fixtures.js';

const fixture = makeFixture(1);
const other = makeFixture(2); // a different, equally valid set: lets a test tell sources apart

/** Options that can never touch the real system: no env, no Debian dir, no real mirrors. */
function isolated(cacheDir: string, extra: SourceOptions = {}): SourceOptions {
  return {
    env: {},
    debianDir: null,
    cacheDir,
    download: false,
    mirrors: [],
    retryDelayMs: 1,
    expectedSha256: fixture.sha256,
    ...extra,
  };
}

function dataError(code: string, ...fragments: string[]) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof DataError, `expected DataError, got ${String(err)}`);
    assert.equal(err.code, code);
    for (const f of fragments) assert.ok(err.message.includes(f), `message lacks ${JSON.stringify(f)}:\n${err.message}`);
    return true;
  };
}

describe('sources: local directories', () => {
  test('explicit dir (gz and plain) loads and verifies', async () => {
    for (const gzip of [true, false]) {
      const dir = await tempDir();
      try {
        await writeFixture(dir.path, fixture, gzip);
        const data = await loadFashionMnist(isolated(join(dir.path, 'cache'), { dataDir: dir.path }));
        assert.equal(data.train.count, 20);
        assert.equal(data.test.count, 7);
        for (const file of FASHION_MNIST_FILES) {
          assert.equal(data.sha256[file], fixture.sha256[file]);
          assert.equal(data.sources[file], join(dir.path, gzip ? `${file}.gz` : file));
          assert.equal(data.sourceKinds[file], 'dataDir');
        }
      } finally {
        await dir.cleanup();
      }
    }
  });

  test('KILN_DATA_DIR is used when no dataDir option is given', async () => {
    const dir = await tempDir();
    try {
      await writeFixture(dir.path, fixture, true);
      const got = await obtainFile('train-labels-idx1-ubyte', isolated(join(dir.path, 'c'), { env: { KILN_DATA_DIR: dir.path } }));
      assert.equal(got.source, 'dataDir');
      assert.equal(got.path, join(dir.path, 'train-labels-idx1-ubyte.gz'));
    } finally {
      await dir.cleanup();
    }
  });

  test('source order without a data directory: debian beats cache beats download', async () => {
    const root = await tempDir();
    const server = await startServer(serveFixture(fixture));
    try {
      const debian = join(root.path, 'debian');
      const cache = join(root.path, 'cache');
      for (const d of [debian, cache]) await mkdir(d);
      const options = (): SourceOptions => isolated(cache, { debianDir: debian, download: true, mirrors: [server.url] });
      const file = 'train-images-idx3-ubyte';

      // Nothing local: download (into the cache).
      let got = await obtainFile(file, options());
      assert.equal(got.source, 'download');
      assert.equal(server.requests.length, 1);
      // Now the cache has it: no new request.
      got = await obtainFile(file, options());
      assert.equal(got.source, 'cache');
      assert.equal(server.requests.length, 1);
      // Debian beats cache.
      await writeFixture(debian, fixture, true);
      got = await obtainFile(file, options());
      assert.equal(got.source, 'debian');
      assert.equal(got.path, join(debian, `${file}.gz`));
      assert.equal(server.requests.length, 1);
    } finally {
      await server.close();
      await root.cleanup();
    }
  });

  test('a data directory given is the only source: used when it holds the file, an error naming it when it does not', async () => {
    const root = await tempDir();
    const server = await startServer(serveFixture(fixture));
    try {
      const explicit = join(root.path, 'explicit');
      const debian = join(root.path, 'debian');
      const cache = join(root.path, 'cache');
      for (const d of [explicit, debian, cache]) await mkdir(d);
      await writeFixture(debian, fixture, true);
      await writeFixture(cache, fixture, true);
      const file = 'train-images-idx3-ubyte';
      const options = isolated(cache, { dataDir: explicit, debianDir: debian, download: true, mirrors: [server.url] });
      // Debian, the cache and a mirror all have it; the folder given does not: no silent fall-back.
      await assert.rejects(
        obtainFile(file, options),
        dataError('KILN_ERR_DATA_NOT_FOUND', file, explicit, 'does not fall back to the Debian package, the cache or a download', `ls ${explicit}`),
      );
      assert.equal(server.requests.length, 0, 'nothing downloaded');
      await assert.rejects(checkDataDir(explicit), dataError('KILN_ERR_DATA_NOT_FOUND', 'train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte are not in'));
      await assert.rejects(checkDataDir(join(root.path, 'nope')), dataError('KILN_ERR_DATA_NOT_FOUND', `the data directory ${join(root.path, 'nope')} does not exist`));
      // $KILN_DATA_DIR is as binding as the option.
      await assert.rejects(obtainFile(file, isolated(cache, { env: { KILN_DATA_DIR: explicit }, debianDir: debian })), dataError('KILN_ERR_DATA_NOT_FOUND', explicit));
      // Given the files, the folder is used.
      await writeFixture(explicit, fixture, false);
      const got = await obtainFile(file, options);
      assert.equal(got.source, 'dataDir');
      assert.equal(got.path, join(explicit, file));
      await checkDataDir(explicit);
    } finally {
      await server.close();
      await root.cleanup();
    }
  });

  test('a file found but failing its checksum is an error, not skipped; message names file, expected, found and fix', async () => {
    const root = await tempDir();
    try {
      const explicit = join(root.path, 'explicit');
      const debian = join(root.path, 'debian');
      await mkdir(explicit);
      await mkdir(debian);
      await writeFixture(explicit, other, true); // valid IDX, wrong content
      await writeFixture(debian, fixture, true); // the right content, lower priority
      const file = 'train-images-idx3-ubyte';
      const path = join(explicit, `${file}.gz`);
      await assert.rejects(
        obtainFile(file, isolated(join(root.path, 'cache'), { dataDir: explicit, debianDir: debian })),
        dataError('KILN_ERR_DATA_CHECKSUM', path, file, fixture.sha256[file], other.sha256[file], `rm ${path}`, 'export KILN_DATA_DIR='),
      );
    } finally {
      await root.cleanup();
    }
  });

  test('the default path verifies against the pinned sha256 (fixtures fail it)', async () => {
    const dir = await tempDir();
    try {
      await writeFixture(dir.path, fixture, true);
      const file = 't10k-labels-idx1-ubyte';
      const options = isolated(join(dir.path, 'cache'), { dataDir: dir.path });
      delete options.expectedSha256;
      // The pinned count (10000) is checked first; then it would be the pinned sha256.
      await assert.rejects(obtainFile(file, options), dataError('KILN_ERR_DATA_FORMAT', file, '10000'));
      // A fixture with the right count but wrong content fails the pinned checksum.
      await writeFile(join(dir.path, `${file}.gz`), gzipSync(new Uint8Array([0, 0, 8, 1, 0, 0, 0x27, 0x10, ...new Uint8Array(10000)])));
      await assert.rejects(obtainFile(file, options), dataError('KILN_ERR_DATA_CHECKSUM', FASHION_MNIST_SHA256[file]));
    } finally {
      await dir.cleanup();
    }
  });

  test('a bad cached file is an error telling to rm it', async () => {
    const dir = await tempDir();
    try {
      await writeFixture(dir.path, other, false);
      const file = 'train-labels-idx1-ubyte';
      const path = join(dir.path, file);
      await assert.rejects(obtainFile(file, isolated(dir.path)), dataError('KILN_ERR_DATA_CHECKSUM', path, `rm ${path}`));
    } finally {
      await dir.cleanup();
    }
  });

  test('a truncated local file is KILN_ERR_DATA_TRUNCATED with the path', async () => {
    const dir = await tempDir();
    try {
      const file = 't10k-images-idx3-ubyte';
      const path = join(dir.path, file);
      await writeFile(path, fixture.idx[file].subarray(0, 1000));
      await assert.rejects(obtainFile(file, isolated(join(dir.path, 'c'), { dataDir: dir.path })), dataError('KILN_ERR_DATA_TRUNCATED', path, `rm ${path}`));
    } finally {
      await dir.cleanup();
    }
  });

  test('nothing anywhere and download disabled: KILN_ERR_DATA_NOT_FOUND with the fix commands', async () => {
    const dir = await tempDir();
    try {
      await assert.rejects(
        loadFashionMnist(isolated(join(dir.path, 'cache'), { debianDir: join(dir.path, 'no-debian') })),
        dataError(
          'KILN_ERR_DATA_NOT_FOUND',
          'train-images-idx3-ubyte',
          join(dir.path, 'no-debian'),
          'download: false',
          'sudo apt-get install dataset-fashion-mnist',
          'export KILN_DATA_DIR=/path/to/folder',
        ),
      );
    } finally {
      await dir.cleanup();
    }
  });

  test('default cache dir honours KILN_HOME', () => {
    assert.equal(defaultCacheDir({ KILN_HOME: '/x/home' }), '/x/home/datasets/fashion-mnist');
    assert.ok(defaultCacheDir({}).endsWith('/kiln-data/datasets/fashion-mnist'));
  });
});

describe('sources: download', () => {
  test('first mirror 500, falls back to the second; files cached', async () => {
    const cache = await tempDir();
    const bad = await startServer((_req, res) => {
      res.statusCode = 500;
      res.end('boom');
    });
    const good = await startServer(serveFixture(fixture));
    const logs: string[] = [];
    try {
      const data = await loadFashionMnist(isolated(cache.path, { download: true, mirrors: [bad.url, good.url], retries: 1, log: (m) => logs.push(m) }));
      assert.equal(data.train.count, 20);
      assert.equal(bad.requests.length, 8); // 4 files x (1 + 1 retry)
      assert.equal(good.requests.length, 4);
      assert.ok(good.requests.includes('/train-images-idx3-ubyte.gz'));
      for (const file of FASHION_MNIST_FILES) {
        assert.equal(data.sources[file], join(cache.path, `${file}.gz`));
        assert.equal(data.sourceKinds[file], 'download');
      }
      assert.deepEqual((await readdir(cache.path)).sort(), FASHION_MNIST_FILES.map((f) => `${f}.gz`).sort());
      assert.ok(logs.some((m) => m.includes('HTTP 500')));
    } finally {
      await bad.close();
      await good.close();
      await cache.cleanup();
    }
  });

  test('connection refused on the first mirror, falls back', async () => {
    const cache = await tempDir();
    const good = await startServer(serveFixture(fixture));
    try {
      const got = await obtainFile('t10k-labels-idx1-ubyte', isolated(cache.path, { download: true, mirrors: [await refusedUrl(), good.url], retries: 2 }));
      assert.equal(got.source, 'download');
      assert.equal(good.requests.length, 1);
    } finally {
      await good.close();
      await cache.cleanup();
    }
  });

  test('retries with jittered exponential backoff: two 503s then success on the same mirror', async () => {
    const cache = await tempDir();
    const serve = serveFixture(fixture);
    let calls = 0;
    const flaky = await startServer((req, res) => {
      calls++;
      if (calls <= 2) {
        res.statusCode = 503;
        res.end();
      } else serve(req, res);
    });
    try {
      const logs: string[] = [];
      const got = await obtainFile('train-labels-idx1-ubyte', isolated(cache.path, { download: true, mirrors: [flaky.url], retries: 3, retryDelayMs: 40, log: (m) => logs.push(m) }));
      assert.equal(got.source, 'download');
      assert.equal(flaky.requests.length, 3);
      // Full jitter: the k-th wait is drawn from [0, 40 * 2^(k-1)] ms.
      const waits = logs.map((m) => /^data: retry (\d)\/3 of .* in (\d+) ms$/.exec(m)).filter((m) => m !== null);
      assert.deepEqual(waits.map((m) => Number(m[1])), [1, 2]);
      assert.ok(Number(waits[0]![2]) <= 40 && Number(waits[1]![2]) <= 80, logs.join('\n'));
    } finally {
      await flaky.close();
      await cache.cleanup();
    }
  });

  test('404 is not retried; all mirrors failing gives NOT_FOUND listing each failure', async () => {
    const cache = await tempDir();
    const missing = await startServer((_req, res) => {
      res.statusCode = 404;
      res.end();
    });
    const refused = await refusedUrl();
    try {
      await assert.rejects(
        obtainFile('train-labels-idx1-ubyte', isolated(cache.path, { download: true, mirrors: [missing.url, refused], retries: 2 })),
        dataError('KILN_ERR_DATA_NOT_FOUND', 'HTTP 404', refused, 'sudo apt-get install dataset-fashion-mnist', 'curl'),
      );
      assert.equal(missing.requests.length, 1);
      assert.deepEqual(await readdir(cache.path), []);
    } finally {
      await missing.close();
      await cache.cleanup();
    }
  });

  test('a transfer cut off mid-body leaves no partial file, is retried, then falls back', async () => {
    const cache = await tempDir();
    const serve = serveFixture(fixture);
    const cutting = await startServer((req, res) => {
      const body = gzipSync(fixture.idx['train-images-idx3-ubyte']);
      res.setHeader('content-length', body.length);
      res.write(body.subarray(0, 100));
      setTimeout(() => res.destroy(), 5);
      void req;
    });
    const good = await startServer(serve);
    try {
      await assert.rejects(
        obtainFile('train-images-idx3-ubyte', isolated(cache.path, { download: true, mirrors: [cutting.url], retries: 1 })),
        dataError('KILN_ERR_DATA_NOT_FOUND', 'cut off'),
      );
      assert.equal(cutting.requests.length, 2);
      assert.deepEqual(await readdir(cache.path), [], 'no partial or temp file left');
      const got = await obtainFile('train-images-idx3-ubyte', isolated(cache.path, { download: true, mirrors: [cutting.url, good.url], retries: 0 }));
      assert.equal(got.source, 'download');
      assert.deepEqual(await readdir(cache.path), ['train-images-idx3-ubyte.gz']);
    } finally {
      await cutting.close();
      await good.close();
      await cache.cleanup();
    }
  });

  test('a mirror serving wrong content: checksum error, nothing written; next mirror used if any', async () => {
    const cache = await tempDir();
    const wrong = await startServer(serveFixture(other));
    const good = await startServer(serveFixture(fixture));
    const file = 'train-labels-idx1-ubyte';
    try {
      await assert.rejects(
        obtainFile(file, isolated(cache.path, { download: true, mirrors: [wrong.url], retries: 3 })),
        dataError('KILN_ERR_DATA_CHECKSUM', `${wrong.url}${file}.gz`, fixture.sha256[file], other.sha256[file], 'sudo apt-get install dataset-fashion-mnist'),
      );
      assert.equal(wrong.requests.length, 1, 'bad content is not retried on the same mirror');
      assert.deepEqual(await readdir(cache.path), []);
      const got = await obtainFile(file, isolated(cache.path, { download: true, mirrors: [wrong.url, good.url] }));
      assert.equal(got.sha256, fixture.sha256[file]);
    } finally {
      await wrong.close();
      await good.close();
      await cache.cleanup();
    }
  });

  test('writeFileAtomic leaves nothing behind when the write fails', async () => {
    const dir = await tempDir();
    try {
      const target = join(dir.path, 'sub', 'file.bin');
      await writeFileAtomic(target, new Uint8Array([1, 2, 3]));
      assert.deepEqual(await readdir(join(dir.path, 'sub')), ['file.bin']);
      // Renaming onto an existing directory fails after the temp file was written.
      const blocked = join(dir.path, 'blocked');
      await mkdir(join(blocked, 'file.bin'), { recursive: true });
      await writeFile(join(blocked, 'file.bin', 'x'), 'x');
      await assert.rejects(writeFileAtomic(join(blocked, 'file.bin'), new Uint8Array([1])));
      assert.deepEqual(await readdir(blocked), ['file.bin']);
    } finally {
      await dir.cleanup();
    }
  });
});
