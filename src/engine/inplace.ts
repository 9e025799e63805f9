/**
 * engine/inplace — direct Float32 views of tensor data on the wasm heap, for the few callers
 * (the optimiser) whose per-op dispatch cost would otherwise dominate.
 *
 * Tensors are immutable by contract, so a writable view is only handed out for data that exactly
 * one tensor references (the backend's refCount is 1): a Variable whose storage nothing else
 * shares. Views are invalidated by the next heap allocation (any tfjs op): use them at once.
 */
import * as tf from '@tensorflow/tfjs';
import { currentWasmBackend, type WasmBackend } from './wasm-heap.js';
import { forgetConvCols } from './conv.js';
import { forgetPackedWeights } from './packed-weights.js';

function view(backend: WasmBackend, tensor: tf.Tensor): Float32Array | null {
  const data = backend.dataIdMap.get(tensor.dataId);
  if (data === undefined || tensor.dtype !== 'float32' || data.memoryOffset === null) return null;
  return new Float32Array(backend.wasm.HEAPF32.buffer, data.memoryOffset, tensor.size);
}

/** A read-only (by convention) view of a float32 tensor's data, or null off the wasm backend. */
export function readView(tensor: tf.Tensor): Float32Array | null {
  const backend = currentWasmBackend();
  return backend === null ? null : view(backend, tensor);
}

/**
 * A writable view of a float32 tensor's data when no other tensor shares it, else null
 * (then update through `variable.assign`).
 */
export function exclusiveView(tensor: tf.Tensor): Float32Array | null {
  const backend = currentWasmBackend();
  if (backend === null) return null;
  const data = backend.dataIdMap.get(tensor.dataId);
  if (data === undefined || data.refCount !== 1) return null;
  forgetConvCols(tensor.dataId); // derived data cached by the conv kernels goes stale
  forgetPackedWeights(backend, tensor.dataId); // and so do the stock kernels' packed weights
  return view(backend, tensor);
}
