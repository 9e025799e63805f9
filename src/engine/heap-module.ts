/**
 * engine/heap-module — hand-written SIMD WebAssembly modules (src/engine/*.wat) instantiated
 * on the tfjs wasm backend's own memory, so their kernels read and write tensors where they
 * live. One compiled module per source, one instance per backend memory.
 */
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

/**
 * Returns a loader that binds the module's exports (through `bind`) to a backend's memory, or
 * answers null when that cannot be done (no wasm SIMD in this runtime, or a backend without an
 * exposed memory): callers then keep their JS paths.
 */
export function heapModule<T>(base64: string, bind: (exports: Record<string, unknown>) => T): (backend: WasmBackend) => T | null {
  const instances = new WeakMap<WasmMemory, T>();
  let compiled: object | null = null;
  let broken = false;
  return (backend) => {
    if (broken || Wasm === undefined) return null;
    const memory = (backend.wasm as { asm?: { memory?: unknown } }).asm?.memory;
    if (!(memory instanceof Wasm.Memory)) return null;
    let bound = instances.get(memory);
    if (bound === undefined) {
      try {
        compiled ??= new Wasm.Module(Buffer.from(base64, 'base64'));
        bound = bind(new Wasm.Instance(compiled, { env: { memory } }).exports);
      } catch {
        broken = true;
        return null;
      }
      instances.set(memory, bound);
    }
    return bound;
  };
}
