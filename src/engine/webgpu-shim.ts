/**
 * engine/webgpu-shim — makes Dawn's Node binding (`webgpu` on npm) the process's `navigator.gpu`.
 *
 * It must run before `@tensorflow/tfjs-backend-webgpu` is imported: that package decides at
 * import time whether WebGPU exists. The GPU object `create()` returns is held here for the life
 * of the process: Dawn segfaults when it is garbage-collected while adapters or devices live.
 * Importing this module loads Dawn (a native addon); only the GPU path imports it.
 */
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);

/** The one Dawn instance of the process (module-level, so never collected). */
export const dawnGpu: GPU = create([]);

const host = globalThis as { navigator?: object };
if (host.navigator === undefined) {
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: dawnGpu }, configurable: true, writable: true });
} else {
  // Node >= 21 has a navigator of its own: add gpu to it rather than replace it.
  Object.defineProperty(host.navigator, 'gpu', { value: dawnGpu, configurable: true, writable: true });
}
