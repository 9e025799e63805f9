/**
 * data/decode-pool — decodes a whole catalog on every core: worker threads (one per core) read,
 * hash and, where imaging/png's fast path applies, decode each file exactly once, writing pixels
 * into one shared buffer; the files they cannot decode in JavaScript come back (bytes moved, not
 * copied) and go through decodeFixed, i.e. sharp, on this thread with bounded concurrency, where
 * libvips spreads the work over its own threads. sharp never loads inside a worker (a native
 * module unloading with its thread is fragile), nor at all when every file takes the fast path.
 *
 * Small catalogs skip the workers (starting them costs more than the work).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { decodeFixed } from '../imaging/decode.js';
import { type FileFacts, runJob } from './decode-job.js';
import type { ChunkReply, ChunkRequest, WorkerInit } from './decode-worker.js';
import type { DecodeTarget } from './labelled.js';

export interface PoolOptions {
  /** Worker threads; default one per core; 0 decodes on this thread only. */
  workers?: number;
  /** Called after every chunk with the items done so far. */
  onProgress?: (done: number) => void;
}

/**
 * Per catalog index: pixels at index * H*W*C, the file's sha256 ('' if unread), or why it failed,
 * and its size, mtimeMs and ctimeMs at [index * 3] (NaN if it could not be opened).
 */
export interface PoolResult {
  pixels: Uint8Array;
  facts: Float64Array;
  sha256: string[];
  failures: (string | null)[];
}

const CHUNK = 256;
/** Below this many items the workers' start-up outweighs the work. */
const INLINE_BELOW = 2048;

/** Decodes `paths` (catalog order) to `target`. */
export async function decodeAll(paths: readonly string[], target: DecodeTarget, options: PoolOptions = {}): Promise<PoolResult> {
  const size = target.height * target.width * target.channels;
  const shared = new SharedArrayBuffer(paths.length * size);
  const facts = new SharedArrayBuffer(paths.length * 3 * Float64Array.BYTES_PER_ELEMENT);
  const result: PoolResult = { pixels: new Uint8Array(shared), facts: new Float64Array(facts).fill(NaN), sha256: new Array<string>(paths.length).fill(''), failures: new Array<string | null>(paths.length).fill(null) };
  const sharp = new SharpQueue(target, result, size);
  const workers = options.workers ?? (paths.length < INLINE_BELOW ? 0 : availableParallelism());
  let done = 0;
  const report = (n: number): void => {
    done += n;
    options.onProgress?.(done);
  };
  if (workers <= 0) await decodeInline(paths, target, result, sharp, report);
  else await decodeOnWorkers(paths, target, { pixels: shared, facts, target }, Math.min(workers, Math.ceil(paths.length / CHUNK)), result, sharp, report);
  await sharp.drain();
  return result;
}

async function decodeInline(paths: readonly string[], target: DecodeTarget, result: PoolResult, sharp: SharpQueue, report: (n: number) => void): Promise<void> {
  const size = target.height * target.width * target.channels;
  const file: FileFacts = { size: NaN, mtimeMs: NaN, ctimeMs: NaN };
  for (let start = 0; start < paths.length; start += CHUNK) {
    const end = Math.min(paths.length, start + CHUNK);
    for (let index = start; index < end; index++) {
      file.size = file.mtimeMs = file.ctimeMs = NaN;
      const job = runJob(paths[index]!, target, result.pixels, index * size, file);
      result.facts.set([file.size, file.mtimeMs, file.ctimeMs], index * 3);
      if (job.kind === 'failed') result.failures[index] = job.reason;
      else result.sha256[index] = job.sha256;
      if (job.kind === 'sharp') sharp.push(index, job.bytes);
    }
    report(end - start);
    await sharp.belowLimit();
  }
}

function decodeOnWorkers(
  paths: readonly string[],
  target: DecodeTarget,
  init: WorkerInit,
  count: number,
  result: PoolResult,
  sharp: SharpQueue,
  report: (n: number) => void,
): Promise<void> {
  const pending = new Map<number, number[]>();
  let next = 0;
  let chunkId = 0;
  const pool = Array.from({ length: count }, () => new Worker(new URL('./decode-worker.js', import.meta.url), { workerData: init }));
  const send = async (worker: Worker): Promise<boolean> => {
    await sharp.belowLimit(); // back-pressure: bytes waiting for sharp stay bounded
    if (next >= paths.length) return false;
    const indices: number[] = [];
    for (const end = Math.min(paths.length, next + CHUNK); next < end; next++) indices.push(next);
    const request: ChunkRequest = { id: chunkId++, indices, paths: indices.map((i) => paths[i]!) };
    pending.set(request.id, indices);
    worker.postMessage(request);
    return true;
  };
  return new Promise<void>((resolve, reject) => {
    let running = pool.length;
    const finished = new Set<Worker>();
    const fail = (error: unknown): void => {
      for (const worker of pool) finished.add(worker);
      for (const worker of pool) void worker.terminate();
      reject(error instanceof Error ? error : new Error(String(error)));
    };
    const finish = (worker: Worker): void => {
      finished.add(worker);
      void worker.terminate();
      if (--running === 0) resolve();
    };
    for (const worker of pool) {
      worker.on('error', fail);
      worker.on('exit', (code) => {
        if (!finished.has(worker)) fail(new Error(`a decode worker stopped unexpectedly (exit code ${code})`));
      });
      worker.on('message', (reply: ChunkReply) => {
        const indices = pending.get(reply.id)!;
        pending.delete(reply.id);
        indices.forEach((index, i) => {
          result.sha256[index] = reply.sha256[i]!;
          result.failures[index] = reply.failures[i]!;
          const bytes = reply.forSharp[i];
          if (bytes) sharp.push(index, bytes);
        });
        report(indices.length);
        send(worker).then((sent) => sent || finish(worker), fail);
      });
      send(worker).then((sent) => sent || finish(worker), fail);
    }
  });
}

/** The files sharp decodes, at most `limit` at a time; failures are recorded, never thrown. */
class SharpQueue {
  private readonly waiting: { index: number; bytes: Uint8Array }[] = [];
  private inFlight = 0;
  private readonly limit = Math.max(4, availableParallelism());
  private idle: (() => void)[] = [];

  constructor(
    private readonly target: DecodeTarget,
    private readonly result: PoolResult,
    private readonly size: number,
  ) {}

  push(index: number, bytes: Uint8Array): void {
    this.waiting.push({ index, bytes });
    this.pump();
  }

  /** Resolves once few enough files are waiting (so memory held by their bytes stays small). */
  async belowLimit(): Promise<void> {
    while (this.waiting.length > this.limit * 16) await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  async drain(): Promise<void> {
    while (this.waiting.length > 0 || this.inFlight > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private pump(): void {
    while (this.inFlight < this.limit && this.waiting.length > 0) {
      const { index, bytes } = this.waiting.shift()!;
      this.inFlight++;
      // fastPng: false: the JavaScript path already declined this file.
      decodeFixed(bytes, { ...this.target, fastPng: false })
        .then(
          (pixels) => this.result.pixels.set(pixels, index * this.size),
          (error: unknown) => {
            this.result.failures[index] = error instanceof Error ? error.message : String(error);
          },
        )
        .finally(() => {
          this.inFlight--;
          this.pump();
          const idle = this.idle;
          this.idle = [];
          for (const wake of idle) wake();
        });
    }
  }
}
