import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { exclusiveView, initEngine, tf, type EngineInfo } from './index.js';
import { kernelPackStats } from './kernel-pack.js';
import { Random } from '../common/random.js';
import { TOLERANCE, parity, spec, withGrads } from './test-util.js';

interface Case {
  x: [number, number, number, number];
  f: [number, number, number, number];
  stride: number;
  pad: 'same' | 'valid';
  dilation?: number;
}

const cases: Case[] = [];
for (const f of [1, 3, 5]) {
  for (const stride of [1, 2]) {
    for (const pad of ['same', 'valid'] as const) {
      cases.push({ x: [2, 9, 8, 3], f: [f, f, 3, 4], stride, pad });
    }
  }
}
cases.push({ x: [3, 12, 12, 1], f: [3, 3, 1, 8], stride: 1, pad: 'valid' }); // first CNN layer shape
cases.push({ x: [2, 7, 7, 16], f: [3, 3, 16, 32], stride: 1, pad: 'same' });
cases.push({ x: [2, 6, 6, 8], f: [1, 1, 8, 5], stride: 1, pad: 'valid' }); // pointwise: no im2col
cases.push({ x: [1, 10, 9, 2], f: [2, 3, 2, 3], stride: 2, pad: 'same' }); // non-square filter, odd sizes

const dilated: Case[] = [
  { x: [2, 11, 10, 3], f: [3, 3, 3, 4], stride: 1, pad: 'same', dilation: 2 },
  { x: [2, 11, 10, 3], f: [3, 2, 3, 4], stride: 1, pad: 'valid', dilation: 2 },
];

const name = (c: Case): string =>
  `x=${c.x} f=${c.f} stride=${c.stride} pad=${c.pad}${c.dilation !== undefined ? ` dilation=${c.dilation}` : ''}`;

let info: EngineInfo;

