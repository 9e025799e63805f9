/**
 * engine — Kiln's compute engine: TensorFlow.js on the 'wasm' backend, made fast by a kernel pack.
 *
 * This area owns:
 *  - backend setup: `initEngine()` selects the tfjs 'wasm' backend (SIMD, single-threaded in Node)
 *    and is the one place that decides how tensors are computed; every other area imports `tf`
 *    from here instead of from '@tensorflow/tfjs' so that the engine is initialised first;
 *  - the kernel pack (kernel-pack.ts): BatchMatMul, _FusedMatMul, Conv2D, FusedConv2D,
 *    Conv2DBackpropInput and Conv2DBackpropFilter re-registered on 'wasm' as im2col/col2im +
 *    cblas_sgemm from OpenBLAS (loaded through koffi), reading and writing the wasm heap in place;
 *    MaxPoolGrad and leading-axes Sum (bias gradients) in tight typed-array loops / sgemv;
 *  - the fallback: without OpenBLAS (or with `blas: 'off'`) the stock wasm kernels run, plus the
 *    engine's own Conv2DBackpropFilter (which wasm lacks, so CNNs could not train otherwise).
 *    The fast path needs `sudo apt-get install libopenblas0-pthread` (or KILN_BLAS_LIBRARY=path);
 *  - parity tests of every replaced kernel against the reference 'cpu' backend (*.test.ts) and a
 *    micro-benchmark of training steps (bench-kernels.ts).
 *
 * @example
 * import { initEngine, tf } from '../engine/index.js';
 * const info = await initEngine();            // { backend: 'wasm', blas: { enabled: true, ... } }
 * const y = tf.matMul(tf.ones([2, 3]), tf.ones([3, 4]));
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { availableParallelism, loadavg } from 'node:os';
import { type Blas, loadBlas } from './blas.js';
import { installKernelPack } from './kernel-pack.js';

export { tf };
export { exclusiveView, readView } from './inplace.js';
export { type AdamSlots, type AdamStep, createAdamSlots, simdAdamAvailable, simdAdamStep } from './simd-adam.js';

export interface EngineOptions {
  /** 'auto' (default): use OpenBLAS when it can be loaded; 'off': never. */
  blas?: 'auto' | 'off';
  /** OpenBLAS threads; default: cores actually free (cores minus the 1-minute load), at least 1. */
  threads?: number;
  /** Suppress the one-time console warning about the missing fast path. */
  quiet?: boolean;
}

export interface EngineInfo {
  backend: 'wasm';
  blas: { enabled: boolean; library: string | null; threads: number; reason?: string };
  /** Names of the kernels re-registered on the wasm backend. */
  kernels: string[];
  tfjsVersion: string;
  simd: boolean;
  threadsWasm: boolean;
}

export const BLAS_INSTALL_HINT =
  'for the fast path install OpenBLAS: `sudo apt-get install libopenblas0-pthread` ' +
  '(or point KILN_BLAS_LIBRARY at a libopenblas shared library)';

let current: EngineInfo | null = null;
let currentKey = '';
let pending: Promise<EngineInfo> | null = null;
let blasCache: Promise<Awaited<ReturnType<typeof loadBlas>>> | null = null;
let warned = false;

/** Cores not busy with other work right now (cores minus the 1-minute load average), at least 1. */
export function freeCores(): number {
  const cores = availableParallelism();
  const busy = Math.round(loadavg()[0] ?? 0);
  return Math.max(1, Math.min(cores, cores - busy));
}

async function flag(name: string): Promise<boolean> {
  try {
    return Boolean(await tf.env().getAsync(name));
  } catch {
    return false;
  }
}

async function doInit(options: EngineOptions): Promise<EngineInfo> {
  if (tf.getBackend() !== 'wasm') {
    const ok = await tf.setBackend('wasm');
    if (!ok) throw new Error('kiln engine: the tfjs wasm backend failed to initialise');
  }
  await tf.ready();
  let blas: Blas | null = null;
  let reason: string | undefined;
  if (options.blas === 'off') {
    reason = `BLAS disabled by option (blas: 'off'); ${BLAS_INSTALL_HINT}`;
  } else {
    blasCache ??= loadBlas();
    const loaded = await blasCache;
    if (loaded.ok) blas = loaded.blas;
    else reason = `${loaded.reason}; ${BLAS_INSTALL_HINT}`;
  }
  let threads = 0;
  if (blas !== null) {
    threads = Math.max(1, Math.floor(options.threads ?? freeCores()));
    blas.setThreads(threads);
    threads = blas.getThreads();
  }
  const kernels = installKernelPack(blas !== null ? 'blas' : 'js', blas);
  if (blas === null && options.blas !== 'off' && options.quiet !== true && !warned) {
    warned = true;
    console.warn(`kiln engine: running on plain tfjs wasm kernels (slow); ${reason ?? BLAS_INSTALL_HINT}`);
  }
  const info: EngineInfo = {
    backend: 'wasm',
    blas: { enabled: blas !== null, library: blas?.library ?? null, threads, ...(reason !== undefined ? { reason } : {}) },
    kernels,
    tfjsVersion: tf.version.tfjs,
    simd: await flag('WASM_HAS_SIMD_SUPPORT'),
    threadsWasm: await flag('WASM_HAS_MULTITHREAD_SUPPORT'),
  };
  return info;
}

/**
 * Selects the wasm backend and installs the kernel pack. Idempotent: a second call with the same
 * options returns the same info; a call with different options reconfigures the pack.
 */
export async function initEngine(options: EngineOptions = {}): Promise<EngineInfo> {
  const key = JSON.stringify([options.blas ?? 'auto', options.threads ?? null]);
  while (pending !== null) await pending.catch(() => undefined);
  if (current !== null && key === currentKey && tf.getBackend() === 'wasm') return current;
  pending = doInit(options);
  try {
    current = await pending;
    currentKey = key;
    return current;
  } finally {
    pending = null;
  }
}

/** The info of the last successful initEngine(), or null before it. */
export function engineInfo(): EngineInfo | null {
  return current;
}
