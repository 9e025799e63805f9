/**
 * engine/simd-pool — SIMD WebAssembly kernels (pool.wat) that run on the tfjs wasm backend's
 * own memory, so they read and write tensors where they live.
 */
import { poolWasmBase64 } from './pool-wasm.js';
import type { WasmBackend } from './wasm-heap.js';

// @types/node 20 leaves the WebAssembly global untyped; this is the slice of it used here.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Memory: abstract new (...args: never[]) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
}
const Wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** (x, dx, y, dy, ow, cBytes, stepBytes, rowBytes) — byte offsets into the backend's memory. */
export type MaxPoolGradRow = (x: number, dx: number, y: number, dy: number, ow: number, cb: number, step: number, wcb: number) => void;

export interface PoolKernels {
  maxPoolGrad2x2Row: MaxPoolGradRow;
}

const instances = new WeakMap<WasmMemory, PoolKernels>();
let compiled: object | null = null;
let broken = false;

/** The kernels bound to this backend's memory, or null when SIMD wasm is unavailable. */
export function poolKernels(backend: WasmBackend): PoolKernels | null {
  if (broken || Wasm === undefined) return null;
  const memory = (backend.wasm as { asm?: { memory?: unknown } }).asm?.memory;
  if (!(memory instanceof Wasm.Memory)) return null;
  let k = instances.get(memory);
  if (k === undefined) {
    try {
      compiled ??= new Wasm.Module(Buffer.from(poolWasmBase64, 'base64'));
      const instance = new Wasm.Instance(compiled, { env: { memory } });
      k = { maxPoolGrad2x2Row: instance.exports.maxPoolGrad2x2Row as MaxPoolGradRow };
    } catch {
      broken = true; // e.g. a runtime without wasm SIMD: the JS loops stay in use
      return null;
    }
    instances.set(memory, k);
  }
  return k;
}
