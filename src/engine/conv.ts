/**
 * engine/conv — NHWC/HWIO convolutions as im2col + GEMM.
 *
 * With x [N,H,W,C] and the filter [FH,FW,C,CO] seen as a row-major [K=FH*FW*C, CO] matrix,
 * the im2col matrix has one row of K values per output pixel (N*OH*OW rows), so
 *   forward         y[rows, CO]  = cols[rows, K] @ Wmat[K, CO]
 *   backprop input  dcols        = dy[rows, CO] @ Wmat^T, then col2im (scatter-add) into dx
 *   backprop filter dW[K, CO]    = cols^T @ dy
 * with no transposes of the data. Rows are processed in chunks of whole output lines (n, oh) so
 * the scratch stays a few MB. A 1x1 stride-1 unpadded conv needs no im2col at all.
 */
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo, KernelFunc } from '@tensorflow/tfjs';
import type { Blas } from './blas.js';
import { applyActivation, biasBroadcastsOverLastAxis, fillBias } from './activation.js';
import { type WasmBackend, Scratch, heapF32, offsetOf, sizeOf } from './wasm-heap.js';

/** Target scratch size per chunk, in floats (8 MB). */
const CHUNK_FLOATS = 1 << 21;
const scratch = new Scratch();

export interface ConvGeom {
  n: number;
  h: number;
  w: number;
  c: number;
  oh: number;
  ow: number;
  co: number;
  fh: number;
  fw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  pt: number;
  pl: number;
}

export function geomFromInfo(info: tf.backend_util.Conv2DInfo): ConvGeom {
  return {
    n: info.batchSize,
    h: info.inHeight,
    w: info.inWidth,
    c: info.inChannels,
    oh: info.outHeight,
    ow: info.outWidth,
    co: info.outChannels,
    fh: info.filterHeight,
    fw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    dh: info.dilationHeight,
    dw: info.dilationWidth,
    pt: info.padInfo.top,
    pl: info.padInfo.left,
  };
}

/** 1x1, stride 1, no padding: the input itself is the im2col matrix. */
export function isPointwise(g: ConvGeom): boolean {
  return g.fh === 1 && g.fw === 1 && g.sh === 1 && g.sw === 1 && g.pt === 0 && g.pl === 0 && g.oh === g.h && g.ow === g.w;
}

function linesPerChunk(g: ConvGeom): number {
  const k = g.fh * g.fw * g.c;
  return Math.max(1, Math.floor(CHUNK_FLOATS / Math.max(1, g.ow * k)));
}

/** Writes the im2col rows of output lines [line0, line0+lines) into cols (row-major, K per row). */
export function im2col(x: Float32Array, xOff: number, g: ConvGeom, line0: number, lines: number, cols: Float32Array): void {
  const { h, w, c, oh: OH, ow: OW, fh, fw, sh, sw, dh, dw, pt, pl } = g;
  const rowLen = fw * c;
  const wc = w * c;
  const span = (fw - 1) * dw + 1;
  let dst = 0;
  for (let line = line0; line < line0 + lines; line++) {
    const n = (line / OH) | 0;
    const oh = line - n * OH;
    const ih0 = oh * sh - pt;
    const nBase = xOff + n * h * wc;
    for (let ow = 0; ow < OW; ow++) {
      const iw0 = ow * sw - pl;
      const inside = dw === 1 && iw0 >= 0 && iw0 + span <= w;
      for (let kh = 0; kh < fh; kh++) {
        const ih = ih0 + kh * dh;
        if (ih < 0 || ih >= h) {
          cols.fill(0, dst, dst + rowLen);
          dst += rowLen;
          continue;
        }
        const rowBase = nBase + ih * wc;
        if (inside) {
          const s = rowBase + iw0 * c;
          if (rowLen >= 32) {
            cols.set(x.subarray(s, s + rowLen), dst); // memcpy beats a JS loop for long runs
            dst += rowLen;
          } else {
            for (let i = 0; i < rowLen; i++) cols[dst++] = x[s + i];
          }
          continue;
        }
        for (let kw = 0; kw < fw; kw++) {
          const iw = iw0 + kw * dw;
          if (iw < 0 || iw >= w) {
            for (let ci = 0; ci < c; ci++) cols[dst++] = 0;
          } else {
            let s = rowBase + iw * c;
            for (let ci = 0; ci < c; ci++) cols[dst++] = x[s++];
          }
        }
      }
    }
  }
}

