/**
 * engine/test-util — helpers for the parity tests (not a test file itself).
 *
 * Error measure used by every parity test:
 *   err = max_i |actual_i - expected_i| / max(1, max_i |expected_i|)
 * i.e. the worst absolute error scaled by the magnitude of the reference tensor (never by less
 * than 1). It stays meaningful for outputs near zero (ReLU, gradients that cancel) where an
 * element-wise relative error would explode, and is a true relative error for large outputs.
 */
import * as tf from '@tensorflow/tfjs';
import { Random } from '../common/random.js';

export const TOLERANCE = 1e-5;

export function maxRelError(actual: Float32Array, expected: Float32Array): number {
  if (actual.length !== expected.length) return Infinity;
  let scale = 1;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst / scale;
}

/** Uniform values in [-1, 1) from a seeded generator. */
export function randomValues(rng: Random, size: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.float() * 2 - 1;
  return out;
}

export interface Spec {
  shape: number[];
  values: Float32Array;
}

export function spec(rng: Random, shape: number[]): Spec {
  return { shape, values: randomValues(rng, shape.reduce((a, b) => a * b, 1)) };
}

/**
 * Runs `fn` on the given backend with fresh tensors built from the specs; returns the outputs
 * copied out as Float32Arrays (together with their shapes).
 */
export async function runOn(
  backend: 'cpu' | 'wasm',
  specs: Spec[],
  fn: (...xs: tf.Tensor[]) => tf.Tensor[],
): Promise<{ values: Float32Array[]; shapes: number[][] }> {
  const prev = tf.getBackend();
  await tf.setBackend(backend);
  try {
    const inputs = specs.map((s) => tf.tensor(s.values, s.shape));
    const outs = fn(...inputs);
    const values = outs.map((o) => Float32Array.from(o.dataSync()));
    const shapes = outs.map((o) => o.shape.slice());
    tf.dispose(outs);
    tf.dispose(inputs);
    return { values, shapes };
  } finally {
    await tf.setBackend(prev);
  }
}

/** Runs fn on 'cpu' and 'wasm' and returns the worst error over all outputs (and checks shapes). */
export async function parity(specs: Spec[], fn: (...xs: tf.Tensor[]) => tf.Tensor[]): Promise<number> {
  const ref = await runOn('cpu', specs, fn);
  const got = await runOn('wasm', specs, fn);
  if (ref.values.length !== got.values.length || ref.values.length === 0) return Infinity;
  let worst = 0;
  for (let i = 0; i < ref.values.length; i++) {
    if (ref.shapes[i].join(',') !== got.shapes[i].join(',')) return Infinity;
    worst = Math.max(worst, maxRelError(got.values[i], ref.values[i]));
  }
  return worst;
}

/**
 * f(...xs) and the gradients of sum(f(...xs) * R) for a fixed random R (so that every output
 * element gets a distinct upstream gradient).
 */
export function withGrads(rng: Random, f: (...xs: tf.Tensor[]) => tf.Tensor): (...xs: tf.Tensor[]) => tf.Tensor[] {
  const seed = rng.uint32();
  return (...xs) => {
    const y = f(...xs);
    const r = tf.tensor(randomValues(new Random(seed), y.size), y.shape);
    const g = tf.grads((...ins: tf.Tensor[]) => tf.sum(tf.mul(f(...ins), r)))(xs);
    return [y, ...g];
  };
}
