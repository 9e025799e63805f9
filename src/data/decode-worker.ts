/**
 * data/decode-worker — the worker thread of data/decode-pool: runs data/decode-job on the
 * chunks of paths it is sent, writing decoded pixels straight into the shared output buffer and
 * answering with hashes, failures and the bytes left for sharp (transferred, not copied).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type FileFacts, runJob } from './decode-job.js';
import type { DecodeTarget } from './labelled.js';

/** What the pool gives every worker at start. */
export interface WorkerInit {
  pixels: SharedArrayBuffer;
  /** Float64 size, mtimeMs, ctimeMs per item (NaN until read). */
  facts: SharedArrayBuffer;
  target: DecodeTarget;
}

/** One chunk of work: catalog indices and their paths. */
export interface ChunkRequest {
  id: number;
  indices: number[];
  paths: string[];
}

/** The answer for a chunk, item by item in request order. */
export interface ChunkReply {
  id: number;
  /** '' where the file could not be read. */
  sha256: string[];
  /** Why a file could not be read, else null. */
  failures: (string | null)[];
  /** The bytes sharp must decode, else null. */
  forSharp: (Uint8Array | null)[];
}

if (parentPort) {
  const port = parentPort;
  const { pixels, facts, target } = workerData as WorkerInit;
  const out = new Uint8Array(pixels);
  const numbers = new Float64Array(facts);
  const file: FileFacts = { size: NaN, mtimeMs: NaN, ctimeMs: NaN };
  const size = target.height * target.width * target.channels;
  port.on('message', (request: ChunkRequest) => {
    const reply: ChunkReply = { id: request.id, sha256: [], failures: [], forSharp: [] };
    const transfer: ArrayBuffer[] = [];
    for (let i = 0; i < request.indices.length; i++) {
      const index = request.indices[i]!;
      file.size = file.mtimeMs = file.ctimeMs = NaN;
      const result = runJob(request.paths[i]!, target, out, index * size, file);
      numbers[index * 3] = file.size;
      numbers[index * 3 + 1] = file.mtimeMs;
      numbers[index * 3 + 2] = file.ctimeMs;
      reply.sha256.push(result.kind === 'failed' ? '' : result.sha256);
      reply.failures.push(result.kind === 'failed' ? result.reason : null);
      if (result.kind === 'sharp') {
        // The bytes are the job's own copy: they move to the main thread without another.
        reply.forSharp.push(result.bytes);
        transfer.push(result.bytes.buffer as ArrayBuffer);
      } else {
        reply.forSharp.push(null);
      }
    }
    port.postMessage(reply, transfer);
  });
}
