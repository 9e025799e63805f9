/**
 * data/decode-worker — the worker thread of data/decode-pool: runs data/decode-job on the
 * chunks of paths it is sent, writing decoded pixels straight into the shared output buffer and
 * answering with hashes, failures and the bytes left for sharp (transferred, not copied).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runJob } from './decode-job.js';
import type { DecodeTarget } from './labelled.js';

/** What the pool gives every worker at start. */
export interface WorkerInit {
  pixels: SharedArrayBuffer;
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
  const { pixels, target } = workerData as WorkerInit;
  const out = new Uint8Array(pixels);
  const size = target.height * target.width * target.channels;
  port.on('message', (request: ChunkRequest) => {
    const reply: ChunkReply = { id: request.id, sha256: [], failures: [], forSharp: [] };
    const transfer: ArrayBuffer[] = [];
    for (let i = 0; i < request.indices.length; i++) {
      const result = runJob(request.paths[i]!, target, out, request.indices[i]! * size);
      reply.sha256.push(result.kind === 'failed' ? '' : result.sha256);
      reply.failures.push(result.kind === 'failed' ? result.reason : null);
      if (result.kind === 'sharp') {
        // readFileSync's buffer is the file's own (not pooled), so it can move without a copy.
        const own = result.bytes.byteOffset === 0 && result.bytes.byteLength === result.bytes.buffer.byteLength;
        const bytes = own ? result.bytes : new Uint8Array(result.bytes);
        reply.forSharp.push(bytes);
        transfer.push(bytes.buffer as ArrayBuffer);
      } else {
        reply.forSharp.push(null);
      }
    }
    port.postMessage(reply, transfer);
  });
}