/** Scatter-adds im2col rows of lines [line0, line0+lines) back into dx (the adjoint of im2col). */
export function col2imAdd(cols: Float32Array, g: ConvGeom, line0: number, lines: number, dx: Float32Array, dxOff: number): void {
  const { h, w, c, oh: OH, ow: OW, fh, fw, sh, sw, dh, dw, pt, pl } = g;
  const rowLen = fw * c;
  const wc = w * c;
  const span = (fw - 1) * dw + 1;
  let src = 0;
  for (let line = line0; line < line0 + lines; line++) {
    const n = (line / OH) | 0;
    const oh = line - n * OH;
    const ih0 = oh * sh - pt;
    const nBase = dxOff + n * h * wc;
    for (let ow = 0; ow < OW; ow++) {
      const iw0 = ow * sw - pl;
      const inside = dw === 1 && iw0 >= 0 && iw0 + span <= w;
      for (let kh = 0; kh < fh; kh++) {
        const ih = ih0 + kh * dh;
        if (ih < 0 || ih >= h) {
          src += rowLen;
          continue;
        }
        const rowBase = nBase + ih * wc;
        if (inside) {
          let d = rowBase + iw0 * c;
          const end = src + rowLen;
          if ((rowLen & 3) === 0) {
            while (src < end) {
              dx[d] += cols[src];
              dx[d + 1] += cols[src + 1];
              dx[d + 2] += cols[src + 2];
              dx[d + 3] += cols[src + 3];
              d += 4;
              src += 4;
            }
          } else {
            while (src < end) dx[d++] += cols[src++];
          }
          continue;
        }
        for (let kw = 0; kw < fw; kw++) {
          const iw = iw0 + kw * dw;
          if (iw < 0 || iw >= w) {
            src += c;
          } else {
            let d = rowBase + iw * c;
            for (let ci = 0; ci < c; ci++) dx[d++] += cols[src++];
          }
        }
      }
    }
  }
}

/**
 * The im2col matrix of a forward conv's input, kept (while gradients are being recorded) for the
 * filter gradient of the same input, which then skips its own im2col. An entry is found by the
 * input's dataId and must match its heap offset, the geometry and a sample of the input values
 * (so data changed in place since, or freed and reallocated, is never used); it is dropped when
 * used. Entries plus spare buffers stay under COLS_CACHE_FLOATS; the oldest go first.
 */
interface KeptCols {
  dataId: object;
  offset: number;
  key: string;
  sample: Float32Array;
  cols: Float32Array;
}
const COLS_CACHE_FLOATS = 1 << 24; // 64 MB
const SAMPLE = 64;
let kept: KeptCols[] = [];
let spare: Float32Array[] = [];

function geomKey(g: ConvGeom): string {
  return `${g.n},${g.h},${g.w},${g.c},${g.oh},${g.ow},${g.fh},${g.fw},${g.sh},${g.sw},${g.dh},${g.dw},${g.pt},${g.pl}`;
}

function sampleOf(h: Float32Array, off: number, size: number, out: Float32Array): Float32Array {
  const step = Math.max(1, Math.floor(size / SAMPLE));
  for (let i = 0; i < SAMPLE; i++) out[i] = i * step < size ? h[off + i * step] : 0;
  return out;
}

function cachedFloats(): number {
  let total = 0;
  for (const e of kept) total += e.cols.length;
  for (const b of spare) total += b.length;
  return total;
}

/** A buffer of `size` floats registered for x, or null when it would not fit the budget. */
function keepCols(backend: WasmBackend, x: TensorInfo, g: ConvGeom, size: number): Float32Array | null {
  if (size > COLS_CACHE_FLOATS / 2) return null;
  for (const e of kept) if (e.dataId === x.dataId || !backend.dataIdMap.has(e.dataId)) releaseCols(e.cols);
  kept = kept.filter((e) => e.dataId !== x.dataId && backend.dataIdMap.has(e.dataId));
  let idx = -1;
  for (let i = 0; i < spare.length; i++) if (spare[i].length >= size && (idx < 0 || spare[i].length < spare[idx].length)) idx = i;
  let buf: Float32Array;
  if (idx >= 0) {
    buf = spare[idx];
    spare.splice(idx, 1);
  } else {
    buf = new Float32Array(size);
  }
  while (cachedFloats() + buf.length > COLS_CACHE_FLOATS) {
    if (spare.length > 0) spare.shift();
    else if (kept.length > 0) kept.shift();
    else return null;
  }
  const off = offsetOf(backend, x);
  const cols = buf.length === size ? buf : buf.subarray(0, size);
  kept.push({ dataId: x.dataId, offset: off, key: geomKey(g), sample: sampleOf(heapF32(backend), off, sizeOf(x.shape), new Float32Array(SAMPLE)), cols });
  return cols;
}

