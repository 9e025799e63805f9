/**
 * train/optimizer — Adam as one pass over each variable, instead of tfjs's ~12 tensor ops per
 * variable per step.
 *
 * On the wasm backend every tfjs op costs microseconds of dispatch whatever its size; for the
 * seed's MLP, tfjs's Adam was half of a training step. On wasm each variable is updated in place
 * by the engine's SIMD kernel (moments kept on the backend); on the cpu backend by one JS loop per
 * variable; on the GPU (which cannot be read synchronously, and where reading would stall the
 * queue) by the same arithmetic as tfjs ops, moments kept on the device. The arithmetic is tfjs's Adam (same defaults, same bias correction), so switching
 * optimisers does not change what a learning rate means.
 */
import * as tf from '@tensorflow/tfjs';
import { type AdamSlots, type AdamStep, createAdamSlots, simdAdamAvailable, simdAdamStep, syncReadable } from '../engine/index.js';

interface JsMoments {
  kind: 'js';
  m: Float32Array;
  v: Float32Array;
}

interface SimdMoments {
  kind: 'simd';
  slots: AdamSlots;
}

interface DeviceMoments {
  kind: 'device';
  m: tf.Variable;
  v: tf.Variable;
}

export interface AdamOptions {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  /** tfjs's default, 1e-7 (PyTorch uses 1e-8). */
  epsilon?: number;
}

/**
 * @example
 * const adam = new FusedAdam({ learningRate: 1e-3 });
 * const { value, grads } = tf.variableGrads(loss, variables);
 * adam.applyGradients(variables, grads);
 */
export class FusedAdam {
  learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  private step = 0;
  private readonly moments = new Map<string, JsMoments | SimdMoments | DeviceMoments>();

  constructor(options: AdamOptions) {
    this.learningRate = options.learningRate;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-7;
  }

  /** Updates each variable that has a gradient in `grads` (keyed by variable name). */
  applyGradients(variables: readonly tf.Variable[], grads: tf.NamedTensorMap): void {
    this.step += 1;
    const step: AdamStep = {
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
      // tfjs's bias correction with the constants hoisted out of the per-parameter loop.
      stepSize: this.learningRate / (1 - this.beta1 ** this.step),
      inverseRootCorrection2: 1 / Math.sqrt(1 - this.beta2 ** this.step),
    };
    for (const variable of variables) {
      const grad = grads[variable.name];
      if (grad === undefined) continue;
      let state = this.moments.get(variable.name);
      if (state === undefined && !syncReadable()) {
        state = { kind: 'device', m: tf.variable(tf.zerosLike(variable), false), v: tf.variable(tf.zerosLike(variable), false) };
        this.moments.set(variable.name, state);
      }
      if (state?.kind === 'device') {
        deviceAdamUpdate(variable, grad, state, step);
        continue;
      }
      if (state === undefined) {
        state = simdAdamAvailable()
          ? { kind: 'simd', slots: createAdamSlots(variable) }
          : { kind: 'js', m: new Float32Array(variable.size), v: new Float32Array(variable.size) };
        this.moments.set(variable.name, state);
      }
      if (state.kind === 'simd' && simdAdamStep(variable, grad, state.slots, step)) continue;
      if (state.kind === 'simd') {
        // The backend changed under a running optimiser: carry the moments over to plain arrays.
        const moved: JsMoments = { kind: 'js', m: state.slots.m.dataSync() as Float32Array, v: state.slots.v.dataSync() as Float32Array };
        tf.dispose([state.slots.m, state.slots.v]);
        this.moments.set(variable.name, moved);
        state = moved;
      }
      // A copy: the cpu backend's dataSync hands out its own storage, which may be shared.
      const w = (variable.dataSync() as Float32Array).slice();
      adamUpdate(w, grad.dataSync() as Float32Array, state.m, state.v, step);
      const next = tf.tensor(w, variable.shape, 'float32');
      variable.assign(next);
      next.dispose();
    }
  }

  dispose(): void {
    for (const state of this.moments.values()) {
      if (state.kind === 'simd') tf.dispose([state.slots.m, state.slots.v]);
      if (state.kind === 'device') tf.dispose([state.m, state.v]);
    }
    this.moments.clear();
  }
}

/** The same update in JS, for backends other than wasm (and the reference for tests). */
function adamUpdate(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, step: AdamStep): void {
  const { beta1, beta2, epsilon, stepSize, inverseRootCorrection2 } = step;
  for (let i = 0; i < w.length; i++) {
    const gi = g[i];
    const mi = beta1 * m[i] + (1 - beta1) * gi;
    const vi = beta2 * v[i] + (1 - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    w[i] -= (stepSize * mi) / (Math.sqrt(vi) * inverseRootCorrection2 + epsilon);
  }
}

/** The same update as tfjs ops, for backends that keep tensors on a device (webgpu). */
function deviceAdamUpdate(w: tf.Variable, g: tf.Tensor, moments: DeviceMoments, step: AdamStep): void {
  const { beta1, beta2, epsilon, stepSize, inverseRootCorrection2 } = step;
  tf.tidy(() => {
    const m = tf.add(tf.mul(moments.m, beta1), tf.mul(g, 1 - beta1));
    const v = tf.add(tf.mul(moments.v, beta2), tf.mul(tf.square(g), 1 - beta2));
    moments.m.assign(m);
    moments.v.assign(v);
    const denominator = tf.add(tf.mul(tf.sqrt(v), inverseRootCorrection2), epsilon);
    w.assign(tf.sub(w, tf.div(tf.mul(m, stepSize), denominator)));
  });
}
