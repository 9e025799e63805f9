import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { initEngine, tf } from '../../engine/index.js';
import type { ModelSpec } from '../spec.js';
import { decodeModel, exportOnnx, hasOnnx, ONNX_FILE, ONNX_INPUT, ONNX_OPSET, ONNX_OUTPUT, writeOnnxForFolder } from './index.js';
import { buildTestModel, syntheticInputs, TEST_CNN_BN, TEST_MLP, writeTestModelFolder } from './test-helpers.js';

const N = 1000;

async function parity(spec: ModelSpec): Promise<{ maxDiff: number; ops: string[] }> {
  const model = buildTestModel(spec, 3);
  const bytes = exportOnnx(model, { name: spec.kind });
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const inputs = syntheticInputs(N, 5);
  const expected = tf.tidy(() => (model.predict(tf.tensor4d(inputs, [N, 28, 28, 1])) as tf.Tensor).dataSync() as Float32Array);
  let maxDiff = 0;
  // Several batch sizes, to check the dynamic batch dimension too.
  for (const [start, size] of [
    [0, 1],
    [1, 63],
    [64, 936],
  ] as const) {
    const feed = new ort.Tensor('float32', inputs.subarray(start * 784, (start + size) * 784), [size, 28, 28, 1]);
    const result = await session.run({ [ONNX_INPUT]: feed });
    const got = result[ONNX_OUTPUT]!.data as Float32Array;
    assert.equal(got.length, size * 10);
    for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i]! - expected[start * 10 + i]!));
  }
  await session.release();
  model.dispose();
  const ops = decodeModel(bytes).graph.node.map((n) => n.op_type);
  return { maxDiff, ops };
}

describe('ONNX export', () => {
  before(async () => {
    await initEngine({ quiet: true });
  });

  test('MLP: ONNX Runtime matches tfjs within 1e-4 on 1,000 inputs', async () => {
    const { maxDiff, ops } = await parity(TEST_MLP);
    assert.ok(maxDiff < 1e-4, `max |ort - tfjs| = ${maxDiff}`);
    assert.deepEqual(ops, ['Flatten', 'Gemm', 'Relu', 'Gemm', 'Relu', 'Gemm', 'Softmax', 'Identity']);
  });

  test('CNN with batch norm, max pooling and dropout: parity within 1e-4 on 1,000 inputs', async () => {
    const { maxDiff, ops } = await parity(TEST_CNN_BN);
    assert.ok(maxDiff < 1e-4, `max |ort - tfjs| = ${maxDiff}`);
    assert.ok(!ops.includes('Dropout'));
    assert.equal(ops.filter((op) => op === 'Transpose').length, 1, 'one Transpose into NCHW, none out');
    for (const op of ['Conv', 'BatchNormalization', 'MaxPool', 'Flatten', 'Gemm', 'Softmax']) assert.ok(ops.includes(op), op);
  });

  test('CNN variants: average pooling, no pooling, bias + relu convs, no dense layers, 5x5 kernels', async () => {
    const variants: ModelSpec[] = [
      { kind: 'cnn', convChannels: [4, 6], kernelSize: 5, pool: 'avg', batchNorm: false, convDropout: 0, denseUnits: [], dropout: 0 },
      { kind: 'cnn', convChannels: [3], kernelSize: 1, pool: 'none', batchNorm: true, convDropout: 0, denseUnits: [16, 8], dropout: 0.5 },
      { kind: 'cnn', convChannels: [4, 4, 4], kernelSize: 3, pool: 'max', batchNorm: false, convDropout: 0.2, denseUnits: [8], dropout: 0 },
    ];
    for (const spec of variants) {
      const { maxDiff } = await parity(spec);
      assert.ok(maxDiff < 1e-4, `${JSON.stringify(spec)}: max diff ${maxDiff}`);
    }
  });

  describe('colour and non-square inputs, any number of classes', () => {
    const cnn: ModelSpec = { kind: 'cnn', convChannels: [8, 16, 16], kernelSize: 3, pool: 'max', batchNorm: true, convDropout: 0.1, denseUnits: [24], dropout: 0.2 };
    const cnnAvg: ModelSpec = { kind: 'cnn', convChannels: [6, 12], kernelSize: 5, pool: 'avg', batchNorm: false, convDropout: 0, denseUnits: [], dropout: 0 };
    for (const [height, width] of [
      [32, 32],
      [24, 40],
    ] as const) {
      for (const classes of [3, 7]) {
        test(`${height}x${width}x3, ${classes} classes: ONNX Runtime gives the tfjs probabilities within 1e-5 (MLP, CNN with max and avg pooling)`, async () => {
          const input = { height, width, channels: 3, classes };
          const size = height * width * 3;
          const n = 64;
          const inputs = syntheticInputs(n, classes, size);
          for (const spec of [TEST_MLP, cnn, cnnAvg]) {
            const model = buildTestModel(spec, 5, input);
            const bytes = exportOnnx(model, { name: spec.kind });
            const declared = decodeModel(bytes).graph.input[0]!.type.tensor_type.shape.dim.map((d) => d.dim_param ?? d.dim_value);
            assert.deepEqual(declared, ['batch', height, width, 3]);
            const expected = tf.tidy(() => (model.predict(tf.tensor4d(inputs, [n, height, width, 3])) as tf.Tensor).dataSync() as Float32Array);
            model.dispose();
            const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
            const result = await session.run({ [ONNX_INPUT]: new ort.Tensor('float32', inputs, [n, height, width, 3]) });
            await session.release();
            const got = result[ONNX_OUTPUT]!;
            assert.deepEqual(got.dims, [n, classes]);
            let maxDiff = 0;
            for (let i = 0; i < expected.length; i++) maxDiff = Math.max(maxDiff, Math.abs((got.data as Float32Array)[i]! - expected[i]!));
            assert.ok(maxDiff < 1e-5, `${spec.kind} ${JSON.stringify(spec)}: max |ort - tfjs| = ${maxDiff}`);
          }
        });
      }
    }
  });

  test('the file declares opset 13, a dynamic batch and NHWC input', () => {
    const model = buildTestModel(TEST_MLP);
    const decoded = decodeModel(exportOnnx(model, { metadata: { class_names: '[]' } }));
    model.dispose();
    assert.equal(decoded.opset_import[0]!.version, ONNX_OPSET);
    assert.equal(decoded.ir_version, 7);
    const input = decoded.graph.input[0]!;
    assert.equal(input.name, ONNX_INPUT);
    assert.deepEqual(
      input.type.tensor_type.shape.dim.map((d) => d.dim_param ?? d.dim_value),
      ['batch', 28, 28, 1],
    );
    assert.deepEqual(decoded.metadata_props, [{ key: 'class_names', value: '[]' }]);
  });

  describe('model folders', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'kiln-onnx-'));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    test('a saved model folder holds model.onnx; writeOnnxForFolder rewrites it for folders saved without one', async () => {
      const folder = join(dir, 'cnn');
      (await writeTestModelFolder(folder, TEST_CNN_BN)).dispose();
      assert.equal(await hasOnnx(folder), true, 'saveModelFolder writes model.onnx');
      await rm(join(folder, ONNX_FILE));
      assert.equal(await hasOnnx(folder), false);
      const path = await writeOnnxForFolder(folder);
      assert.equal(path, join(folder, ONNX_FILE));
      assert.equal(await hasOnnx(folder), true);
      const session = await ort.InferenceSession.create(await readFile(path));
      assert.deepEqual(session.inputNames, [ONNX_INPUT]);
      assert.deepEqual(session.outputNames, [ONNX_OUTPUT]);
      await session.release();
    });
  });
});
