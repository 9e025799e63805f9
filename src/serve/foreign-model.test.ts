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
 * [batch, ...input] (NCHW, default [1, 28, 28]), Flatten, Gemm with the weight transposed, output `logits`.
 */
function torchStyleOnnx(weights: Float32Array, bias: Float32Array, input: number[] = [1, 28, 28]): Uint8Array {
  const features = input.reduce((a, b) => a * b, 1);
  const classes = bias.length;
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
        { name: 'fc.weight', dims: [classes, features], data_type: DataType.FLOAT, raw_data: raw(weights) },
        { name: 'fc.bias', dims: [classes], data_type: DataType.FLOAT, raw_data: raw(bias) },
      ],
      input: [{ name: 'input.1', type: { tensor_type: { elem_type: DataType.FLOAT, shape: dims(['batch_size', ...input]) } } }],
      output: [{ name: 'logits', type: { tensor_type: { elem_type: DataType.FLOAT, shape: dims(['batch_size', classes]) } } }],
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

  test('a channels-first RGB model ([3, H, W]) gets images, pixel arrays and HWC tensors transposed, and NCHW tensors as they are', async () => {
    const [H, W] = [6, 5];
    const classes = ['red', 'green', 'blue'];
    const rgbWeights = Float32Array.from({ length: 3 * 3 * H * W }, () => (rng.float() - 0.5) * 0.2);
    const rgbBias = Float32Array.from({ length: 3 }, () => rng.float() - 0.5);
    const pre = { ...PRE, colorMode: 'rgb', size: [H, W], mean: 0.5, std: 0.25 };
    const rgbFolder = join(dir, 'torch-rgb');
    await mkdir(rgbFolder);
    await writeFile(join(rgbFolder, 'model.onnx'), torchStyleOnnx(rgbWeights, rgbBias, [3, H, W]));
    await writeFile(join(rgbFolder, 'kiln-model.json'), JSON.stringify({ ...metadata, name: 'torch-rgb', inputShape: [3, H, W], classNames: classes, preprocessing: pre }));
    const rgbServe = buildServeApp({ defaultMetrics: false });
    await rgbServe.setModel(await loadServedModel(rgbFolder, { maxWaitMs: 0 }));
    await rgbServe.app.listen({ port: 0, host: '127.0.0.1' });
    const address = rgbServe.app.server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    try {
      const hwc = Uint8Array.from({ length: H * W * 3 }, (_, i) => (i * 53 + 17) % 256);
      const chw = Array.from({ length: 3 * H * W }, (_, i) => hwc[(i % (H * W)) * 3 + Math.floor(i / (H * W))]!);
      const x = chw.map((p) => (p * pre.scale - pre.mean) / pre.std);
      const logits = Array.from(rgbBias, (b, k) => b + x.reduce((sum, v, i) => sum + v * rgbWeights[k * x.length + i]!, 0));
      const exp = logits.map((l) => Math.exp(l - Math.max(...logits)));
      const want = exp.map((e) => e / exp.reduce((a, b) => a + b, 0));
      const near = (got: number[], what: string): void => got.forEach((p, k) => assert.ok(Math.abs(p - want[k]!) < 1e-5, `${what}: ${classes[k]} ${p} vs ${want[k]}`));
      const json = (path: string, body: unknown) => fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

      const png = await sharp(Buffer.from(hwc), { raw: { width: W, height: H, channels: 3 } }).png().toBuffer();
      const form = new FormData();
      form.append('file', new Blob([png], { type: 'image/png' }), 'x.png');
      const answer = (await (await fetch(`${base}/predict?top_k=3`, { method: 'POST', body: form })).json()) as { top_k: { label: string; probability: number }[] };
      near(classes.map((c) => answer.top_k.find((k) => k.label === c)!.probability), 'PNG upload');
      const invocations = (await (await json('/invocations', { instances: [Array.from(hwc)] })).json()) as { predictions: number[][] };
      near(invocations.predictions[0]!, 'pixel array');
      for (const [shape, data] of [[[1, H, W, 3], Array.from(hwc)], [[1, 3 * H * W], Array.from(hwc)], [[1, 3, H, W], chw]] as const) {
        const response = await json('/v2/models/torch-rgb/infer', { inputs: [{ name: 'input', shape, datatype: 'UINT8', data }] });
        assert.equal(response.status, 200, JSON.stringify(shape));
        near(((await response.json()) as { outputs: { data: number[] }[] }).outputs[0]!.data, `KServe ${JSON.stringify(shape)}`);
      }
    } finally {
      await rgbServe.close();
    }
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
