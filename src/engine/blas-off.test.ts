import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createAdamSlots, engineInfo, exclusiveView, initEngine, simdAdamStep, tf } from './index.js';
import { Random } from '../common/random.js';
import { TOLERANCE, parity, spec, withGrads } from './test-util.js';

describe("engine with blas: 'off' (plain wasm + own Conv2DBackpropFilter)", () => {
  test('engineInfo() is null before initEngine()', () => {
    assert.equal(engineInfo(), null);
  });

  test('reports BLAS disabled and says how to get the fast path', async () => {
    const info = await initEngine({ blas: 'off' });
    assert.equal(info.backend, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.equal(info.blas.enabled, false);
    assert.equal(info.blas.library, null);
    assert.match(info.blas.reason ?? '', /sudo apt-get install libopenblas0-pthread/);
    assert.ok(info.kernels.includes('Conv2DBackpropFilter'));
    assert.ok(!info.kernels.includes('BatchMatMul'), 'no BLAS matmul without BLAS');
    assert.ok(info.kernels.includes('Conv2DBackpropInput'));
    assert.equal(info.tfjsVersion, tf.version.tfjs);
    assert.equal(engineInfo(), info);
    assert.equal(await initEngine({ blas: 'off' }), info, 'idempotent');
  });

  test('CNN forward + backward runs and matches cpu', async () => {
    await initEngine({ blas: 'off' });
    const rng = new Random(2024);
    const specs = [
      spec(rng, [4, 12, 12, 1]),
      spec(rng, [3, 3, 1, 6]),
      spec(rng, [6]),
      spec(rng, [3, 3, 6, 8]),
      spec(rng, [8]),
      spec(rng, [2 * 2 * 8, 5]),
      spec(rng, [5]),
    ];
    const net = (x: tf.Tensor, w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor, w3: tf.Tensor, b3: tf.Tensor): tf.Tensor => {
      let h = tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w1 as tf.Tensor4D, strides: 1, pad: 'valid', bias: b1, activation: 'relu' });
      h = tf.maxPool(h, 2, 2, 'valid');
      h = tf.fused.conv2d({ x: h, filter: w2 as tf.Tensor4D, strides: 1, pad: 'same', bias: b2, activation: 'relu' });
      h = tf.maxPool(h, 2, 2, 'valid');
      const flat = tf.reshape(h, [4, 2 * 2 * 8]) as tf.Tensor2D;
      return tf.fused.matMul({ a: flat, b: w3 as tf.Tensor2D, bias: b3 });
    };
    const err = await parity(specs, withGrads(rng, net));
    assert.ok(err <= TOLERANCE, `max rel error ${err}`);
  });

  test('Conv2DBackpropFilter and Conv2DBackpropInput without BLAS match cpu for strides, padding and 1x1', async () => {
    await initEngine({ blas: 'off' });
    for (const [f, stride, pad] of [
      [3, 1, 'same'],
      [5, 2, 'valid'],
      [1, 1, 'valid'],
      [3, 2, 'same'],
    ] as const) {
      const rng = new Random(f * 10 + stride);
      const err = await parity([spec(rng, [2, 9, 9, 3]), spec(rng, [f, f, 3, 4])], withGrads(rng, (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad)));
      assert.ok(err <= TOLERANCE, `f=${f} stride=${stride} pad=${pad}: max rel error ${err}`);
    }
  });

  test('weights written in place (exclusiveView, the SIMD Adam step) are seen by the next stock matmul and conv, bias included', async () => {
    await initEngine({ blas: 'off' });
    const rng = new Random(77);
    /** A variable whose storage is its own (in-place writers need refCount 1). */
    const own = (shape: number[]): tf.Variable => {
      const init = tf.tensor(spec(rng, shape).values, shape);
      const v = tf.variable(init);
      init.dispose();
      return v;
    };
    const w = own([6, 4]);
    const b = own([4]);
    const filter = own([3, 3, 2, 4]);
    const x = tf.tensor(spec(rng, [3, 6]).values, [3, 6]) as tf.Tensor2D;
    const image = tf.tensor(spec(rng, [1, 5, 5, 2]).values, [1, 5, 5, 2]) as tf.Tensor4D;
    const forward = (wi: tf.Tensor, bi: tf.Tensor, fi: tf.Tensor): number[][] => {
      const dense = tf.fused.matMul({ a: x, b: wi as tf.Tensor2D, bias: bi, activation: 'relu' });
      const conv = tf.fused.conv2d({ x: image, filter: fi as tf.Tensor4D, strides: 1, pad: 'same', bias: bi });
      const plain = tf.conv2d(image, fi as tf.Tensor4D, 1, 'valid');
      const out = [dense, conv, plain].map((t) => Array.from(t.dataSync()));
      tf.dispose([dense, conv, plain]);
      return out;
    };
    /** What fresh tensors holding the variables' current values give (fresh ids: nothing cached). */
    const reference = (): number[][] => {
      const copies = [w, b, filter].map((v) => tf.tensor(v.dataSync(), v.shape));
      const out = forward(copies[0]!, copies[1]!, copies[2]!);
      tf.dispose(copies);
      return out;
    };
    forward(w, b, filter); // the stock kernels pack w, b and the filter here
    for (const v of [w, b, filter]) exclusiveView(v)!.set(spec(rng, v.shape).values);
    assert.deepEqual(forward(w, b, filter), reference(), 'after exclusiveView writes');
    const step = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7, stepSize: 0.5, inverseRootCorrection2: 1 / Math.sqrt(0.001) };
    for (const v of [w, b, filter]) {
      const slots = createAdamSlots(v);
      const grad = tf.tensor(spec(rng, v.shape).values, v.shape);
      assert.equal(simdAdamStep(v, grad, slots, step), true);
      tf.dispose([grad, slots.m, slots.v]);
    }
    assert.deepEqual(forward(w, b, filter), reference(), 'after a SIMD Adam step');
    tf.dispose([w, b, filter, x, image]);
  });

  test('re-initialising with BLAS switches the pack (when OpenBLAS is present)', async (t) => {
    const info = await initEngine({ quiet: true });
    if (!info.blas.enabled) {
      t.skip('OpenBLAS not available');
      return;
    }
    assert.ok(info.kernels.includes('BatchMatMul'));
    assert.ok(info.blas.threads >= 1);
    const off = await initEngine({ blas: 'off' });
    assert.ok(!off.kernels.includes('BatchMatMul'));
  });
});