/** The kept im2col matrix of x for geometry g (removed from the cache), or null. */
function takeCols(backend: WasmBackend, x: TensorInfo, g: ConvGeom, size: number): Float32Array | null {
  const i = kept.findIndex((e) => e.dataId === x.dataId);
  if (i < 0) return null;
  const e = kept[i];
  kept.splice(i, 1);
  const data = backend.dataIdMap.has(x.dataId) ? backend.dataIdMap.get(x.dataId) : undefined;
  const ok =
    data !== undefined &&
    data.memoryOffset >>> 2 === e.offset &&
    e.key === geomKey(g) &&
    e.cols.length === size &&
    sampleOf(heapF32(backend), e.offset, sizeOf(x.shape), new Float32Array(SAMPLE)).every((v, j) => Object.is(v, e.sample[j]));
  if (!ok) {
    releaseCols(e.cols);
    return null;
  }
  return e.cols;
}

function releaseCols(cols: Float32Array): void {
  spare.push(new Float32Array(cols.buffer));
}

/** Forgets the kept im2col matrix of this data (called before it is written in place). */
export function forgetConvCols(dataId: object): void {
  const i = kept.findIndex((e) => e.dataId === dataId);
  if (i >= 0) releaseCols(kept.splice(i, 1)[0].cols);
}

/** Drops every kept im2col matrix (e.g. when the kernel pack is reinstalled). */
export function clearConvCache(): void {
  kept = [];
  spare = [];
}

export interface ConvForwardArgs {
  x: TensorInfo;
  filter: TensorInfo;
  geom: ConvGeom;
  bias?: TensorInfo;
  activation?: string;
  leakyreluAlpha?: number;
}

export function blasConv2D(backend: WasmBackend, blas: Blas, args: ConvForwardArgs): TensorInfo | null {
  const { x, filter, geom: g, bias } = args;
  if (x.dtype !== 'float32' || filter.dtype !== 'float32') return null;
  if (bias !== undefined && (bias.dtype !== 'float32' || bias.shape.length > 4 || !biasBroadcastsOverLastAxis(bias.shape, g.co))) {
    return null;
  }
  const out = backend.makeOutput([g.n, g.oh, g.ow, g.co], 'float32');
  const h = heapF32(backend);
  const yOff = offsetOf(backend, out);
  const rows = g.n * g.oh * g.ow;
  const total = rows * g.co;
  if (total === 0) return out;
  const k = g.fh * g.fw * g.c;
  if (bias !== undefined) fillBias(h, yOff, rows, g.co, offsetOf(backend, bias), sizeOf(bias.shape));
  const beta = bias !== undefined ? 1 : 0;
  if (k === 0) {
    if (bias === undefined) h.fill(0, yOff, yOff + total);
  } else {
    const xOff = offsetOf(backend, x);
    const wView = h.subarray(offsetOf(backend, filter));
    if (isPointwise(g)) {
      blas.sgemm(false, false, rows, g.co, k, 1, h.subarray(xOff), k, wView, g.co, beta, h.subarray(yOff), g.co);
    } else {
      const lines = g.n * g.oh;
      const kept = tf.engine().state.gradientDepth > 0 ? keepCols(backend, x, g, rows * k) : null;
      if (kept !== null) {
        // Recording gradients: the filter gradient of this x will need the same matrix.
        // In chunks, so that sgemm reads each part while it is still in cache.
        const per = linesPerChunk(g);
        for (let l0 = 0; l0 < lines; l0 += per) {
          const nl = Math.min(per, lines - l0);
          const cols = kept.subarray(l0 * g.ow * k, (l0 + nl) * g.ow * k);
          im2col(h, xOff, g, l0, nl, cols);
          blas.sgemm(false, false, nl * g.ow, g.co, k, 1, cols, k, wView, g.co, beta, h.subarray(yOff + l0 * g.ow * g.co), g.co);
        }
      } else {
        const per = linesPerChunk(g);
        const cols = scratch.get(Math.min(per, lines) * g.ow * k);
        for (let l0 = 0; l0 < lines; l0 += per) {
          const nl = Math.min(per, lines - l0);
          im2col(h, xOff, g, l0, nl, cols);
          blas.sgemm(false, false, nl * g.ow, g.co, k, 1, cols, k, wView, g.co, beta, h.subarray(yOff + l0 * g.ow * g.co), g.co);
        }
      }
    }
  }
  const act = args.activation ?? 'linear';
  if (act !== 'linear') applyActivation(h, yOff, total, act, args.leakyreluAlpha ?? 0.2);
  return out;
}

