/**
 * Serving follows the model's data: a 32x32 RGB model with classes cat, dog, fox and a 20x24
 * grayscale model with four classes, built and saved here (tfjs files + model.onnx +
 * kiln-model.json as training writes them), served by the real server on a real port, and asked
 * with real JPEG, PNG and WebP files, pixel arrays, MLflow scoring payloads and KServe tensors.
 * Every served probability must equal the tfjs model's on imaging/decode's decodeFixed pixels,
 * normalized by the model's mean and std: the pixels training decodes.
 */
import assert from 'node:assert/strict';
import { access, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { OpenAPI } from 'openapi-types';
import sharp from 'sharp';
import { initEngine, tf } from '../engine/index.js';
import { decodeFixed } from '../imaging/decode.js';
import type { KilnModelMetadata } from '../models/saved-model.js';
import { decodeRaster, loadServedModel, retireModel, type RunningServe, startServe } from './index.js';
import { photoToDataset } from './photo.js';
import { buildAndSave, type Built, GRAY_CLASSES, GRAY_MLP, GRAY_PRE, pixelsOf, RGB_CLASSES, RGB_CNN, RGB_PRE } from './test-models.js';


/** Real image files of several formats and sizes, colour and gray, with and without alpha. */
async function imageFiles(seed: number): Promise<{ label: string; bytes: Buffer; type: string }[]> {
  const raw = (w: number, h: number, c: 1 | 2 | 3 | 4, s: number) => sharp(pixelsOf(w, h, c, seed + s), { raw: { width: w, height: h, channels: c } });
  return [
    { label: 'colour JPEG 50x40', bytes: await raw(50, 40, 3, 1).jpeg({ quality: 90 }).toBuffer(), type: 'image/jpeg' },
    { label: 'RGBA PNG 64x48 with alpha', bytes: await raw(64, 48, 4, 2).png().toBuffer(), type: 'image/png' },
    { label: 'colour WebP 17x33', bytes: await raw(17, 33, 3, 3).webp({ lossless: true }).toBuffer(), type: 'image/webp' },
    { label: 'gray PNG 32x32', bytes: await raw(32, 32, 1, 4).png().toBuffer(), type: 'image/png' },
    { label: 'gray PNG 24x20', bytes: await raw(24, 20, 1, 5).png().toBuffer(), type: 'image/png' },
    { label: 'gray+alpha WebP 30x30', bytes: await raw(30, 30, 2, 6).webp({ lossless: true }).toBuffer(), type: 'image/webp' },
  ];
}

/** The model's probabilities on `pixels` (0–255, HWC), normalized as its kiln-model.json says. */
function offline(built: Built, pixels: ArrayLike<number>): number[] {
  const { pre, input } = built;
  const x = Float32Array.from(pixels, (p) => (p * pre.scale - pre.mean) / pre.std);
  return tf.tidy(() => Array.from((built.model.predict(tf.tensor4d(x, [1, input.height, input.width, input.channels])) as tf.Tensor).dataSync()));
}

/** The pixels training decodes for `bytes` at the model's input. */
const trainingPixels = (built: Built, bytes: Uint8Array): Promise<Uint8Array> =>
  decodeFixed(bytes, { height: built.input.height, width: built.input.width, channels: built.input.channels as 1 | 3 });

const close = (got: readonly number[], want: readonly number[], what: string): void => {
  assert.equal(got.length, want.length, `${what}: ${got.length} probabilities, expected ${want.length}`);
  got.forEach((p, i) => assert.ok(Math.abs(p - want[i]!) < 1e-4, `${what}: class ${i}: served ${p}, model ${want[i]}`));
};

interface ErrorBody {
  error: { code: string; message: string };
}
interface Answer {
  prediction: string;
  class_id: number;
  confidence: number;
  top_k: { label: string; probability: number }[];
  preprocessing: string;
}

describe('serving models of any input shape and class list', () => {
  let dir: string;
  let rgb: Built;
  let gray: Built;
  let server: RunningServe;
  let url: string;
  let files: Awaited<ReturnType<typeof imageFiles>>;

  const post = (path: string, body: unknown): Promise<Response> =>
    fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const upload = (path: string, file: { bytes: Buffer; type: string }): Promise<Response> => {
    const form = new FormData();
    form.append('file', new Blob([file.bytes], { type: file.type }), 'upload');
    return fetch(`${url}${path}`, { method: 'POST', body: form });
  };
  const refused = async (response: Response, status: number, code: string): Promise<string> => {
    const body = (await response.json()) as ErrorBody;
    assert.equal(response.status, status, JSON.stringify(body));
    assert.equal(body.error.code, code, JSON.stringify(body));
    return body.error.message;
  };
  const classCounters = async (): Promise<Map<string, number>> => {
    const text = await (await fetch(`${url}/metrics`)).text();
    return new Map([...text.matchAll(/^kiln_serve_predictions_total\{class="([^"]*)"\} (\S+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
  };
  const swapTo = async (built: Built, version: string): Promise<void> => server.setModel(await loadServedModel(built.folder, { version, maxWaitMs: 0 }));

  before(async () => {
    await initEngine({ quiet: true });
    dir = await mkdtemp(join(tmpdir(), 'kiln-shapes-'));
    rgb = await buildAndSave(join(dir, 'rgb'), 'pets', RGB_CNN, { height: 32, width: 32, channels: 3, classes: 3 }, RGB_CLASSES, RGB_PRE);
    gray = await buildAndSave(join(dir, 'gray'), 'shapes', GRAY_MLP, { height: 20, width: 24, channels: 1, classes: 4 }, GRAY_CLASSES, GRAY_PRE);
    files = await imageFiles(3);
    server = await startServe({ modelUri: rgb.folder, home: dir, port: 0, log: () => {}, defaultMetrics: false, maxWaitMs: 0, maxBatchItems: 8 });
    url = server.url;
  });

  after(async () => {
    await server?.close();
    rgb?.model.dispose();
    gray?.model.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  test('the saved RGB model carries model.onnx, and is served by ONNX Runtime', async () => {
    await access(join(rgb.folder, 'model.onnx'));
    const metadata = JSON.parse(await readFile(join(rgb.folder, 'kiln-model.json'), 'utf8')) as KilnModelMetadata;
    assert.deepEqual(metadata.inputShape, [32, 32, 3]);
    const ready = (await (await fetch(`${url}/ready`)).json()) as { model: { engine: string } };
    assert.equal(ready.model.engine, 'onnxruntime');
  });

  test('/info, /ready and the KServe metadata describe a 32x32 RGB model with classes cat, dog, fox', async () => {
    const info = (await (await fetch(`${url}/info`)).json()) as { name: string; input: { shape: number[]; color: string; description: string; pixels: string }; classes: string[]; preprocessing: { photo: boolean } };
    assert.equal(info.name, 'pets');
    assert.deepEqual(info.input.shape, [32, 32, 3]);
    assert.equal(info.input.color, 'rgb');
    assert.equal(info.input.description, '32x32 RGB');
    assert.match(info.input.pixels, /3072 pixel values .*\[32\]\[32\]\[3\]/);
    assert.deepEqual(info.classes, RGB_CLASSES);
    assert.equal(info.preprocessing.photo, false);
    const ready = (await (await fetch(`${url}/ready`)).json()) as { model: { input: { description: string }; classes: string[] } };
    assert.equal(ready.model.input.description, '32x32 RGB');
    assert.deepEqual(ready.model.classes, RGB_CLASSES);

    const meta = (await (await fetch(`${url}/v2/models/pets`)).json()) as { inputs: { datatype: string; shape: number[] }[]; outputs: { shape: number[] }[]; parameters: { classes: string[]; image: { channels: number } } };
    assert.deepEqual(meta.inputs[0], { name: 'input', datatype: 'FP32', shape: [-1, 32, 32, 3] });
    assert.deepEqual(meta.outputs[0]!.shape, [-1, 3]);
    assert.deepEqual(meta.parameters.classes, RGB_CLASSES);
    assert.equal(meta.parameters.image.channels, 3);
  });

  test('POST /predict: JPEG, PNG with alpha, WebP and gray files of any size get the probabilities the model gives the pixels training decodes', async () => {
    for (const file of files) {
      const response = await upload('/predict?top_k=3', file);
      assert.equal(response.status, 200, file.label);
      const answer = (await response.json()) as Answer;
      assert.equal(answer.preprocessing, 'dataset', `${file.label}: auto on an RGB model is the dataset path`);
      const want = offline(rgb, await trainingPixels(rgb, file.bytes));
      const served = RGB_CLASSES.map((name) => answer.top_k.find((k) => k.label === name)!.probability);
      close(served, want, file.label);
      assert.equal(answer.prediction, RGB_CLASSES[want.indexOf(Math.max(...want))], file.label);
      assert.ok(RGB_CLASSES.includes(answer.prediction));
    }
  });

  test('a gray PNG at 32x32 sent to the RGB model is decoded as three equal channels, not as 1024 gray values', async () => {
    const grayFile = files.find((f) => f.label === 'gray PNG 32x32')!;
    const pixels = await trainingPixels(rgb, grayFile.bytes);
    assert.equal(pixels.length, 32 * 32 * 3);
    for (let i = 0; i < pixels.length; i += 3) assert.ok(pixels[i] === pixels[i + 1] && pixels[i] === pixels[i + 2]);
  });

  test('POST /predict/batch: base64 files and pixel arrays, flat or nested [32][32][3]', async () => {
    const pixels = Array.from(pixelsOf(32, 32, 3, 9));
    const nested = Array.from({ length: 32 }, (_, y) => Array.from({ length: 32 }, (_, x) => pixels.slice((y * 32 + x) * 3, (y * 32 + x) * 3 + 3)));
    const jpeg = files[0]!.bytes;
    const response = await post('/predict/batch?top_k=3', { images: [pixels, nested, jpeg.toString('base64')] });
    assert.equal(response.status, 200);
    const { predictions } = (await response.json()) as { predictions: Answer[] };
    assert.equal(predictions.length, 3);
    const wants = [offline(rgb, pixels), offline(rgb, pixels), offline(rgb, await trainingPixels(rgb, jpeg))];
    predictions.forEach((answer, i) => {
      assert.deepEqual(answer.top_k.map((k) => k.label).sort(), [...RGB_CLASSES].sort());
      close(RGB_CLASSES.map((name) => answer.top_k.find((k) => k.label === name)!.probability), wants[i]!, `item ${i}`);
    });
  });

  test('pixel arrays of the wrong count or the wrong nesting are refused with the expected shape named', async () => {
    const pixels = Array.from(pixelsOf(32, 32, 3, 9));
    const scrambled = Array.from({ length: 3 }, (_, c) => Array.from({ length: 32 }, (_, y) => Array.from({ length: 32 }, (_, x) => pixels[(y * 32 + x) * 3 + c]!)));
    const grayNested = Array.from({ length: 32 }, () => Array(32).fill(0));
    const ragged = Array.from({ length: 32 }, (_, y) => Array.from({ length: y === 7 ? 31 : 32 }, () => [0, 0, 0]));
    const cases: [unknown, string][] = [
      [pixels.slice(0, 1024), 'WRONG_SIZE'],
      [Array(784).fill(0), 'WRONG_SIZE'],
      [scrambled, 'WRONG_SHAPE'],
      [grayNested, 'WRONG_SHAPE'],
      [ragged, 'WRONG_SHAPE'],
      [[pixels], 'WRONG_SHAPE'],
    ];
    for (const [item, code] of cases) {
      const message = await refused(await post('/predict/batch', { images: [item] }), 400, code);
      assert.match(message, /^item 0: expected 3072 pixel values 0-255 for a 32x32 RGB image: flat, or nested \[32\]\[32\]\[3\]/, message);
    }
    assert.match(await refused(await post('/predict/batch', { images: [pixels.map((p, i) => (i === 5 ? 256 : p))] }), 400, 'INVALID_PIXEL'), /256/);
  });

  test('POST /invocations (MLflow scoring): instances, inputs and one unwrapped nested example, probabilities in class order', async () => {
    const a = Array.from(pixelsOf(32, 32, 3, 21));
    const b = Array.from(pixelsOf(32, 32, 3, 22));
    const nestedA = Array.from({ length: 32 }, (_, y) => Array.from({ length: 32 }, (_, x) => a.slice((y * 32 + x) * 3, (y * 32 + x) * 3 + 3)));
    for (const payload of [{ instances: [a, b] }, { inputs: [nestedA, b] }, { inputs: { image: [a, b] } }]) {
      const response = await post('/invocations', payload);
      assert.equal(response.status, 200, JSON.stringify(Object.keys(payload)));
      const { predictions } = (await response.json()) as { predictions: number[][] };
      assert.equal(predictions.length, 2);
      close(predictions[0]!, offline(rgb, a), 'first');
      close(predictions[1]!, offline(rgb, b), 'second');
    }
    const single = (await (await post('/invocations', { instances: nestedA })).json()) as { predictions: number[][] };
    assert.equal(single.predictions.length, 1);
    close(single.predictions[0]!, offline(rgb, a), 'unwrapped');
    await refused(await post('/invocations', { instances: [a.slice(0, 100)] }), 400, 'WRONG_SIZE');
  });

  test('KServe v2 infer takes [n, 32, 32, 3] and [n, 3072] tensors and refuses [n, 3, 32, 32]', async () => {
    const a = Array.from(pixelsOf(32, 32, 3, 31));
    const b = Array.from(pixelsOf(32, 32, 3, 32));
    const infer = (shape: number[], datatype = 'UINT8', data: unknown[] = [...a, ...b]) => post('/v2/models/pets/infer', { inputs: [{ name: 'input', shape, datatype, data }] });
    for (const [shape, datatype] of [[[2, 32, 32, 3], 'UINT8'], [[2, 3072], 'FP32']] as const) {
      const response = await infer([...shape], datatype);
      assert.equal(response.status, 200);
      const out = ((await response.json()) as { outputs: { shape: number[]; data: number[] }[] }).outputs[0]!;
      assert.deepEqual(out.shape, [2, 3]);
      close(out.data.slice(0, 3), offline(rgb, a), `${datatype} first`);
      close(out.data.slice(3), offline(rgb, b), `${datatype} second`);
    }
    const message = await refused(await infer([2, 3, 32, 32]), 400, 'WRONG_SHAPE');
    assert.match(message, /32x32 RGB.*\[n, 32, 32, 3\]/);
    await refused(await infer([2, 32, 32]), 400, 'WRONG_SHAPE');
    await refused(await infer([2, 32, 96]), 400, 'WRONG_SHAPE');
    await refused(await infer([3, 3072]), 400, 'WRONG_SIZE');
  });

  test('?preprocess=photo on the RGB model is 400 PREPROCESS_UNSUPPORTED on every route; auto and dataset answer alike', async () => {
    const jpeg = files[0]!;
    for (const response of [
      await upload('/predict?preprocess=photo', jpeg),
      await post('/predict/batch?preprocess=photo', { images: [jpeg.bytes.toString('base64')] }),
      await post('/invocations?preprocess=photo', { instances: [jpeg.bytes.toString('base64')] }),
    ]) {
      assert.match(await refused(response, 400, 'PREPROCESS_UNSUPPORTED'), /32x32 RGB.*preprocess=dataset/);
    }
    const auto = (await (await upload('/predict?preprocess=auto', jpeg)).json()) as Answer;
    const dataset = (await (await upload('/predict?preprocess=dataset', jpeg)).json()) as Answer;
    assert.equal(auto.preprocessing, 'dataset');
    assert.deepEqual(auto.top_k, dataset.top_k);
  });

  test('the OpenAPI document describes the served model: its input and its classes', async () => {
    const doc = (await (await fetch(`${url}/docs/json`)).json()) as { info: { description: string; 'x-kiln-model': { input_shape: number[]; classes: string[] } } };
    assert.match(doc.info.description, /pets version local: 32x32 RGB images/);
    assert.match(doc.info.description, /3 classes: cat, dog, fox/);
    assert.deepEqual(doc.info['x-kiln-model'].input_shape, [32, 32, 3]);
    assert.deepEqual(doc.info['x-kiln-model'].classes, RGB_CLASSES);
    await SwaggerParser.validate(structuredClone(doc) as unknown as OpenAPI.Document);
  });

  test('the predictions metric is labelled by the served model’s classes, and a swap to other classes replaces the labels', async () => {
    const before = await classCounters();
    assert.deepEqual([...before.keys()].sort(), [...RGB_CLASSES].sort(), 'every class is a series, and nothing else');
    const response = await post('/predict/batch', { images: [Array.from(pixelsOf(32, 32, 3, 41)), Array.from(pixelsOf(32, 32, 3, 42))] });
    const labels = ((await response.json()) as { predictions: Answer[] }).predictions.map((p) => p.prediction);
    const afterPredictions = await classCounters();
    for (const name of RGB_CLASSES) assert.equal(afterPredictions.get(name)! - before.get(name)!, labels.filter((l) => l === name).length, name);

    await swapTo(gray, '2');
    try {
      const swapped = await classCounters();
      assert.deepEqual([...swapped.keys()].sort(), [...GRAY_CLASSES].sort(), 'the old model’s classes are gone');
      assert.ok([...swapped.values()].every((v) => v === 0));
      const answer = (await (await post('/predict/batch', { images: [Array(480).fill(100)] })).json()) as { predictions: Answer[] };
      assert.equal((await classCounters()).get(answer.predictions[0]!.prediction), 1);
    } finally {
      await swapTo(rgb, 'local');
    }
  });

  describe('a 20x24 grayscale model with four classes', () => {
    before(async () => swapTo(gray, '2'));
    after(async () => swapTo(rgb, 'local'));

    test('files of any format, size and colour are decoded to 20x24 gray as training decodes them', async () => {
      const info = (await (await fetch(`${url}/info`)).json()) as { input: { description: string; shape: number[] }; classes: string[]; preprocessing: { photo: boolean } };
      assert.equal(info.input.description, '20x24 grayscale');
      assert.deepEqual(info.input.shape, [20, 24, 1]);
      assert.deepEqual(info.classes, GRAY_CLASSES);
      assert.equal(info.preprocessing.photo, true);
      for (const file of files) {
        const answer = (await (await upload('/predict?top_k=4', file)).json()) as Answer;
        const pixels = await trainingPixels(gray, file.bytes);
        assert.equal(pixels.length, 480);
        close(GRAY_CLASSES.map((name) => answer.top_k.find((k) => k.label === name)!.probability), offline(gray, pixels), file.label);
      }
    });

    test('pixel arrays: flat 480, [20][24], [20][24][1] and [1][20][24]; [24][20] is the wrong shape', async () => {
      const flat = Array.from(pixelsOf(24, 20, 1, 51));
      const rows = Array.from({ length: 20 }, (_, y) => flat.slice(y * 24, y * 24 + 24));
      const withChannel = rows.map((row) => row.map((v) => [v]));
      const response = await post('/predict/batch?top_k=4', { images: [flat, rows, withChannel, [rows]] });
      assert.equal(response.status, 200);
      const want = offline(gray, flat);
      for (const answer of ((await response.json()) as { predictions: Answer[] }).predictions) close(GRAY_CLASSES.map((name) => answer.top_k.find((k) => k.label === name)!.probability), want, 'pixels');
      const transposed = Array.from({ length: 24 }, (_, x) => rows.map((row) => row[x]!));
      assert.match(await refused(await post('/predict/batch', { images: [transposed] }), 400, 'WRONG_SHAPE'), /480 pixel values .*nested \[20\]\[24\] or \[20\]\[24\]\[1\] or \[1\]\[20\]\[24\]; got nested \[24\]\[20\]/);
      const meta = (await (await fetch(`${url}/v2/models/shapes`)).json()) as { inputs: { shape: number[] }[]; outputs: { shape: number[] }[] };
      assert.deepEqual(meta.inputs[0]!.shape, [-1, 20, 24, 1]);
      assert.deepEqual(meta.outputs[0]!.shape, [-1, 4]);
      const tensor = await post('/v2/models/shapes/infer', { inputs: [{ name: 'input', shape: [1, 20, 24], datatype: 'UINT8', data: flat }] });
      assert.equal(tensor.status, 200);
      close(((await tensor.json()) as { outputs: { data: number[] }[] }).outputs[0]!.data, want, 'KServe [1, 20, 24]');
    });

    test('the photo preprocessing applies to a gray model', async () => {
      const photo = await sharp({ create: { width: 90, height: 120, channels: 3, background: '#f4f1ea' } })
        .composite([{ input: await sharp({ create: { width: 40, height: 70, channels: 3, background: '#203040' } }).png().toBuffer(), left: 25, top: 25 }])
        .jpeg()
        .toBuffer();
      const response = await upload('/predict?preprocess=photo&top_k=4', { bytes: photo, type: 'image/jpeg' });
      assert.equal(response.status, 200);
      const answer = (await response.json()) as Answer;
      assert.equal(answer.preprocessing, 'photo');
      const converted = photoToDataset(await decodeRaster(photo, 24 * 4), [20, 24]);
      assert.equal(converted.length, 480);
      close(GRAY_CLASSES.map((name) => answer.top_k.find((k) => k.label === name)!.probability), offline(gray, converted), 'photo');
    });
  });

  test('the RGB model answers alike from model.onnx, from an in-memory ONNX export (a folder without model.onnx) and from tfjs', async () => {
    const older = join(dir, 'rgb-without-onnx');
    await cp(rgb.folder, older, { recursive: true });
    await rm(join(older, 'model.onnx'));
    const batch = Float32Array.from(pixelsOf(32, 32, 3, 61), (p) => (p * RGB_PRE.scale - RGB_PRE.mean) / RGB_PRE.std);
    const engines = [await loadServedModel(rgb.folder, { maxWaitMs: 0 }), await loadServedModel(older, { maxWaitMs: 0 }), await loadServedModel(rgb.folder, { engine: 'tfjs', maxWaitMs: 0 })];
    try {
      assert.deepEqual(engines.map((m) => m.predictor.engine), ['onnxruntime', 'onnxruntime', 'tfjs']);
      const want = offline(rgb, pixelsOf(32, 32, 3, 61));
      for (const served of engines) close(Array.from(await served.predictor.predict(batch, 1)), want, served.predictor.engine);
    } finally {
      await Promise.all(engines.map(retireModel));
    }
  });

  test('an RGB model cannot be served with the photo conversion, nor with an inputShape that is neither [H, W, 3] nor [3, H, W]', async () => {
    await assert.rejects(loadServedModel(rgb.folder, { preprocess: 'photo', maxWaitMs: 0 }), (error: Error & { code?: string }) => error.code === 'KILN_ERR_PREPROCESS_MODE' && /32x32 RGB.*--preprocess dataset/.test(error.message));
    const metadata = JSON.parse(await readFile(join(rgb.folder, 'kiln-model.json'), 'utf8')) as KilnModelMetadata;
    const scrambled = join(dir, 'scrambled');
    await rm(scrambled, { recursive: true, force: true });
    await buildAndSave(scrambled, 'pets', RGB_CNN, { height: 32, width: 32, channels: 3, classes: 3 }, RGB_CLASSES, RGB_PRE).then((b) => b.model.dispose());
    await writeFile(join(scrambled, 'kiln-model.json'), JSON.stringify({ ...metadata, inputShape: [32, 3, 32] }));
    await assert.rejects(loadServedModel(scrambled, { maxWaitMs: 0 }), (error: Error & { code?: string }) => error.code === 'KILN_ERR_MODEL_FORMAT' && /inputShape \[32, 3, 32\] is neither \[32, 32, 3\] \(NHWC\) nor \[3, 32, 32\] \(NCHW\)/.test(error.message));
  });
});
