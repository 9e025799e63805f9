/**
 * engine/simd-pool — SIMD WebAssembly kernels (pool.wat) that run on the tfjs wasm backend's
 * own memory, so they read and write tensors where they live.
 */
import { poolWasmBase64 } from './pool-wasm.js';
import { heapModule } from './heap-module.js';
import type { WasmBackend } from './wasm-heap.js';

/** (x, dx, y, dy, ow, cBytes, stepBytes, rowBytes) — byte offsets into the backend's memory. */
export type MaxPoolGradRow = (x: number, dx: number, y: number, dy: number, ow: number, cb: number, step: number, wcb: number) => void;

export interface PoolKernels {
  maxPoolGrad2x2Row: MaxPoolGradRow;
}

/** The kernels bound to this backend's memory, or null when SIMD wasm is unavailable. */
export const poolKernels: (backend: WasmBackend) => PoolKernels | null = heapModule(poolWasmBase64, (exports) => ({
  maxPoolGrad2x2Row: exports.maxPoolGrad2x2Row as MaxPoolGradRow,
}));
