/**
 * engine/activation — in-place fused activations and bias fills on heap views.
 * Formulas match the tfjs 'cpu' backend (backend_util fused activations).
 */
export type FusedActivation = 'linear' | 'relu' | 'relu6' | 'elu' | 'leakyrelu' | 'sigmoid' | 'prelu';

const SUPPORTED = new Set<string>(['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'sigmoid']);

/** Activations the kernel pack applies itself; others (prelu) fall back to the original kernel. */
export function isSupportedActivation(a: unknown): boolean {
  return a === undefined || a === null || (typeof a === 'string' && SUPPORTED.has(a));
}

export function applyActivation(h: Float32Array, off: number, len: number, act: string, alpha: number): void {
  const end = off + len;
  switch (act) {
    case 'relu':
      for (let i = off; i < end; i++) if (h[i] < 0) h[i] = 0;
      return;
    case 'relu6':
      for (let i = off; i < end; i++) {
        const v = h[i];
        h[i] = v < 0 ? 0 : v > 6 ? 6 : v;
      }
      return;
    case 'elu':
      for (let i = off; i < end; i++) {
        const v = h[i];
        if (v < 0) h[i] = Math.exp(v) - 1;
      }
      return;
    case 'leakyrelu':
      for (let i = off; i < end; i++) {
        const v = h[i];
        if (v < 0) h[i] = alpha * v;
      }
      return;
    case 'sigmoid':
      for (let i = off; i < end; i++) h[i] = 1 / (1 + Math.exp(-h[i]));
      return;
    default:
      return;
  }
}

/**
 * Fills `rows` rows of width `n` at `off` with the bias (bias length n, or 1 = scalar).
 * The bias lives in the same heap; copyWithin avoids creating views.
 */
export function fillBias(h: Float32Array, off: number, rows: number, n: number, biasOff: number, biasLen: number): void {
  if (biasLen === 1) {
    h.fill(h[biasOff], off, off + rows * n);
    return;
  }
  if (n <= 16) {
    for (let r = 0; r < rows; r++) {
      const o = off + r * n;
      for (let j = 0; j < n; j++) h[o + j] = h[biasOff + j];
    }
    return;
  }
  for (let r = 0; r < rows; r++) h.copyWithin(off + r * n, biasOff, biasOff + n);
}

/** True when a bias of this shape broadcasts along the last axis of width n (or is a scalar). */
export function biasBroadcastsOverLastAxis(biasShape: readonly number[], n: number): boolean {
  let size = 1;
  for (const d of biasShape) size *= d;
  if (size === 1) return true;
  if (biasShape.length === 0 || biasShape[biasShape.length - 1] !== n) return false;
  for (let i = 0; i < biasShape.length - 1; i++) if (biasShape[i] !== 1) return false;
  return true;
}
