/**
 * engine/packed-weights — keeps the stock tfjs wasm kernels' packed copies of weights in step
 * with tensors that the engine writes in place.
 *
 * The stock wasm matmul (BatchMatMul/_FusedMatMul, untransposed) and convolutions (Conv2D,
 * FusedConv2D, depthwise) build an XNNPACK operator per weights tensor, with the weights and the
 * bias packed into the operator's own memory, and cache it under the tensors' numeric ids until
 * those are disposed: tfjs tensors are immutable, so the cache is never wrong for tfjs itself.
 * The SIMD Adam step and `exclusiveView` do write tensors in place; without this, training on the
 * stock kernels (BLAS off) kept running the first step's weights.
 *
 * The cure costs no copy: disposing an id inside the wasm module only forgets it and runs its
 * disposal callbacks (which delete the cached operators; the JS side owns and frees the memory),
 * and registering the same id, size and offset again at once leaves the tensor as it was.
 *
 * With the BLAS kernel pack installed those kernels run only as fallbacks of the pack, and each
 * such call forgets its inputs' packed copies before and after it: no writer has to do anything
 * then, which keeps the fast path's optimiser step exactly as it was. (The stock depthwise
 * convolutions are not wrapped by the pack; Kiln's models have none.)
 */
import type { NamedTensorInfoMap } from '@tensorflow/tfjs';
import { type WasmBackend, sizeOf } from './wasm-heap.js';

/** Whether stock weight-packing kernels run unguarded (no pack, or a pack without BLAS). */
let stockKernelsPack = true;

/** Called by the kernel pack: false while the BLAS pack guards every packing kernel it replaces. */
export function setStockKernelsPack(unguarded: boolean): void {
  stockKernelsPack = unguarded;
}

function forget(backend: WasmBackend, dataId: object): void {
  const data = backend.dataIdMap.has(dataId) ? backend.dataIdMap.get(dataId) : undefined;
  const module = backend.wasm.tfjs;
  if (data === undefined || data.memoryOffset === null || module === undefined) return;
  module.disposeData(data.id);
  module.registerTensor(data.id, sizeOf(data.shape), data.memoryOffset);
}

/**
 * Call after writing a tensor's data in place: later stock kernels repack it instead of using a
 * copy of its old values. A no-op under the BLAS pack.
 */
export function forgetPackedWeights(backend: WasmBackend, dataId: object): void {
  if (stockKernelsPack) forget(backend, dataId);
}

/**
 * Runs a stock kernel that may pack its inputs (a fallback of the BLAS pack) so that it neither
 * uses a packed copy made before (values may have changed in place since) nor keeps one after.
 */
export function withoutPackedCopies<T>(backend: WasmBackend, inputs: NamedTensorInfoMap, run: () => T): T {
  const ids = Object.values(inputs).flatMap((t) => (t != null && t.dtype === 'float32' ? [t.dataId] : []));
  for (const id of ids) forget(backend, id);
  try {
    return run();
  } finally {
    for (const id of ids) forget(backend, id);
  }
}
