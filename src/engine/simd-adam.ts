/**
 * engine/simd-adam — the Adam update as one SIMD WebAssembly call per variable, running on the
 * tfjs wasm backend's own memory (see adam.wat).
 *
 * A JS loop over the same data is bound by scalar sqrt and division (~2.5 ns per parameter);
 * four lanes per instruction, with no copies in or out, make the optimiser a rounding error of a
 * training step. Callers keep the moments as tensors on the backend (see `AdamSlots`).
 */
import * as tf from '@tensorflow/tfjs';
import { adamWasmBase64 } from './adam-wasm.js';
import { heapModule } from './heap-module.js';
import { forgetPackedWeights } from './packed-weights.js';
import { currentWasmBackend, type WasmBackend } from './wasm-heap.js';

type AdamExport = (w: number, g: number, m: number, v: number, n: number, b1: number, b2: number, step: number, irc2: number, eps: number) => void;

const adamKernel = heapModule(adamWasmBase64, (exports) => exports.adam as AdamExport);

function backendAndKernel(): { backend: WasmBackend; adam: AdamExport } | null {
  const backend = currentWasmBackend();
  if (backend === null) return null;
  const adam = adamKernel(backend);
  return adam === null ? null : { backend, adam };
}

/** First and second moments of one variable, held on the wasm backend. */
export interface AdamSlots {
  m: tf.Tensor;
  v: tf.Tensor;
}

export interface AdamStep {
  beta1: number;
  beta2: number;
  /** lr / (1 - beta1^t) */
  stepSize: number;
  /** 1 / sqrt(1 - beta2^t) */
  inverseRootCorrection2: number;
  epsilon: number;
}

/** True when the SIMD path can run (tfjs is on the wasm backend and its memory is reachable). */
export function simdAdamAvailable(): boolean {
  return backendAndKernel() !== null;
}

/** Zeroed moment tensors for `variable`, kept outside any tidy scope. */
export function createAdamSlots(variable: tf.Variable): AdamSlots {
  return { m: tf.keep(tf.zeros(variable.shape, 'float32')), v: tf.keep(tf.zeros(variable.shape, 'float32')) };
}

/**
 * Applies one Adam step to `variable` in place. Returns false (doing nothing) off the wasm
 * backend; the caller then uses its own path.
 */
export function simdAdamStep(variable: tf.Variable, grad: tf.Tensor, slots: AdamSlots, step: AdamStep): boolean {
  const found = backendAndKernel();
  if (found === null || variable.dtype !== 'float32' || grad.dtype !== 'float32' || grad.size !== variable.size) return false;
  const { backend, adam } = found;
  const map = backend.dataIdMap;
  // Tensors are immutable by contract: if anything else shares the variable's storage (e.g. a
  // checkpoint restored with setWeights), give the variable a private copy before writing.
  if (map.get(variable.dataId)?.refCount !== 1) {
    const copy = tf.add(variable, tf.scalar(0));
    variable.assign(copy);
    copy.dispose();
  }
  const w = map.get(variable.dataId);
  const g = map.get(grad.dataId);
  const m = map.get(slots.m.dataId);
  const v = map.get(slots.v.dataId);
  if (w === undefined || g === undefined || m === undefined || v === undefined || m.refCount !== 1 || v.refCount !== 1) return false;
  adam(w.memoryOffset, g.memoryOffset, m.memoryOffset, v.memoryOffset, variable.size, step.beta1, step.beta2, step.stepSize, step.inverseRootCorrection2, step.epsilon);
  // The stock matmul/conv kernels keep the weights packed by tensor id: make them repack.
  forgetPackedWeights(backend, variable.dataId);
  return true;
}