describe('engine conv kernels vs cpu', () => {
  before(async () => {
    info = await initEngine({ quiet: true });
  });

  test('conv, matmul, pool and sum kernels run the pack, not the fallback', (t) => {
    if (!info.blas.enabled) {
      t.skip('OpenBLAS not available');
      return;
    }
    const before = kernelPackStats();
    const x = tf.randomUniform([2, 8, 8, 3]) as tf.Tensor4D;
    const w = tf.randomUniform([3, 3, 3, 4]) as tf.Tensor4D;
    const b = tf.randomUniform([4]);
    const grads = tf.grads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) => {
      const y = tf.fused.conv2d({ x: xi as tf.Tensor4D, filter: wi as tf.Tensor4D, strides: 1, pad: 'same', bias: bi, activation: 'relu' });
      const p = tf.maxPool(y, 2, 2, 'valid');
      return tf.sum(tf.matMul(tf.reshape(p, [2, 64]), tf.ones([64, 3])));
    })([x, w, b]);
    const after = kernelPackStats();
    const delta = (k: string): { calls: number; fallbacks: number } => ({
      calls: after[k].calls - (before[k]?.calls ?? 0),
      fallbacks: after[k].fallbacks - (before[k]?.fallbacks ?? 0),
    });
    for (const k of ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'MaxPoolGrad', 'BatchMatMul']) {
      assert.ok(delta(k).calls > 0, `${k} was called`);
      assert.equal(delta(k).fallbacks, 0, `${k} did not fall back`);
    }
    // The bias gradient is a leading-axes Sum (handled); the final full reduction falls back.
    const sum = delta('Sum');
    assert.ok(sum.calls - sum.fallbacks >= 1, `a leading-axes Sum ran in the pack (${JSON.stringify(sum)})`);
    tf.dispose([x, w, b, ...grads]);
  });

  for (const c of cases) {
    test(`conv2d ${name(c)}: forward, dx, dfilter`, async () => {
      const rng = new Random(c.f[0] * 100 + c.stride * 10 + (c.pad === 'same' ? 1 : 0) + c.x[3]);
      const f = (x: tf.Tensor, w: tf.Tensor): tf.Tensor => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.stride, c.pad);
      const err = await parity([spec(rng, c.x), spec(rng, c.f)], withGrads(rng, f));
      assert.ok(err <= TOLERANCE, `max rel error ${err}`);
    });

    test(`fused conv2d + bias + relu ${name(c)}: forward, dx, dfilter, dbias`, async () => {
      const rng = new Random(c.f[0] * 100 + c.stride * 10 + 7);
      const f = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor =>
        tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: c.stride, pad: c.pad, bias: b, activation: 'relu' });
      const err = await parity([spec(rng, c.x), spec(rng, c.f), spec(rng, [c.f[3]])], withGrads(rng, f));
      assert.ok(err <= TOLERANCE, `max rel error ${err}`);
    });
  }

  for (const c of dilated) {
    test(`conv2d ${name(c)}: forward`, async () => {
      const rng = new Random(77 + c.f[1]);
      const err = await parity([spec(rng, c.x), spec(rng, c.f)], (x, w) => [
        tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.stride, c.pad, 'NHWC', c.dilation),
      ]);
      assert.ok(err <= TOLERANCE, `max rel error ${err}`);
    });
  }

  for (const activation of ['linear', 'relu6', 'elu', 'leakyrelu', 'sigmoid', 'prelu'] as const) {
    test(`fused conv2d + bias + ${activation}: forward`, async () => {
      const rng = new Random(88);
      const specs = [spec(rng, [2, 8, 8, 3]), spec(rng, [3, 3, 3, 4]), spec(rng, [4]), spec(rng, [4])];
      const err = await parity(specs, (x, w, b, p) => [
        tf.fused.conv2d({
          x: x as tf.Tensor4D,
          filter: w as tf.Tensor4D,
          strides: 1,
          pad: 'same',
          bias: b,
          activation,
          preluActivationWeights: activation === 'prelu' ? p : undefined,
          leakyreluAlpha: 0.1,
        }),
      ]);
      assert.ok(err <= TOLERANCE, `max rel error ${err}`);
    });
  }

  for (const [stride, pad] of [
    [1, 'same'],
    [2, 'same'],
    [2, 'valid'],
  ] as const) {
    test(`conv2dTranspose (Conv2DBackpropInput as a forward op) stride=${stride} pad=${pad}: forward and grads`, async () => {
      const rng = new Random(99 + stride);
      const outShape: [number, number, number, number] = [2, 9, 9, 3];
      const probe = tf.conv2d(tf.zeros(outShape) as tf.Tensor4D, tf.zeros([3, 3, 3, 5]) as tf.Tensor4D, stride, pad);
      const dyShape = probe.shape;
      probe.dispose();
      const f = (dy: tf.Tensor, w: tf.Tensor): tf.Tensor =>
        tf.conv2dTranspose(dy as tf.Tensor4D, w as tf.Tensor4D, outShape, stride, pad);
      const err = await parity([spec(rng, dyShape), spec(rng, [3, 3, 3, 5])], withGrads(rng, f));
      assert.ok(err <= TOLERANCE, `max rel error ${err}`);
    });
  }

  test('conv2d layer (tfjs-layers) inside a model: forward and input grads', async () => {
    const rng = new Random(123);
    const specs = [spec(rng, [2, 10, 10, 2]), spec(rng, [3, 3, 2, 4]), spec(rng, [4])];
    const err = await parity(specs, (x, w, b) => {
      const layer = tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', weights: [w, b] });
      return withGrads(new Random(2), (xi) => layer.apply(xi) as tf.Tensor)(x);
    });
    assert.ok(err <= TOLERANCE, `max rel error ${err}`);
  });
  test('one input, two convs of different geometry: each filter gradient matches cpu', async () => {
    const rng = new Random(321);
    const f = (x: tf.Tensor, w3: tf.Tensor, w5: tf.Tensor): tf.Tensor =>
      tf.add(
        tf.conv2d(x as tf.Tensor4D, w3 as tf.Tensor4D, 1, 'same'),
        tf.conv2d(x as tf.Tensor4D, w5 as tf.Tensor4D, 1, 'same'),
      );
    const err = await parity([spec(rng, [2, 9, 9, 4]), spec(rng, [3, 3, 4, 6]), spec(rng, [5, 5, 4, 6])], withGrads(rng, f));
    assert.ok(err <= TOLERANCE, `max rel error ${err}`);
  });

  test('filter gradient after the input changed in place is not served from the im2col cache', () => {
    const rng = new Random(654);
    const init = tf.tensor(spec(rng, [2, 8, 8, 3]).values, [2, 8, 8, 3]);
    const x = tf.variable(init);
    init.dispose(); // the variable's storage is now its own (exclusiveView needs that)
    const w = tf.tensor(spec(rng, [3, 3, 3, 4]).values, [3, 3, 3, 4]) as tf.Tensor4D;
    // A recorded forward whose filter gradient is never taken leaves the im2col of x behind.
    const gx = tf.grad((xi: tf.Tensor) => tf.sum(tf.conv2d(xi as tf.Tensor4D, w, 1, 'valid')))(x);
    const fresh = spec(rng, [2, 8, 8, 3]).values;
    for (const write of ['exclusiveView', 'raw'] as const) {
      if (write === 'exclusiveView') {
        const view = exclusiveView(x);
        assert.ok(view !== null, 'the variable is writable in place');
        view.set(fresh);
      } else {
        // Re-record, then write the heap directly (as the SIMD optimiser does), bypassing the hook.
        tf.dispose(tf.grad((xi: tf.Tensor) => tf.sum(tf.conv2d(xi as tf.Tensor4D, w, 1, 'valid')))(x));
        const backend = tf.backend() as unknown as { dataIdMap: { get(d: object): { memoryOffset: number } } };
        const heap = (tf.backend() as unknown as { wasm: { HEAPF32: Float32Array } }).wasm.HEAPF32;
        for (let i = 0; i < fresh.length; i++) fresh[i] = -fresh[i];
        heap.set(fresh, backend.dataIdMap.get(x.dataId).memoryOffset >>> 2);
      }
      const dy = tf.ones([2, 6, 6, 4]);
      const attrs = { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [3, 3, 3, 4] };
      const got = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
      const copy = tf.tensor(fresh, [2, 8, 8, 3]);
      const want = tf.engine().runKernel('Conv2DBackpropFilter', { x: copy, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
      assert.deepEqual(Array.from(got.dataSync()), Array.from(want.dataSync()), `after a ${write} write`);
      tf.dispose([dy, got, copy, want]);
    }
    tf.dispose([x, w, gx]);
  });
});
