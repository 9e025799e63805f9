/**
 * data/test-fixtures — helpers for the data tests: tiny IDX fixture sets in temp dirs and a
 * local HTTP mirror. Not used by production code.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Random } from '../common/random.js';
import { FASHION_MNIST_FILES, type FashionMnistFile, sha256Hex } from './checksums.js';
import { encodeIdx } from './idx.js';

export async function tempDir(prefix = 'kiln-data-test-'): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** Runs `run` in a fresh temp dir, removed afterwards. */
export async function withTempDir(prefix: string, run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir(prefix);
  try {
    await run(dir.path);
  } finally {
    await dir.cleanup();
  }
}

export interface Fixture {
  /** Decompressed IDX bytes per file. */
  idx: Record<FashionMnistFile, Uint8Array>;
  /** sha256 of the decompressed bytes (pass as `expectedSha256`). */
  sha256: Record<FashionMnistFile, string>;
  /** Raw pixel bytes / labels, for checking what was loaded. */
  trainPixels: Uint8Array;
  trainLabels: Uint8Array;
  testPixels: Uint8Array;
  testLabels: Uint8Array;
}

/** A small, seeded, valid Fashion-MNIST-shaped fixture (28x28 images, labels 0..9). */
export function makeFixture(seed: number, trainCount = 20, testCount = 7): Fixture {
  const rng = new Random(seed);
  const pixels = (n: number): Uint8Array => {
    const out = new Uint8Array(n * 784);
    for (let i = 0; i < out.length; i++) out[i] = rng.int(256);
    return out;
  };
  const labels = (n: number): Uint8Array => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = (i + seed) % 10;
    return out;
  };
  const trainPixels = pixels(trainCount);
  const trainLabels = labels(trainCount);
  const testPixels = pixels(testCount);
  const testLabels = labels(testCount);
  const idx = {
    'train-images-idx3-ubyte': encodeIdx('images', trainCount, trainPixels),
    'train-labels-idx1-ubyte': encodeIdx('labels', trainCount, trainLabels),
    't10k-images-idx3-ubyte': encodeIdx('images', testCount, testPixels),
    't10k-labels-idx1-ubyte': encodeIdx('labels', testCount, testLabels),
  } as Record<FashionMnistFile, Uint8Array>;
  const sha256 = {} as Record<FashionMnistFile, string>;
  for (const file of FASHION_MNIST_FILES) sha256[file] = sha256Hex(idx[file]);
  return { idx, sha256, trainPixels, trainLabels, testPixels, testLabels };
}

/** Writes the fixture's four files into `dir`, gzipped (`<file>.gz`) or plain (`<file>`). */
export async function writeFixture(dir: string, fixture: Fixture, gzip: boolean): Promise<void> {
  for (const file of FASHION_MNIST_FILES) {
    const bytes = fixture.idx[file];
    await writeFile(join(dir, gzip ? `${file}.gz` : file), gzip ? gzipSync(bytes) : bytes);
  }
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface TestServer {
  url: string;
  /** Paths requested, in order. */
  requests: string[];
  close: () => Promise<void>;
}

/** Starts an HTTP server on 127.0.0.1 (random port). */
export async function startServer(handler: Handler): Promise<TestServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '');
    handler(req, res);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/** A URL on 127.0.0.1 where nothing listens (connection refused). */
export async function refusedUrl(): Promise<string> {
  const s = await startServer((_req, res) => res.end());
  const url = s.url;
  await s.close();
  return url;
}

/** Serves `<file>.gz` from the fixture (gzipped) at any path prefix; 404 otherwise. */
export function serveFixture(fixture: Fixture): Handler {
  const gz = new Map<string, Buffer>();
  for (const file of FASHION_MNIST_FILES) gz.set(`${file}.gz`, gzipSync(fixture.idx[file]));
  return (req, res) => {
    const name = (req.url ?? '').split('/').pop() ?? '';
    const body = gz.get(name);
    if (!body) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    res.setHeader('content-type', 'application/octet-stream');
    res.setHeader('content-length', body.length);
    res.end(body);
  };
}