export function blasConv2DBackpropInput(
  backend: WasmBackend,
  blas: Blas,
  dy: TensorInfo,
  filter: TensorInfo,
  g: ConvGeom,
): TensorInfo | null {
  if (dy.dtype !== 'float32' || filter.dtype !== 'float32') return null;
  const dx = backend.makeOutput([g.n, g.h, g.w, g.c], 'float32');
  const h = heapF32(backend);
  const dxOff = offsetOf(backend, dx);
  const total = g.n * g.h * g.w * g.c;
  if (total === 0) return dx;
  const k = g.fh * g.fw * g.c;
  const rows = g.n * g.oh * g.ow;
  const dyOff = offsetOf(backend, dy);
  const wView = h.subarray(offsetOf(backend, filter));
  if (isPointwise(g) && rows > 0 && g.co > 0) {
    blas.sgemm(false, true, rows, g.c, g.co, 1, h.subarray(dyOff), g.co, wView, g.co, 0, h.subarray(dxOff), g.c);
    return dx;
  }
  h.fill(0, dxOff, dxOff + total); // the wasm heap is not zeroed
  if (rows === 0 || g.co === 0) return dx;
  const lines = g.n * g.oh;
  const per = linesPerChunk(g);
  const cols = scratch.get(Math.min(per, lines) * g.ow * k);
  for (let l0 = 0; l0 < lines; l0 += per) {
    const nl = Math.min(per, lines - l0);
    blas.sgemm(false, true, nl * g.ow, k, g.co, 1, h.subarray(dyOff + l0 * g.ow * g.co), g.co, wView, g.co, 0, cols, k);
    col2imAdd(cols, g, l0, nl, h, dxOff);
  }
  return dx;
}

export function blasConv2DBackpropFilter(
  backend: WasmBackend,
  blas: Blas,
  x: TensorInfo,
  dy: TensorInfo,
  g: ConvGeom,
): TensorInfo | null {
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') return null;
  const dw = backend.makeOutput([g.fh, g.fw, g.c, g.co], 'float32');
  const h = heapF32(backend);
  const dwOff = offsetOf(backend, dw);
  const k = g.fh * g.fw * g.c;
  const total = k * g.co;
  if (total === 0) return dw;
  const rows = g.n * g.oh * g.ow;
  if (rows === 0) {
    h.fill(0, dwOff, dwOff + total);
    return dw;
  }
  const xOff = offsetOf(backend, x);
  const dyOff = offsetOf(backend, dy);
  const dwView = h.subarray(dwOff);
  if (isPointwise(g)) {
    blas.sgemm(true, false, k, g.co, rows, 1, h.subarray(xOff), k, h.subarray(dyOff), g.co, 0, dwView, g.co);
    return dw;
  }
  const kept = takeCols(backend, x, g, rows * k);
  if (kept !== null) {
    blas.sgemm(true, false, k, g.co, rows, 1, kept, k, h.subarray(dyOff), g.co, 0, dwView, g.co);
    releaseCols(kept);
    return dw;
  }
  const lines = g.n * g.oh;
  const per = linesPerChunk(g);
  const cols = scratch.get(Math.min(per, lines) * g.ow * k);
  for (let l0 = 0; l0 < lines; l0 += per) {
    const nl = Math.min(per, lines - l0);
    im2col(h, xOff, g, l0, nl, cols);
    blas.sgemm(true, false, k, g.co, nl * g.ow, 1, cols, k, h.subarray(dyOff + l0 * g.ow * g.co), g.co, l0 === 0 ? 0 : 1, dwView, g.co);
  }
  return dw;
}

