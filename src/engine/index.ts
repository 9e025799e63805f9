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
 *    The fast path needs `sudo apt-get install libopenblas0-pthread` (or KILN_BLAS_LIBRARY=path).
 *    The stock matmul/conv cache weights packed by tensor id, so the engine's in-place writers
 *    (SIMD Adam, exclusiveView) make them repack (packed-weights.ts);
 *  - parity tests of every replaced kernel against the reference 'cpu' backend (*.test.ts) and a
 *    micro-benchmark of training steps (bench-kernels.ts);
 *  - the GPU path (gpu.ts): `device: 'gpu'` (or 'auto' with a hardware adapter) selects tfjs's
 *    'webgpu' backend on Dawn instead, with the adapter's identity in the info.
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
import type { DeviceChoice } from './device-choice.js';
import { type AdapterInfo, adapterLabel, probeAdapter, useWebGpuBackend } from './gpu.js';
import { installKernelPack } from './kernel-pack.js';

export { tf };
export { DEVICE_CHOICES, type DeviceChoice, parseDevice } from './device-choice.js';
export { type AdapterInfo, adapterLabel, GPU_DRIVER_HINT, isSoftwareAdapter } from './gpu.js';
export { exclusiveView, readView } from './inplace.js';
export { type AdamSlots, type AdamStep, createAdamSlots, simdAdamAvailable, simdAdamStep } from './simd-adam.js';

export interface EngineOptions {
  /** 'auto' (default): use OpenBLAS when it can be loaded; 'off': never. */
  blas?: 'auto' | 'off';
  /** OpenBLAS threads; default: cores actually free (cores minus the 1-minute load), at least 1. */
  threads?: number;
  /** Suppress the one-time console warning about the missing fast path. */
  quiet?: boolean;
  /**
   * 'cpu' (default here; the CLI defaults to 'auto'): the wasm path. 'auto': a hardware GPU
   * adapter when one exists, else the CPU exactly as 'cpu'. 'gpu': any WebGPU adapter, software
   * ones included; an error when there is none.
   */
  device?: DeviceChoice;
}

export interface EngineInfo {
  backend: 'wasm' | 'webgpu';
  /** Which device trains. */
  device: 'cpu' | 'gpu';
  /** The GPU adapter, when device is 'gpu'. */
  adapter: AdapterInfo | null;
  /** Why 'auto' stayed on the CPU (no adapter, only a software one, ...). */
  deviceReason?: string;
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

/** True when tensors can be read synchronously (cpu, wasm); false on webgpu in Node. */
export function syncReadable(): boolean {
  const backend = tf.getBackend();
  return backend === 'wasm' || backend === 'cpu';
}

/** The one line a command logs at start: which device trains, on what. */
export function describeEngine(info: EngineInfo): string {
  if (info.device === 'gpu' && info.adapter !== null) return `engine: tfjs ${info.tfjsVersion} on webgpu, GPU ${adapterLabel(info.adapter)}`;
  const blas = info.blas.enabled
    ? `OpenBLAS (${info.blas.threads} thread${info.blas.threads === 1 ? '' : 's'})`
    : `no BLAS: ${info.blas.reason ?? 'disabled'}`;
  return `engine: tfjs ${info.tfjsVersion} on wasm (CPU), ${blas}${info.deviceReason !== undefined ? `; no GPU: ${info.deviceReason}` : ''}`;
}

/** Run tags naming the engine: backend, device and, on the GPU, the adapter. */
export function engineTags(info: EngineInfo): Record<string, string> {
  const tags: Record<string, string> = { 'kiln.engine.backend': info.backend, 'kiln.engine.device': info.device };
  if (info.adapter !== null) {
    tags['kiln.gpu.vendor'] = info.adapter.vendor;
    tags['kiln.gpu.architecture'] = info.adapter.architecture;
    tags['kiln.gpu.description'] = info.adapter.description;
    tags['kiln.gpu.software'] = String(info.adapter.software);
  }
  return tags;
}

async function initGpu(choice: 'auto' | 'gpu'): Promise<EngineInfo | string> {
  const probe = await probeAdapter(choice);
  if (!probe.ok) {
    if (choice === 'gpu') throw new Error(`kiln engine: --device gpu, but ${probe.reason}`);
    return probe.reason;
  }
  await useWebGpuBackend(probe.adapter, probe.info);
  return {
    backend: 'webgpu',
    device: 'gpu',
    adapter: probe.info,
    blas: { enabled: false, library: null, threads: 0, reason: 'not used on the GPU' },
    kernels: [],
    tfjsVersion: tf.version.tfjs,
    simd: false,
    threadsWasm: false,
  };
}

async function doInit(options: EngineOptions): Promise<EngineInfo> {
  let deviceReason: string | undefined;
  const device = options.device ?? 'cpu';
  if (device !== 'cpu') {
    const gpu = await initGpu(device);
    if (typeof gpu !== 'string') return gpu;
    deviceReason = gpu;
  }
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
    device: 'cpu',
    adapter: null,
    ...(deviceReason !== undefined ? { deviceReason } : {}),
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
  const key = JSON.stringify([options.blas ?? 'auto', options.threads ?? null, options.device ?? 'cpu']);
  while (pending !== null) await pending.catch(() => undefined);
  if (current !== null && key === currentKey && tf.getBackend() === current.backend) return current;
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
