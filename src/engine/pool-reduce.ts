/**
 * engine/pool-reduce — MaxPoolGrad and leading-axes Sum (bias gradients) on the wasm heap.
 */
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';
import type { Blas } from './blas.js';
import { type WasmBackend, Scratch, heapF32, offsetOf, sizeOf } from './wasm-heap.js';
import { poolKernels } from './simd-pool.js';

const scratch = new Scratch();
let bestVal = new Float32Array(0);
let bestPos = new Int32Array(0);

/**
 * MaxPoolGrad (NHWC): dx[argmax of each window] += dy, where the argmax is the first maximum in
 * window order (rows, then columns), as in the 'cpu' backend. Channels are the innermost loop, so
 * every read is contiguous.
 */
export function maxPoolGrad(
  backend: WasmBackend,
  dy: TensorInfo,
  x: TensorInfo,
  y: TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): TensorInfo | null {
  if (dy.dtype !== 'float32' || x.dtype !== 'float32' || y.dtype !== 'float32' || info.dataFormat !== 'channelsLast') return null;
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const efh = info.effectiveFilterHeight;
  const efw = info.effectiveFilterWidth;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const dx = backend.makeOutput([N, H, W, C], 'float32');
  const h = heapF32(backend);
  const dxOff = offsetOf(backend, dx);
  const total = N * H * W * C;
  const xOff = offsetOf(backend, x);
  const dyOff = offsetOf(backend, dy);
  const simd =
    efh === 2 && efw === 2 && sh === 2 && sw === 2 && pt === 0 && pl === 0 && (C & 3) === 0 && 2 * OH <= H && 2 * OW <= W
      ? poolKernels(backend)
      : null;
  if (simd !== null && total > 0) {
    // Non-overlapping windows write every covered element; only a leftover last row/column
    // (odd H or W) needs zeros.
    if (2 * OH !== H || 2 * OW !== W) h.fill(0, dxOff, dxOff + total);
    const yOff = offsetOf(backend, y);
    const wcb = W * C * 4;
    for (let n = 0; n < N; n++) {
      for (let oh = 0; oh < OH; oh++) {
        const p = (n * H + 2 * oh) * W * C;
        const o = ((n * OH + oh) * OW) * C;
        simd.maxPoolGrad2x2Row((xOff + p) * 4, (dxOff + p) * 4, (yOff + o) * 4, (dyOff + o) * 4, OW, C * 4, 2 * C * 4, wcb);
      }
    }
    return dx;
  }
  h.fill(0, dxOff, dxOff + total);
  if (total === 0 || OH * OW === 0) return dx;
  if (bestVal.length < C) {
    bestVal = new Float32Array(C);
    bestPos = new Int32Array(C);
  }
  const bv = bestVal;
  const bp = bestPos;
  const wc = W * C;
  const allInside = pt === 0 && pl === 0 && (OH - 1) * sh + efh <= H && (OW - 1) * sw + efw <= W;
  if (allInside && efh === 2 && efw === 2) {
    maxPoolGrad2x2(h, xOff, offsetOf(backend, y), dyOff, dxOff, { N, H, W, C, OH, OW, sh, sw });
    return dx;
  }
  let dyi = dyOff;
  for (let n = 0; n < N; n++) {
    const nBase = n * H * wc;
    for (let oh = 0; oh < OH; oh++) {
      const r0 = oh * sh - pt;
      let rMin = r0;
      while (rMin < 0) rMin += dh;
      const rMax = Math.min(H, r0 + efh);
      for (let ow = 0; ow < OW; ow++) {
        const c0 = ow * sw - pl;
        let cMin = c0;
        while (cMin < 0) cMin += dw;
        const cMax = Math.min(W, c0 + efw);
        bv.fill(-Infinity, 0, C);
        bp.fill(-1, 0, C);
        for (let r = rMin; r < rMax; r += dh) {
          for (let cc = cMin; cc < cMax; cc += dw) {
            const p = nBase + r * wc + cc * C;
            const xp = xOff + p;
            for (let d = 0; d < C; d++) {
              const v = h[xp + d];
              if (v > bv[d]) {
                bv[d] = v;
                bp[d] = p + d;
              }
            }
          }
        }
        for (let d = 0; d < C; d++, dyi++) {
          const p = bp[d];
          if (p >= 0) h[dxOff + p] += h[dyi];
        }
      }
    }
  }
  return dx;
}

