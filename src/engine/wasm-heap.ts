/**
 * engine/wasm-heap — typed access to the internals of the tfjs 'wasm' backend that the kernel
 * pack relies on: the tensor table (dataIdMap, whose entries carry a byte offset into the wasm
 * heap), makeOutput (allocates on the heap) and the heap views themselves.
 *
 * Rule: the heap can grow on any allocation, which replaces the ArrayBuffer; always call
 * heapF32() again after makeOutput and never keep a view across allocations.
 */
import * as tf from '@tensorflow/tfjs';
import type { DataType, TensorInfo } from '@tensorflow/tfjs';

interface WasmTensorData {
  id: number;
  memoryOffset: number;
  shape: number[];
  dtype: DataType;
  refCount: number;
}

/** The wasm module's own tensor registry (ids → offset and size), as tfjs-backend-wasm wraps it. */
export interface WasmTensorRegistry {
  registerTensor(id: number, size: number, memoryOffset: number): void;
  /** Forgets the id and runs its disposal callbacks (cached XNNPACK operators); frees nothing. */
  disposeData(id: number): void;
}

export interface WasmBackend {
  wasm: { HEAPF32: Float32Array; HEAP32: Int32Array; HEAPU8: Uint8Array; tfjs?: WasmTensorRegistry };
  /** get() of a dataId the backend does not hold tries to move it from another backend: check has() first. */
  dataIdMap: { get(dataId: object): WasmTensorData | undefined; has(dataId: object): boolean };
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
  /** Adds a reference to existing data (how Reshape shares data without copying). */
  incRef(dataId: object): void;
}

export function asWasmBackend(backend: unknown): WasmBackend {
  const b = backend as Partial<WasmBackend> | null;
  if (b == null || b.wasm == null || b.dataIdMap == null || typeof b.makeOutput !== 'function' || typeof b.incRef !== 'function') {
    throw new Error('kiln engine: kernel called on a backend that is not tfjs wasm');
  }
  return b as WasmBackend;
}

/** The active backend as a WasmBackend, or null when tfjs is not on 'wasm'. */
export function currentWasmBackend(): WasmBackend | null {
  if (tf.getBackend() !== 'wasm') return null;
  try {
    return asWasmBackend(tf.backend());
  } catch {
    return null;
  }
}

/** Float offset (in elements) of a float32/int32 tensor in the wasm heap. */
export function offsetOf(backend: WasmBackend, t: TensorInfo): number {
  const data = backend.dataIdMap.get(t.dataId);
  if (data === undefined) throw new Error('kiln engine: tensor data not found on the wasm backend');
  return data.memoryOffset >>> 2;
}

/** The current Float32 view of the whole heap (re-take after every allocation). */
export function heapF32(backend: WasmBackend): Float32Array {
  return backend.wasm.HEAPF32;
}

export function sizeOf(shape: readonly number[]): number {
  let s = 1;
  for (const d of shape) s *= d;
  return s;
}

/** A reusable scratch Float32Array outside the wasm heap (grown on demand, never shrunk). */
export class Scratch {
  private buf = new Float32Array(0);
  get(size: number): Float32Array {
    if (this.buf.length < size) this.buf = new Float32Array(Math.max(size, Math.ceil(this.buf.length * 1.5)));
    return this.buf;
  }
}
