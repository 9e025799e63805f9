import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { initEngine } from '../engine/index.js';
import { ONNX_FILE } from '../models/metadata.js';
import { TEST_CNN_BN, writeTestModelFolder } from '../models/onnx/test-helpers.js';
import { loadServedModel, retireModel } from './model.js';

describe('loading a model folder for serving', () => {
  let dir: string;
  let folder: string;
  let older: string;
  const input = Float32Array.from({ length: 2 * 784 }, (_, i) => ((i * 37) % 255) / 255);

  before(async () => {
    await initEngine({ quiet: true });
    dir = await mkdtemp(join(tmpdir(), 'kiln-served-'));
    folder = join(dir, 'current');
    older = join(dir, 'older');
    (await writeTestModelFolder(folder, TEST_CNN_BN)).dispose();
    (await writeTestModelFolder(older, TEST_CNN_BN)).dispose();
    // A folder saved before model.onnx was written at save time.
    await rm(join(older, ONNX_FILE));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('model.onnx, an in-memory export of an older folder, and the tfjs fallback all serve the same probabilities', async () => {
    const fromFile = await loadServedModel(folder, { maxWaitMs: 0 });
    const exported = await loadServedModel(older, { maxWaitMs: 0 });
    const tfjs = await loadServedModel(folder, { engine: 'tfjs', maxWaitMs: 0 });
    assert.equal(fromFile.predictor.engine, 'onnxruntime');
    assert.equal(exported.predictor.engine, 'onnxruntime');
    assert.equal(tfjs.predictor.engine, 'tfjs');
    const [a, b, c] = await Promise.all([fromFile, exported, tfjs].map((m) => m.predictor.predict(input, 2)));
    assert.equal(a!.length, 20);
    for (let i = 0; i < a!.length; i++) {
      assert.ok(Math.abs(a![i]! - b![i]!) < 1e-6, `file vs in-memory export at ${i}`);
      assert.ok(Math.abs(a![i]! - c![i]!) < 1e-4, `onnx vs tfjs at ${i}`);
    }
    await Promise.all([fromFile, exported, tfjs].map(retireModel));
  });

  test("kiln serve --preprocess replaces the model's preprocessing mode (requests' ?preprocess= still choose per image)", async () => {
    const asSaved = await loadServedModel(folder, { maxWaitMs: 0 });
    const replaced = await loadServedModel(folder, { maxWaitMs: 0, preprocess: 'photo' });
    assert.notEqual(asSaved.metadata.preprocessing.mode, 'photo');
    assert.equal(replaced.metadata.preprocessing.mode, 'photo');
    await Promise.all([asSaved, replaced].map(retireModel));
  });
});
