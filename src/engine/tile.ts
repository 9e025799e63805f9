/**
 * engine/tile — Tile on the wasm heap as block copies. The stock wasm kernel computes every
 * output element's source index (hundreds of ms per batch-norm gradient step, where tfjs tiles
 * the per-channel statistics to the activation's full shape); here each input row is copied once
 * and every repetition is a doubling copyWithin (memmove speed).
 */
import type { TensorInfo } from '@tensorflow/tfjs';
import { type WasmBackend, offsetOf, sizeOf } from './wasm-heap.js';

/** Tiles a 4-byte tensor (float32 or int32) `reps` times along each axis; null for other dtypes. */
export function tile(backend: WasmBackend, x: TensorInfo, reps: readonly number[]): TensorInfo | null {
  if ((x.dtype !== 'float32' && x.dtype !== 'int32') || reps.length !== x.shape.length || x.shape.length === 0) return null;
  const rank = x.shape.length;
  const inShape = x.shape;
  const outShape = inShape.map((d, i) => d * reps[i]!);
  const out = backend.makeOutput(outShape, x.dtype);
  if (sizeOf(outShape) === 0) return out;
  // Bit-exact copies for both dtypes: a 32-bit integer view of the heap (views are taken after
  // makeOutput, which may grow the heap).
  const heap = new Uint32Array(backend.wasm.HEAPF32.buffer);
  const inBase = offsetOf(backend, x);
  const outBase = offsetOf(backend, out);
  const inStride = new Array<number>(rank);
  const outStride = new Array<number>(rank);
  inStride[rank - 1] = 1;
  outStride[rank - 1] = 1;
  for (let d = rank - 2; d >= 0; d--) {
    inStride[d] = inStride[d + 1]! * inShape[d + 1]!;
    outStride[d] = outStride[d + 1]! * outShape[d + 1]!;
  }
  /** Repeats heap[start, start + length) `times` times in total, in place after itself. */
  const repeat = (start: number, length: number, times: number): void => {
    const total = length * times;
    for (let done = length; done < total; ) {
      const n = Math.min(done, total - done);
      heap.copyWithin(start + done, start, start + n);
      done += n;
    }
  };
  const fill = (dim: number, inOffset: number, outOffset: number): void => {
    const rows = inShape[dim]!;
    if (dim === rank - 1) {
      heap.copyWithin(outOffset, inOffset, inOffset + rows);
    } else {
      for (let i = 0; i < rows; i++) fill(dim + 1, inOffset + i * inStride[dim]!, outOffset + i * outStride[dim]!);
    }
    repeat(outOffset, rows * outStride[dim]!, reps[dim]!);
  };
  fill(0, inBase, outBase);
  return out;
}
