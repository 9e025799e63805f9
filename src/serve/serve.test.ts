import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { OpenAPI } from 'openapi-types';
import sharp from 'sharp';
import { initEngine, tf } from '../engine/index.js';
import { Random } from '../common/random.js';
import { TEST_CLASS_NAMES, TEST_CNN_BN, TEST_PREPROCESSING, writeTestModelFolder } from '../models/onnx/test-helpers.js';
import { buildServeApp, loadServedModel, type ServeApp } from './index.js';

function randomPixels(seed: number): Uint8Array {
  const rng = new Random(seed);
  return Uint8Array.from({ length: 784 }, () => (rng.float() < 0.5 ? 0 : Math.floor(rng.float() * 256)));
}

const png = (pixels: Uint8Array): Promise<Buffer> => sharp(Buffer.from(pixels), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer();

function form(bytes: Uint8Array, type = 'image/png', name = 'image.png'): FormData {
  const data = new FormData();
  data.append('file', new Blob([bytes], { type }), name);
  return data;
}

interface ErrorBody {
  error: { code: string; message: string };
}

describe('inference API over HTTP', () => {
  let dir: string;
  let serve: ServeApp;
  let url: string;
  let model: tf.LayersModel;
  const pixels = [randomPixels(1), randomPixels(2), randomPixels(3)];

  const expected = (p: Uint8Array): Float32Array =>
    tf.tidy(() => {
      const x = Float32Array.from(p, (v) => (v * TEST_PREPROCESSING.scale - TEST_PREPROCESSING.mean) / TEST_PREPROCESSING.std);
      return (model.predict(tf.tensor4d(x, [1, 28, 28, 1])) as tf.Tensor).dataSync() as Float32Array;
    });

  before(async () => {
    await initEngine({ quiet: true });
    dir = await mkdtemp(join(tmpdir(), 'kiln-serve-'));
    const folder = join(dir, 'model');
    model = await writeTestModelFolder(folder, TEST_CNN_BN);
    serve = buildServeApp({ maxUploadBytes: 64 * 1024, maxJsonBytes: 1024 * 1024, maxBatchItems: 16, pixelLimit: 1000 * 1000, defaultMetrics: false });
    await serve.app.listen({ port: 0, host: '127.0.0.1' });
    const address = serve.app.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    // Not ready until a model is in.
    assert.equal((await fetch(`${url}/ready`)).status, 503);
    assert.equal((await fetch(`${url}/health`)).status, 200);
    const early = await fetch(`${url}/predict`, { method: 'POST', body: form(await png(pixels[0]!)) });
    assert.equal(early.status, 503);
    assert.equal(((await early.json()) as ErrorBody).error.code, 'MODEL_NOT_READY');
    await serve.setModel(await loadServedModel(folder, { version: '7', maxWaitMs: 0 }));
  });

  after(async () => {
    await serve?.close();
    model?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  test('/health and /ready', async () => {
    assert.deepEqual(await (await fetch(`${url}/health`)).json(), { status: 'ok' });
    const ready = await fetch(`${url}/ready`);
    assert.equal(ready.status, 200);
    const body = (await ready.json()) as { model: { engine: string; version: string } };
    assert.equal(body.model.engine, 'onnxruntime');
    assert.equal(body.model.version, '7');
  });

  test('POST /predict (multipart PNG) matches the offline tfjs model', async () => {
    for (const p of pixels) {
      const response = await fetch(`${url}/predict?top_k=10`, { method: 'POST', body: form(await png(p)) });
      assert.equal(response.status, 200);
      const body = (await response.json()) as {
        prediction: string;
        class_id: number;
        confidence: number;
        top_k: { label: string; probability: number }[];
        model: { name: string; version: string };
        timing_ms: { preprocess: number; inference: number; total: number };
      };
      const want = expected(p);
      const best = want.indexOf(Math.max(...want));
      assert.equal(body.class_id, best);
      assert.equal(body.prediction, TEST_CLASS_NAMES[best]);
      assert.ok(Math.abs(body.confidence - want[best]!) < 1e-4);
      assert.equal(body.top_k.length, 10);
      for (const entry of body.top_k) assert.ok(Math.abs(entry.probability - want[TEST_CLASS_NAMES.indexOf(entry.label)]!) < 1e-4);
      assert.deepEqual(body.model, { name: 'fashion-mnist', version: '7' });
      assert.ok(body.timing_ms.total >= body.timing_ms.preprocess);
    }
  });

  test('POST /predict accepts JPEG, WebP and a raw image/png body', async () => {
    const raw = sharp(Buffer.from(pixels[0]!), { raw: { width: 28, height: 28, channels: 1 } });
    const jpeg = await raw.clone().jpeg({ quality: 95 }).toBuffer();
    const webp = await raw.clone().webp({ lossless: true }).toBuffer();
    const r1 = await fetch(`${url}/predict`, { method: 'POST', body: form(jpeg, 'image/jpeg', 'a.jpg') });
    assert.equal(r1.status, 200);
    assert.equal(((await r1.json()) as { top_k: unknown[] }).top_k.length, 3);
    const r2 = await fetch(`${url}/predict`, { method: 'POST', body: form(webp, 'image/webp', 'a.webp') });
    assert.equal(((await r2.json()) as { class_id: number }).class_id, expected(pixels[0]!).indexOf(Math.max(...expected(pixels[0]!))));
    const r3 = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: await png(pixels[1]!) });
    assert.equal(r3.status, 200);
  });

  test('bad uploads get a 4xx JSON error and the server keeps answering', async () => {
    const big = await sharp({ create: { width: 2000, height: 2000, channels: 3, background: '#000000' } })
      .png({ compressionLevel: 9 })
      .toBuffer();
    const good = await png(pixels[0]!);
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28"><rect width="28" height="28"/></svg>');
    const onlyField = new FormData();
    onlyField.append('note', 'no file here');
    const cases: [string, RequestInit, number, string][] = [
      ['not an image', { body: form(Buffer.from('hello, this is text'), 'image/png') }, 400, 'INVALID_IMAGE'],
      ['empty file', { body: form(new Uint8Array(0)) }, 400, 'EMPTY_FILE'],
      ['truncated PNG', { body: form(good.subarray(0, Math.floor(good.length / 2))) }, 400, 'INVALID_IMAGE'],
      ['no file part', { body: onlyField }, 400, 'NO_FILE'],
      ['SVG', { body: form(svg, 'image/svg+xml', 'a.svg') }, 415, 'UNSUPPORTED_IMAGE_FORMAT'],
      ['too many pixels', { body: form(big) }, 400, 'IMAGE_TOO_LARGE'],
      ['over the upload limit', { body: form(new Uint8Array(100 * 1024)) }, 413, 'PAYLOAD_TOO_LARGE'],
      ['raw body over the limit', { headers: { 'content-type': 'image/png' }, body: new Uint8Array(100 * 1024) }, 413, 'PAYLOAD_TOO_LARGE'],
      ['JSON body', { headers: { 'content-type': 'application/json' }, body: '{"a":1}' }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['unknown content type', { headers: { 'content-type': 'application/x-foo' }, body: 'x' }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['bad top_k', { body: form(good) }, 400, 'INVALID_REQUEST'],
    ];
    for (const [label, init, status, code] of cases) {
      const target = label === 'bad top_k' ? `${url}/predict?top_k=zero` : `${url}/predict`;
      const response = await fetch(target, { method: 'POST', ...init });
      const body = (await response.json()) as ErrorBody;
      assert.equal(response.status, status, `${label}: ${JSON.stringify(body)}`);
      assert.equal(body.error.code, code, label);
      assert.ok(body.error.message.length > 0);
    }
    const missing = await fetch(`${url}/nope`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as ErrorBody).error.code, 'NOT_FOUND');
    assert.equal((await fetch(`${url}/predict`, { method: 'POST', body: form(good) })).status, 200);
    assert.equal((await fetch(`${url}/health`)).status, 200);
  });

  test('POST /predict/batch: base64 images and pixel arrays', async () => {
    const b64 = (await png(pixels[1]!)).toString('base64');
    const response = await fetch(`${url}/predict/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ images: [b64, `data:image/png;base64,${b64}`, Array.from(pixels[2]!)] }),
    });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { predictions: { class_id: number; confidence: number }[] };
    assert.equal(body.predictions.length, 3);
    const want1 = expected(pixels[1]!);
    const want2 = expected(pixels[2]!);
    assert.equal(body.predictions[0]!.class_id, want1.indexOf(Math.max(...want1)));
    assert.equal(body.predictions[1]!.class_id, body.predictions[0]!.class_id);
    assert.ok(Math.abs(body.predictions[2]!.confidence - Math.max(...want2)) < 1e-4);

    const bad: [unknown, number, string][] = [
      [{ images: [[1, 2, 3]] }, 400, 'WRONG_SIZE'],
      [{ images: [Array(784).fill(300)] }, 400, 'INVALID_PIXEL'],
      [{ images: ['!!!not base64!!!'] }, 400, 'INVALID_BASE64'],
      [{ images: [Buffer.from('not an image').toString('base64')] }, 400, 'INVALID_IMAGE'],
      [{ images: [] }, 400, 'INVALID_REQUEST'],
      [{ pictures: [] }, 400, 'INVALID_REQUEST'],
      [{ images: Array(17).fill(Array(784).fill(0)) }, 413, 'TOO_MANY_ITEMS'],
    ];
    for (const [payload, status, code] of bad) {
      const r = await fetch(`${url}/predict/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
      const e = (await r.json()) as ErrorBody;
      assert.equal(r.status, status, JSON.stringify(e));
      assert.equal(e.error.code, code);
    }
    const malformed = await fetch(`${url}/predict/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"images": [' });
    assert.equal(malformed.status, 400);
    assert.equal(((await malformed.json()) as ErrorBody).error.code, 'INVALID_JSON');
    const huge = await fetch(`${url}/predict/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ images: ['A'.repeat(2 * 1024 * 1024)] }) });
    assert.equal(huge.status, 413);
  });

  test('POST /invocations (MLflow scoring protocol)', async () => {
    const call = async (payload: unknown) =>
      fetch(`${url}/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
    const nested = Array.from({ length: 28 }, (_, r) => Array.from(pixels[0]!.subarray(r * 28, r * 28 + 28)));
    for (const payload of [{ instances: [Array.from(pixels[0]!), nested] }, { inputs: [Array.from(pixels[0]!), nested] }, { inputs: { image: [nested, nested] } }]) {
      const r = await call(payload);
      assert.equal(r.status, 200);
      const body = (await r.json()) as { predictions: number[][] };
      assert.equal(body.predictions.length, 2);
      const want = expected(pixels[0]!);
      body.predictions.forEach((row) => row.forEach((p, i) => assert.ok(Math.abs(p - want[i]!) < 1e-4)));
    }
    const single = (await (await call({ instances: nested })).json()) as { predictions: number[][] };
    assert.equal(single.predictions.length, 1);
    for (const payload of [{}, { instances: [] }, { instances: [[1, 2]] }, { inputs: 'x' }]) {
      const r = await call(payload);
      assert.equal(r.status, 400, JSON.stringify(payload));
      assert.ok(((await r.json()) as ErrorBody).error.code);
    }
  });

  test('?preprocess= chooses the preprocessing of image files, is validated, and every prediction says which path ran', async () => {
    // Dataset form: a light item on a black background, 28x28 gray.
    const item = Uint8Array.from({ length: 784 }, (_, i) => (i % 28 >= 5 && i % 28 < 23 && i >= 5 * 28 && i < 23 * 28 ? 120 + ((i * 37) % 130) : 0));
    const image = await png(item);
    const want = expected(item);
    const best = want.indexOf(Math.max(...want));
    for (const mode of [undefined, 'auto', 'dataset']) {
      const response = await fetch(`${url}/predict${mode ? `?preprocess=${mode}` : ''}`, { method: 'POST', body: form(image) });
      assert.equal(response.status, 200);
      const body = (await response.json()) as { preprocessing: string; class_id: number };
      // A 28x28 gray image with a dark background is dataset form: auto and the default keep the dataset path and its answer.
      assert.equal(body.preprocessing, 'dataset', String(mode));
      assert.equal(body.class_id, best);
    }
    const photo = (await (await fetch(`${url}/predict?preprocess=photo`, { method: 'POST', body: form(image) })).json()) as { preprocessing: string };
    assert.ok(['dataset', 'photo'].includes(photo.preprocessing), JSON.stringify(photo));

    const batch = await fetch(`${url}/predict/batch?preprocess=auto`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ images: [image.toString('base64'), Array.from(pixels[1]!)] }),
    });
    assert.equal(batch.status, 200);
    const predictions = ((await batch.json()) as { predictions: { preprocessing: string }[] }).predictions;
    assert.deepEqual(predictions.map((p) => p.preprocessing), ['dataset', 'dataset'], 'pixel arrays are taken as they are');
    const invocations = await fetch(`${url}/invocations?preprocess=dataset`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: [image.toString('base64')] }) });
    assert.equal(invocations.status, 200);
    assert.ok(Math.abs(((await invocations.json()) as { predictions: number[][] }).predictions[0]![best]! - want[best]!) < 1e-4);

    for (const [path, init] of [
      ['/predict?preprocess=sepia', { body: form(image) }],
      ['/predict?preprocess=', { body: form(image) }],
      ['/predict/batch?preprocess=PHOTO', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ images: [image.toString('base64')] }) }],
      ['/invocations?preprocess=1', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: [Array.from(item)] }) }],
    ] as [string, RequestInit][]) {
      const response = await fetch(`${url}${path}`, { method: 'POST', ...init });
      const body = (await response.json()) as ErrorBody;
      assert.equal(response.status, 400, `${path}: ${JSON.stringify(body)}`);
      assert.equal(body.error.code, 'INVALID_REQUEST');
      assert.match(body.error.message, /preprocess/);
    }

    const doc = (await (await fetch(`${url}/docs/json`)).json()) as {
      paths: Record<string, { post: { parameters?: { name: string; in: string; schema: { enum?: string[] } }[]; responses: Record<string, { content: Record<string, { schema: Record<string, unknown> }> }> } }>;
    };
    for (const path of ['/predict', '/predict/batch', '/invocations']) {
      const parameter = doc.paths[path]!.post.parameters?.find((p) => p.name === 'preprocess');
      assert.ok(parameter, `${path} documents ?preprocess=`);
      assert.equal(parameter.in, 'query');
      assert.deepEqual(parameter.schema.enum, ['auto', 'dataset', 'photo']);
    }
    const predictAnswer = doc.paths['/predict']!.post.responses['200']!.content['application/json']!.schema as { properties: Record<string, { enum?: string[] }> };
    assert.deepEqual(predictAnswer.properties.preprocessing!.enum, ['dataset', 'photo']);
    const batchAnswer = doc.paths['/predict/batch']!.post.responses['200']!.content['application/json']!.schema as { properties: { predictions: { items: { properties: Record<string, { enum?: string[] }> } } } };
    assert.deepEqual(batchAnswer.properties.predictions.items.properties.preprocessing!.enum, ['dataset', 'photo']);
  });

  test('/metrics exposes request, latency, inference, batch, confidence and model gauges', async () => {
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const name of [
      'kiln_serve_requests_total{route="/predict",method="POST",status="200"}',
      'kiln_serve_request_duration_seconds_bucket',
      'kiln_serve_inference_duration_seconds_bucket',
      'kiln_serve_preprocess_duration_seconds_bucket',
      'kiln_serve_batch_size_bucket',
      'kiln_serve_prediction_confidence_bucket',
      'kiln_serve_predictions_total',
      'kiln_serve_in_flight_requests',
      'kiln_serve_model_info{name="fashion-mnist",version="7",engine="onnxruntime"',
    ]) {
      assert.ok(text.includes(name), name);
    }
  });

  test('/docs serves Swagger UI offline, and /docs/json the OpenAPI document built from the route schemas', async () => {
    const page = await fetch(`${url}/docs/`, { redirect: 'follow' });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    const html = await page.text();
    assert.match(html, /swagger-ui/i);
    assert.ok(!/https?:\/\/(?!127\.0\.0\.1)[^"']*\.(js|css)/.test(html), 'no script or style from another host');
    const bundle = await fetch(`${url}/docs/static/swagger-ui-bundle.js`);
    assert.equal(bundle.status, 200);
    const doc = (await (await fetch(`${url}/docs/json`)).json()) as {
      openapi: string;
      info: { title: string };
      paths: Record<string, Record<string, { summary?: string; requestBody?: { content: Record<string, { schema: { required?: string[] } }> }; responses?: Record<string, unknown> }>>;
    };
    assert.match(doc.openapi, /^3\./);
    for (const path of ['/predict', '/predict/batch', '/invocations', '/v2/models/{name}/infer', '/health', '/ready', '/metrics']) assert.ok(doc.paths[path], path);
    assert.ok(doc.paths['/predict']!.post!.requestBody!.content['multipart/form-data']);
    assert.deepEqual(doc.paths['/predict/batch']!.post!.requestBody!.content['application/json']!.schema.required, ['images']);
    assert.ok(doc.paths['/predict']!.post!.responses!['200']);
    assert.ok(!Object.keys(doc.paths).some((p) => p.startsWith('/docs')), 'the docs routes are not in the document');
    // Validated against the OpenAPI 3.0 JSON schema (and $refs resolved) by an independent validator.
    await SwaggerParser.validate(structuredClone(doc) as unknown as OpenAPI.Document);
  });

  test('KServe v2: health, model metadata and readiness, FP32 and UINT8 inference', async () => {
    assert.deepEqual(await (await fetch(`${url}/v2/health/live`)).json(), { live: true });
    const ready = await fetch(`${url}/v2/health/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ready: true });
    const meta = (await (await fetch(`${url}/v2/models/fashion-mnist`)).json()) as { name: string; versions: string[]; inputs: { shape: number[]; datatype: string }[]; outputs: { shape: number[] }[] };
    assert.equal(meta.name, 'fashion-mnist');
    assert.deepEqual(meta.versions, ['7']);
    assert.deepEqual(meta.inputs[0]!.shape, [-1, 28, 28, 1]);
    assert.deepEqual(meta.outputs[0]!.shape, [-1, 10]);
    assert.deepEqual(await (await fetch(`${url}/v2/models/fashion-mnist/ready`)).json(), { name: 'fashion-mnist', ready: true });
    assert.equal((await fetch(`${url}/v2/models/other`)).status, 404);

    const infer = (payload: unknown, name = 'fashion-mnist') =>
      fetch(`${url}/v2/models/${name}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
    const nested = (p: Uint8Array) => Array.from({ length: 28 }, (_, r) => Array.from(p.subarray(r * 28, r * 28 + 28), (v) => [v]));
    const payloads = [
      { id: 'a', inputs: [{ name: 'input', shape: [2, 28, 28, 1], datatype: 'FP32', data: [...pixels[0]!, ...pixels[1]!] }] },
      { inputs: [{ name: 'input', shape: [2, 784], datatype: 'UINT8', data: [Array.from(pixels[0]!), Array.from(pixels[1]!)] }] },
      { inputs: [{ name: 'input', shape: [2, 28, 28, 1], datatype: 'FP32', data: [nested(pixels[0]!), nested(pixels[1]!)] }] },
    ];
    for (const payload of payloads) {
      const response = await infer(payload);
      assert.equal(response.status, 200);
      const body = (await response.json()) as { model_name: string; model_version: string; id?: string; outputs: { name: string; datatype: string; shape: number[]; data: number[] }[] };
      assert.equal(body.model_name, 'fashion-mnist');
      assert.equal(body.model_version, '7');
      assert.equal(body.id, payload.id);
      const out = body.outputs[0]!;
      assert.equal(out.datatype, 'FP32');
      assert.deepEqual(out.shape, [2, 10]);
      const want = [...expected(pixels[0]!), ...expected(pixels[1]!)];
      out.data.forEach((p, i) => assert.ok(Math.abs(p - want[i]!) < 1e-4));
    }
    const bad: [unknown, number, string][] = [
      [{ inputs: [{ name: 'input', shape: [1, 784], datatype: 'INT64', data: Array(784).fill(0) }] }, 400, 'UNSUPPORTED_DATATYPE'],
      [{ inputs: [{ name: 'input', shape: [1, 10], datatype: 'FP32', data: Array(10).fill(0) }] }, 400, 'WRONG_SHAPE'],
      [{ inputs: [{ name: 'input', shape: [2, 784], datatype: 'FP32', data: Array(784).fill(0) }] }, 400, 'WRONG_SIZE'],
      [{ inputs: [{ name: 'input', shape: [1, 784], datatype: 'UINT8', data: Array(784).fill(0.5) }] }, 400, 'INVALID_PIXEL'],
      [{ inputs: [{ name: 'input', shape: [1, 784], datatype: 'FP32', data: Array(784).fill(256) }] }, 400, 'INVALID_PIXEL'],
      [{ inputs: [] }, 400, 'INVALID_REQUEST'],
      [{ inputs: [{ name: 'input', shape: [17, 784], datatype: 'FP32', data: Array(17 * 784).fill(0) }] }, 413, 'TOO_MANY_ITEMS'],
    ];
    for (const [payload, status, code] of bad) {
      const r = await infer(payload);
      const e = (await r.json()) as ErrorBody;
      assert.equal(r.status, status, JSON.stringify(e));
      assert.equal(e.error.code, code);
    }
    assert.equal((await infer(payloads[0], 'other')).status, 404);
  });

  test('concurrent requests are micro-batched and each gets its own answer', async () => {
    const body = await png(pixels[2]!);
    const want = expected(pixels[2]!);
    const best = want.indexOf(Math.max(...want));
    const before = await serve.metrics.batchSize.get();
    const count = (v: Awaited<ReturnType<typeof serve.metrics.batchSize.get>>): number => v.values.find((x) => x.metricName === 'kiln_serve_batch_size_count')?.value ?? 0;
    const answers = await Promise.all(Array.from({ length: 40 }, () => fetch(`${url}/predict`, { method: 'POST', body: form(body) }).then((r) => r.json() as Promise<{ class_id: number }>)));
    assert.ok(answers.every((a) => a.class_id === best));
    const calls = count(await serve.metrics.batchSize.get()) - count(before);
    assert.ok(calls < 40, `40 requests took ${calls} inference calls`);
  });
});
