/**
 * Training with the engine's BLAS off (the documented fallback when OpenBLAS is missing): the
 * stock tfjs wasm kernels must see every Adam step. They pack a layer's weights and bias into an
 * XNNPACK operator cached by tensor id, while the SIMD Adam step writes the weights in place; the
 * forward pass used to keep training the first step's weights (loss 2.516 → 2.513 → 2.510 on a
 * fixed batch where the cpu backend gives 2.516 → 1.917 → 1.549).
 *
 * Its own file because initEngine is process-wide: { blas: 'off' } must not leak into other tests.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { Random } from '../common/random.js';
import { initEngine } from '../engine/index.js';
import { buildModel, type InputSpec, type ModelSpec } from '../models/index.js';
import { crossEntropyOp } from './loss.js';
import { FusedAdam } from './optimizer.js';
import { forwardToLogits } from './trainer.js';

const INPUT: InputSpec = { height: 12, width: 12, channels: 1, classes: 10 };
const BATCH = 8;
const STEPS = 6;

/** The losses of `STEPS` Adam steps on one fixed batch, each loss measured before its step. */
function lossesOnFixedBatch(spec: ModelSpec): number[] {
  const model = buildModel(spec, INPUT, new Random(5));
  const data = new Random(9);
  const x = Float32Array.from({ length: BATCH * INPUT.height * INPUT.width }, () => data.normal());
  const y = Uint8Array.from({ length: BATCH }, () => data.int(INPUT.classes));
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const adam = new FusedAdam({ learningRate: 0.01 });
  const losses: number[] = [];
  for (let step = 0; step < STEPS; step++) {
    const loss = tf.tidy(() => {
      const input = tf.tensor4d(x, [BATCH, INPUT.height, INPUT.width, INPUT.channels]);
      // A training pass (batch statistics in batch norm); the specs have no dropout to draw.
      const { value, grads } = tf.variableGrads(() => crossEntropyOp(forwardToLogits(model, input, new Random(1)), y, 0), variables);
      adam.applyGradients(variables, grads);
      return value.dataSync()[0]!;
    });
    losses.push(loss);
  }
  adam.dispose();
  model.dispose();
  return losses;
}

async function onCpu<T>(run: () => T): Promise<T> {
  await tf.setBackend('cpu');
  try {
    return run();
  } finally {
    await tf.setBackend('wasm');
  }
}

const SPECS: [string, ModelSpec][] = [
  ['an MLP (stock fused matmul, weights and bias packed)', { kind: 'mlp', hiddenUnits: [32, 16], dropout: 0 }],
  ['a CNN (stock conv2d packs the filters)', { kind: 'cnn', convChannels: [4, 8], kernelSize: 3, pool: 'max', batchNorm: false, convDropout: 0, denseUnits: [16], dropout: 0 }],
  ['a CNN with batch norm', { kind: 'cnn', convChannels: [4], kernelSize: 3, pool: 'avg', batchNorm: true, convDropout: 0, denseUnits: [], dropout: 0 }],
];

describe("training with blas 'off' (stock wasm kernels + SIMD Adam in place)", () => {
  before(async () => {
    const info = await initEngine({ blas: 'off', quiet: true });
    assert.equal(info.blas.enabled, false);
  });

  for (const [name, spec] of SPECS) {
    test(`${name}: the loss on a fixed batch falls step by step as on the cpu backend`, async () => {
      const wasm = lossesOnFixedBatch(spec);
      const cpu = await onCpu(() => lossesOnFixedBatch(spec));
      const shown = `wasm ${wasm.map((l) => l.toFixed(4)).join(' → ')}; cpu ${cpu.map((l) => l.toFixed(4)).join(' → ')}`;
      assert.ok(cpu[STEPS - 1]! < cpu[0]! * 0.8, `the reference learns: ${shown}`);
      wasm.forEach((loss, i) => assert.ok(Math.abs(loss - cpu[i]!) <= 1e-3 * Math.max(1, Math.abs(cpu[i]!)), `step ${i}: ${shown}`));
    });
  }
});
