import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { exclusiveView, initEngine, tf, type EngineInfo } from './index.js';
import { kernelPackStats } from './kernel-pack.js';
import { Random } from '../common/random.js';
import { TOLERANCE, parity, spec, withGrads } from './test-util.js';

let info: EngineInfo;

describe('engine matmul kernels vs cpu', () => {
  before(async () => {
    info = await initEngine({ quiet: true });
  });

  test('the BLAS kernel pack is installed when OpenBLAS loads', (t) => {
    assert.equal(tf.getBackend(), 'wasm');
    if (!info.blas.enabled) {
      t.skip(`OpenBLAS not available: ${info.blas.reason ?? ''}`);
      return;
    }
    for (const k of ['BatchMatMul', '_FusedMatMul', 'Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter']) {
      assert.ok(info.kernels.includes(k), `${k} registered`);
    }
  });

  for (const [m, k, n] of [
    [5, 7, 3],
    [33, 65, 17],
    [128, 784, 10],
  ]) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        test(`matMul ${m}x${k}x${n} transposeA=${ta} transposeB=${tb}: forward and grads`, async () => {
          const rng = new Random(m * 1000 + k + (ta ? 7 : 0) + (tb ? 13 : 0));
          const a = spec(rng, ta ? [k, m] : [m, k]);
          const b = spec(rng, tb ? [n, k] : [k, n]);
          const err = await parity([a, b], withGrads(rng, (x, y) => tf.matMul(x, y, ta, tb)));
          assert.ok(err <= TOLERANCE, `max rel error ${err}`);
        });
      }
    }
  }

  const batched: Array<[string, number[], number[], boolean, boolean]> = [
    ['same batch', [3, 4, 5], [3, 5, 6], false, false],
    ['same batch transposed', [3, 5, 4], [3, 6, 5], true, true],
    ['b broadcast (rank 2)', [3, 4, 5], [5, 6], false, false],
    ['b broadcast, transposeB', [2, 3, 4, 5], [6, 5], false, true],
    ['a broadcast (batch 1)', [1, 4, 5], [3, 5, 6], false, false],
    ['a broadcast, transposeA', [5, 4], [2, 5, 6], true, false],
    ['rank 4 both batched', [2, 3, 4, 5], [2, 3, 5, 2], false, false],
  ];
  for (const [name, as, bs, ta, tb] of batched) {
    test(`batchMatMul ${name} ${as} x ${bs}: forward`, async () => {
      const rng = new Random(as.length * 31 + bs.length);
      const err = await parity([spec(rng, as), spec(rng, bs)], (x, y) => [tf.matMul(x, y, ta, tb)]);
      assert.ok(err <= TOLERANCE, `max rel error ${err}`);
    });
  }

  test('batchMatMul with equal batch: grads', async () => {
    const rng = new Random(5);
    const err = await parity([spec(rng, [3, 4, 5]), spec(rng, [3, 5, 6])], withGrads(rng, (x, y) => tf.matMul(x, y)));
    assert.ok(err <= TOLERANCE, `max rel error ${err}`);
  });

  test('batchMatMul with cross broadcast [2,1] x [1,3] falls back correctly', async () => {
    const rng = new Random(6);
    const err = await parity([spec(rng, [2, 1, 4, 5]), spec(rng, [1, 3, 5, 6])], (x, y) => [tf.matMul(x, y)]);
    assert.ok(err <= TOLERANCE, `max rel error ${err}`);
  });

  for (const activation of ['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'sigmoid', 'prelu'] as const) {
    test(`fused matMul + bias + ${activation}: forward`, async () => {
      const rng = new Random(11);
      const specs = [spec(rng, [16, 24]), spec(rng, [24, 12]), spec(rng, [12]), spec(rng, [12])];
      const err = await parity(specs, (x, w, b, p) => [
        tf.fused.matMul({
          a: x,
          b: w,
          bias: b,
          activation,
          preluActivationWeights: activation === 'prelu' ? p : undefined,
          leakyreluAlpha: 0.1,
        }),
      ]);
      assert.ok(err <= TOLERANCE, `max rel error ${err}`);
    });
  }

  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ]) {
    test(`fused matMul bias+relu transposeA=${ta} transposeB=${tb}: grads`, async () => {
      const rng = new Random(12 + (ta ? 1 : 0) + (tb ? 2 : 0));
      const specs = [spec(rng, ta ? [24, 16] : [16, 24]), spec(rng, tb ? [12, 24] : [24, 12]), spec(rng, [12])];
      const f = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor =>
        tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: b, activation: 'relu', transposeA: ta, transposeB: tb });
      const err = await parity(specs, withGrads(rng, f));
      assert.ok(err <= TOLERANCE, `max rel error ${err}`);
    });
  }

  test('fused matMul with scalar bias and batched inputs: forward', async () => {
    const rng = new Random(13);
    const specs = [spec(rng, [2, 6, 7]), spec(rng, [2, 7, 5]), spec(rng, [1])];
    const err = await parity(specs, (x, w, b) => [tf.fused.matMul({ a: x, b: w, bias: b, activation: 'relu' })]);
    assert.ok(err <= TOLERANCE, `max rel error ${err}`);
  });

  test('dense layer (tfjs-layers, fused path) forward and input grads match cpu', async () => {
    const rng = new Random(14);
    const specs = [spec(rng, [8, 20]), spec(rng, [20, 6]), spec(rng, [6])];
    const err = await parity(specs, (x, w, b) => {
      const layer = tf.layers.dense({ units: 6, activation: 'relu', weights: [w, b] });
      const [y, gx] = withGrads(new Random(1), (xi) => layer.apply(xi) as tf.Tensor)(x);
      return [y, gx];
    });
    assert.ok(err <= TOLERANCE, `max rel error ${err}`);
  });

  test('a matmul that falls back to the stock kernel (prelu) sees weights written in place since its last call', (t) => {
    if (!info.blas.enabled) {
      t.skip('OpenBLAS not available');
      return;
    }
    const rng = new Random(16);
    const init = tf.tensor(spec(rng, [5, 3]).values, [5, 3]);
    const w = tf.variable(init);
    init.dispose(); // the variable's storage is its own (exclusiveView needs that)
    const x = tf.tensor(spec(rng, [4, 5]).values, [4, 5]) as tf.Tensor2D;
    const alpha = tf.scalar(0.1);
    const prelu = (b: tf.Tensor): number[] => {
      const y = tf.fused.matMul({ a: x, b: b as tf.Tensor2D, activation: 'prelu', preluActivationWeights: alpha });
      const values = Array.from(y.dataSync());
      y.dispose();
      return values;
    };
    const before = kernelPackStats()._FusedMatMul?.fallbacks ?? 0;
    prelu(w); // the stock kernel packs w here
    exclusiveView(w)!.set(spec(rng, [5, 3]).values);
    const copy = tf.tensor(w.dataSync(), [5, 3]);
    assert.deepEqual(prelu(w), prelu(copy));
    assert.equal((kernelPackStats()._FusedMatMul?.fallbacks ?? 0) - before, 3, 'every call fell back to the stock kernel');
    tf.dispose([w, x, alpha, copy]);
  });

  test('a wrong kernel would be detected (the parity check is not vacuous)', async () => {
    const rng = new Random(15);
    const specs = [spec(rng, [4, 5]), spec(rng, [5, 3])];
    const base = await parity(specs, (x, y) => [tf.matMul(x, y)]);
    assert.ok(base <= TOLERANCE);
    // Compare a product against a perturbed product: must exceed the tolerance.
    const ref = await parity(specs, (x, y) => [tf.getBackend() === 'wasm' ? tf.add(tf.matMul(x, y), 1e-3) : tf.matMul(x, y)]);
    assert.ok(ref > TOLERANCE, `perturbation detected (${ref})`);
  });
});
