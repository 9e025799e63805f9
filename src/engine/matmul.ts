/**
 * engine/matmul — BatchMatMul and _FusedMatMul on the wasm heap via cblas_sgemm.
 * Returns null when a case is not handled, so the caller falls back to the original kernel.
 */
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';
import type { Blas } from './blas.js';
import { applyActivation, biasBroadcastsOverLastAxis, fillBias } from './activation.js';
import { type WasmBackend, heapF32, offsetOf, sizeOf } from './wasm-heap.js';

export interface MatMulArgs {
  a: TensorInfo;
  b: TensorInfo;
  transposeA: boolean;
  transposeB: boolean;
  bias?: TensorInfo;
  activation?: string;
  leakyreluAlpha?: number;
}

export function blasMatMul(backend: WasmBackend, blas: Blas, args: MatMulArgs): TensorInfo | null {
  const { a, b, transposeA, transposeB, bias } = args;
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  if (bias !== undefined && bias.dtype !== 'float32') return null;
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  if (aRank < 2 || bRank < 2) return null;
  const m = transposeA ? a.shape[aRank - 1] : a.shape[aRank - 2];
  const k = transposeA ? a.shape[aRank - 2] : a.shape[aRank - 1];
  const kb = transposeB ? b.shape[bRank - 1] : b.shape[bRank - 2];
  const n = transposeB ? b.shape[bRank - 2] : b.shape[bRank - 1];
  if (k !== kb) return null; // let the original kernel produce its error message
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = sizeOf(outerA);
  const batchB = sizeOf(outerB);
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  const batch = Math.max(batchA, batchB);
  if ((batchA !== batchB && batchA !== 1 && batchB !== 1) || sizeOf(outer) !== batch) return null;
  const outShape = [...outer, m, n];
  if (bias !== undefined && (bias.shape.length > outShape.length || !biasBroadcastsOverLastAxis(bias.shape, n))) {
    return null;
  }

  const out = backend.makeOutput(outShape, 'float32');
  const h = heapF32(backend); // after the allocation
  const cOff = offsetOf(backend, out);
  const total = batch * m * n;
  if (total === 0) return out;
  if (bias !== undefined) fillBias(h, cOff, batch * m, n, offsetOf(backend, bias), sizeOf(bias.shape));
  const beta = bias !== undefined ? 1 : 0;
  if (k === 0) {
    if (bias === undefined) h.fill(0, cOff, cOff + total);
  } else {
    const aOff = offsetOf(backend, a);
    const bOff = offsetOf(backend, b);
    const lda = transposeA ? m : k;
    const ldb = transposeB ? k : n;
    const aStride = batchA === 1 ? 0 : m * k;
    const bStride = batchB === 1 ? 0 : k * n;
    if (batch > 1 && bStride === 0 && !transposeA) {
      // [batch*m, k] @ [k, n] in one call: the batch rows of A are contiguous.
      blas.sgemm(false, transposeB, batch * m, n, k, 1, h.subarray(aOff), lda, h.subarray(bOff), ldb, beta, h.subarray(cOff), n);
    } else {
      for (let i = 0; i < batch; i++) {
        blas.sgemm(
          transposeA,
          transposeB,
          m,
          n,
          k,
          1,
          h.subarray(aOff + i * aStride),
          lda,
          h.subarray(bOff + i * bStride),
          ldb,
          beta,
          h.subarray(cOff + i * m * n),
          n,
        );
      }
    }
  }
  const act = args.activation ?? 'linear';
  if (act !== 'linear') applyActivation(h, cOff, total, act, args.leakyreluAlpha ?? 0.2);
  return out;
}