/**
 * Conv2DBackpropFilter without BLAS: dW^T [CO, K] = dy^T [CO, rows] @ cols [rows, K] with the
 * original wasm BatchMatMul untransposed (its fast path); only dy (rows x CO) and the small
 * result are transposed in JS, and im2col writes straight into a wasm-heap tensor.
 */
export function wasmConv2DBackpropFilter(
  backend: WasmBackend,
  batchMatMul: KernelFunc,
  x: TensorInfo,
  dy: TensorInfo,
  g: ConvGeom,
): TensorInfo {
  const k = g.fh * g.fw * g.c;
  const rows = g.n * g.oh * g.ow;
  const co = g.co;
  const filterShape = [g.fh, g.fw, g.c, co];
  if (k * co === 0 || rows === 0) {
    const dw = backend.makeOutput(filterShape, 'float32');
    const off = offsetOf(backend, dw);
    heapF32(backend).fill(0, off, off + k * co);
    return dw;
  }
  const dyT = backend.makeOutput([1, co, rows], 'float32');
  const cols = backend.makeOutput([1, rows, k], 'float32');
  let h = heapF32(backend);
  const tOff = offsetOf(backend, dyT);
  const dyOff = offsetOf(backend, dy);
  for (let r = 0; r < rows; r++) {
    const src = dyOff + r * co;
    for (let o = 0; o < co; o++) h[tOff + o * rows + r] = h[src + o];
  }
  const cOff = offsetOf(backend, cols);
  im2col(h, offsetOf(backend, x), g, 0, g.n * g.oh, h.subarray(cOff, cOff + rows * k));
  const res = batchMatMul({ inputs: { a: dyT, b: cols }, backend, attrs: { transposeA: false, transposeB: false } });
  backend.disposeData(dyT.dataId);
  backend.disposeData(cols.dataId);
  const dwT = Array.isArray(res) ? res[0] : res;
  const dw = backend.makeOutput(filterShape, 'float32');
  h = heapF32(backend); // re-take after the allocations
  const dwOff = offsetOf(backend, dw);
  const rOff = offsetOf(backend, dwT);
  for (let o = 0; o < co; o++) for (let kk = 0; kk < k; kk++) h[dwOff + kk * co + o] = h[rOff + o * k + kk];
  backend.disposeData(dwT.dataId);
  return dw;
}

/**
 * Conv2DBackpropInput without BLAS: materialises Wmat^T [CO, K] (small) so the original wasm
 * BatchMatMul runs untransposed (its fast path) for dcols = dy @ Wmat^T, then col2im in JS.
 * About 3x faster than the stock wasm Conv2DBackpropInput on a CNN training step.
 */
export function wasmConv2DBackpropInput(
  backend: WasmBackend,
  batchMatMul: KernelFunc,
  dy: TensorInfo,
  filter: TensorInfo,
  g: ConvGeom,
): TensorInfo {
  const k = g.fh * g.fw * g.c;
  const rows = g.n * g.oh * g.ow;
  const total = g.n * g.h * g.w * g.c;
  if (k * g.co === 0 || rows === 0) {
    const dx = backend.makeOutput([g.n, g.h, g.w, g.c], 'float32');
    const off = offsetOf(backend, dx);
    heapF32(backend).fill(0, off, off + total);
    return dx;
  }
  const wt = backend.makeOutput([1, g.co, k], 'float32');
  let h = heapF32(backend);
  const wOff = offsetOf(backend, filter);
  const tOff = offsetOf(backend, wt);
  for (let kk = 0; kk < k; kk++) for (let o = 0; o < g.co; o++) h[tOff + o * k + kk] = h[wOff + kk * g.co + o];
  const dyInfo: TensorInfo = { dataId: dy.dataId, shape: [1, rows, g.co], dtype: dy.dtype };
  const res = batchMatMul({ inputs: { a: dyInfo, b: wt }, backend, attrs: { transposeA: false, transposeB: false } });
  backend.disposeData(wt.dataId);
  const dcols = Array.isArray(res) ? res[0] : res;
  const dx = backend.makeOutput([g.n, g.h, g.w, g.c], 'float32');
  h = heapF32(backend); // re-take after the allocations
  const dxOff = offsetOf(backend, dx);
  const cOff = offsetOf(backend, dcols);
  h.fill(0, dxOff, dxOff + total);
  col2imAdd(h.subarray(cOff, cOff + rows * k), g, 0, g.n * g.oh, h, dxOff);
  backend.disposeData(dcols.dataId);
  return dx;
}
