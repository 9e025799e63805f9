import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { Random } from '../common/random.js';
import { readModelMetadata } from '../models/metadata.js';
import { AttributeType, DataType, encodeModel } from '../models/onnx/proto.js';
import { buildServeApp, loadServedModel, type ServeApp } from './index.js';

const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const PRE = { colorMode: 'grayscale', size: [28, 28], scale: 1 / 255, mean: 0.286, std: 0.353, invert: false };

/**
 * An ONNX file shaped like `torch.onnx.export` of a linear classifier: input `input.1`
 * [batch, 1, 28, 28] (NCHW), Flatten, Gemm with the weight transposed, output `logits`.
 */
function torchStyleOnnx(weights: Float32Array, bias: Float32Array): Uint8Array {
  const raw = (values: Float32Array): Uint8Array => new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  const dims = (shape: (number | string)[]) => ({ dim: shape.map((d) => (typeof d === 'string' ? { dim_param: d } : { dim_value: d })) });
  return encodeModel({
    ir_version: 7,
    opset_import: [{ domain: '', version: 13 }],
    producer_name: 'pytorch',
    producer_version: '1.13.0',
    graph: {
      name: 'torch_jit',
      node: [
        { name: '/Flatten', op_type: 'Flatten', input: ['input.1'], output: ['/Flatten_output_0'], attribute: [{ name: 'axis', type: AttributeType.INT, i: 1 }] },
        { name: '/fc/Gemm', op_type: 'Gemm', input: ['/Flatten_output_0', 'fc.weight', 'fc.bias'], output: ['logits'], attribute: [{ name: 'transB', type: AttributeType.INT, i: 1 }] },
      ],
      initializer: [
        { name: 'fc.weight', dims: [10, 784], data_type: DataType.FLOAT, raw_data: raw(weights) },
        { name: 'fc.bias', dims: [10], data_type: DataType.FLOAT, raw_data: raw(bias) },
      ],
      input: [{ name: 'input.1', type: { tensor_type: { elem_type: DataType.FLOAT, shape: dims(['batch_size', 1, 28, 28]) } } }],
      output: [{ name: 'logits', type: { tensor_type: { elem_type: DataType.FLOAT, shape: dims(['batch_size', 10]) } } }],
    },
    metadata_props: [],
  });
}

describe('serving an ONNX model made elsewhere', () => {
  let dir: string;
  let folder: string;
  let serve: ServeApp;
  let url: string;
  const rng = new Random(11);
  const weights = Float32Array.from({ length: 7840 }, () => (rng.float() - 0.5) * 0.1);
  const bias = Float32Array.from({ length: 10 }, () => rng.float() - 0.5);
  const metadata = { format: 'kiln-model', formatVersion: 1, name: 'my-torch-model', framework: 'onnx', inputShape: [1, 28, 28], output: 'logits', classNames: CLASSES, preprocessing: PRE };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-foreign-'));
    folder = join(dir, 'torch');
    await mkdir(folder);
    await writeFile(join(folder, 'model.onnx'), torchStyleOnnx(weights, bias));
    await writeFile(join(folder, 'kiln-model.json'), JSON.stringify(metadata));
    serve = buildServeApp({ defaultMetrics: false });
    await serve.setModel(await loadServedModel(folder, { maxWaitMs: 0 }));
    await serve.app.listen({ port: 0, host: '127.0.0.1' });
    const address = serve.app.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  after(async () => {
    await serve.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('model.onnx + a hand-written kiln-model.json (NCHW input, logits output) answers softmax(Wx + b) over HTTP', async () => {
    const pixels = Uint8Array.from({ length: 784 }, (_, i) => (i * 29) % 256);
    const png = await sharp(Buffer.from(pixels), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer();
    const body = new FormData();
    body.append('file', new Blob([png], { type: 'image/png' }), 'x.png');
    const response = await fetch(`${url}/predict?top_k=10`, { method: 'POST', body });
    assert.equal(response.status, 200);
    const answer = (await response.json()) as { prediction: string; top_k: { label: string; probability: number }[]; model: { name: string } };
    const x = Array.from(pixels, (p) => (p * PRE.scale - PRE.mean) / PRE.std);
    const logits = Array.from(bias, (b, k) => b + x.reduce((sum, v, i) => sum + v * weights[k * 784 + i]!, 0));
    const max = Math.max(...logits);
    const exp = logits.map((l) => Math.exp(l - max));
    const total = exp.reduce((a, b) => a + b, 0);
    for (const { label, probability } of answer.top_k) assert.ok(Math.abs(probability - exp[CLASSES.indexOf(label)]! / total) < 1e-5, label);
    assert.equal(answer.prediction, CLASSES[logits.indexOf(max)]);
    assert.equal(answer.model.name, 'my-torch-model');
  });

  test('a kiln-model.json that does not fit the model, or misses a field, fails to load with the field named', async () => {
    const wrongShape = join(dir, 'wrong-shape');
    await mkdir(wrongShape);
    await writeFile(join(wrongShape, 'model.onnx'), torchStyleOnnx(weights, bias));
    await writeFile(join(wrongShape, 'kiln-model.json'), JSON.stringify({ ...metadata, preprocessing: { ...PRE, size: [32, 32] } }));
    await assert.rejects(loadServedModel(wrongShape, { maxWaitMs: 0 }), /32x32 preprocessing gives 1024 values, but inputShape \[1, 28, 28\] takes 784/);
    const broken: [Record<string, unknown>, RegExp][] = [
      [{ ...metadata, classNames: undefined }, /"classNames" must list the class names/],
      [{ ...metadata, inputShape: [28, -28] }, /"inputShape" must be/],
      [{ ...metadata, preprocessing: { ...PRE, std: 0 } }, /"preprocessing" must be/],
      [{ ...metadata, output: 'scores' }, /"output" must be "probabilities" or "logits"/],
    ];
    for (const [content, message] of broken) {
      const bad = join(dir, `bad-${String(message).replace(/\W+/g, '')}`);
      await mkdir(bad, { recursive: true });
      await writeFile(join(bad, 'kiln-model.json'), JSON.stringify(content));
      await assert.rejects(readModelMetadata(bad), (error: Error & { code?: string }) => error.code === 'KILN_ERR_MODEL_FORMAT' && message.test(error.message));
    }
  });
});