/**
 * The common 2x2 window (no padding, no dilation). Branch-free: with random data the compares of
 * a running argmax mispredict about half the time, which made the loop 3x slower. Instead each
 * position is compared for equality with the forward output y (the window maximum) and only the
 * first match gets the gradient, which is exactly the cpu backend's first-maximum rule.
 */
function maxPoolGrad2x2(
  h: Float32Array,
  xOff: number,
  yOff: number,
  dyOff: number,
  dxOff: number,
  g: { N: number; H: number; W: number; C: number; OH: number; OW: number; sh: number; sw: number },
): void {
  const { N, H, W, C, OH, OW, sh, sw } = g;
  const wc = W * C;
  let dyi = dyOff;
  let yi = yOff;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const rowBase = (n * H + oh * sh) * wc;
      for (let ow = 0; ow < OW; ow++) {
        const p00 = rowBase + ow * sw * C;
        const a = xOff + p00;
        const b = a + C;
        const c = a + wc;
        const e = c + C;
        const da = dxOff + p00;
        const db = da + C;
        const dc = da + wc;
        const de = dc + C;
        for (let d = 0; d < C; d++) {
          const mx = h[yi++];
          const gr = h[dyi++];
          const ea = Number(h[a + d] === mx);
          const eb = Number(h[b + d] === mx) & (ea ^ 1);
          const f2 = ea | eb;
          const ec = Number(h[c + d] === mx) & (f2 ^ 1);
          const ee = Number(h[e + d] === mx) & ((f2 | ec) ^ 1);
          h[da + d] += gr * ea;
          h[db + d] += gr * eb;
          h[dc + d] += gr * ec;
          h[de + d] += gr * ee;
        }
      }
    }
  }
}

/**
 * Sum over the leading axes [0, k) of a float32 tensor: out[j] = sum_i x[i, j] (bias gradients).
 * Returns null for any other reduction (the original kernel handles those well).
 */
export function leadingSum(
  backend: WasmBackend,
  blas: Blas | null,
  x: TensorInfo,
  axis: number | number[],
  keepDims: boolean,
): TensorInfo | null {
  if (x.dtype !== 'float32') return null;
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(axis, x.shape).slice().sort((p, q) => p - q);
  const k = axes.length;
  if (k === 0 || k >= rank) return null;
  for (let i = 0; i < k; i++) if (axes[i] !== i) return null;
  const rows = sizeOf(x.shape.slice(0, k));
  const inner = sizeOf(x.shape.slice(k));
  const outShape = keepDims ? [...x.shape.slice(0, k).map(() => 1), ...x.shape.slice(k)] : x.shape.slice(k);
  const out = backend.makeOutput(outShape, 'float32');
  const h = heapF32(backend);
  const oOff = offsetOf(backend, out);
  if (inner === 0) return out;
  if (rows === 0) {
    h.fill(0, oOff, oOff + inner);
    return out;
  }
  const xOff = offsetOf(backend, x);
  if (blas !== null && rows >= 4) {
    const ones = scratch.get(rows);
    if (ones[0] !== 1 || ones[rows - 1] !== 1) ones.fill(1);
    blas.sgemv(true, rows, inner, 1, h.subarray(xOff), inner, ones, 1, 0, h.subarray(oOff), 1);
    return out;
  }
  const acc = new Float64Array(inner);
  let p = xOff;
  for (let i = 0; i < rows; i++) for (let j = 0; j < inner; j++) acc[j] += h[p++];
  for (let j = 0; j < inner; j++) h[oOff + j] = acc[j];
  return out;
}
