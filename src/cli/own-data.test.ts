/**
 * Your own images, end to end through the real binary: an RGB image folder drawn by the test
 * (JPEG, PNG and WebP of varying sizes) → `kiln train --data` → `kiln models register` →
 * `kiln serve` → `/predict` of JPEGs the model never saw; and `kiln start --data` (tuning,
 * registry, @champion, serving, UI) on the same folder.
 */
import assert from 'node:assert/strict';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Random } from '../common/random.js';
import { encodeShape, TEST_CLASSES, writeTestImageFolder } from '../data/test-shapes.js';
import { openStore } from '../tracking/store/index.js';
import { runKiln, spawnKiln } from './test-helpers.js';

/** JPEGs of each class drawn with another seed than the training folder's. */
async function unseenJpegs(perClass: number): Promise<{ label: string; bytes: Buffer }[]> {
  const rng = new Random(991);
  const images: { label: string; bytes: Buffer }[] = [];
  for (const [label, hue] of Object.entries(TEST_CLASSES)) {
    for (let i = 0; i < perClass; i++) images.push({ label, bytes: await encodeShape(rng, hue, 'jpeg') });
  }
  return images;
}

async function predictJpeg(apiUrl: string, bytes: Buffer): Promise<{ status: number; body: { prediction?: string; class_name?: string; probabilities?: Record<string, number> } }> {
  const form = new FormData();
  form.append('file', new Blob([bytes], { type: 'image/jpeg' }), 'unseen.jpg');
  const response = await fetch(`${apiUrl}/predict`, { method: 'POST', body: form });
  return { status: response.status, body: (await response.json()) as { prediction?: string } };
}

/** Starts a long-running kiln command (cli/test-helpers spawnKiln) and resolves with its first JSON stdout line. */
function startKiln(args: string[]): { first: Promise<Record<string, unknown>>; stop: () => Promise<number | null>; stderr: () => string } {
  const kiln = spawnKiln(args);
  const first = kiln.waitFor(/^\{/m).then(() => JSON.parse(kiln.stdout().split('\n').find((l) => l.startsWith('{'))!) as Record<string, unknown>);
  return {
    first,
    stderr: kiln.stderr,
    stop: async () => {
      kiln.child.kill('SIGINT');
      return kiln.exited;
    },
  };
}

describe('your own images, end to end', () => {
  let dir = '';
  let data = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-own-data-'));
    data = join(dir, 'shapes');
    await writeTestImageFolder(data, 60);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('kiln train --data <folder> → kiln models register → kiln serve → /predict of unseen JPEGs answers the class names', async () => {
    const home = join(dir, 'home-train');
    const trained = await runKiln(['train', '--data', data, '--image-size', '24', '--epochs', '6', '--seed', '3', '--home', home, '--json']);
    assert.equal(trained.code, 0, trained.stderr);
    const result = trained.json as { test_acc: number; run_id: string; model_path: string };
    assert.match(trained.stderr, /shapes.*3 classes.*180 images/s, 'the data line says what was loaded');
    assert.ok(result.test_acc >= 0.8, `test_acc ${result.test_acc}`);
    const metadata = JSON.parse(await readFile(join(result.model_path, 'kiln-model.json'), 'utf8')) as {
      inputShape: number[];
      classNames: string[];
      preprocessing: { colorMode: string; size: number[] };
      dataset: { name: string; digest: string };
    };
    assert.deepEqual(metadata.inputShape, [24, 24, 3]);
    assert.deepEqual(metadata.classNames, ['ember', 'moss', 'sky']);
    assert.deepEqual([metadata.preprocessing.colorMode, metadata.preprocessing.size], ['rgb', [24, 24]]);
    assert.equal(metadata.dataset.name, 'shapes');
    assert.match(metadata.dataset.digest, /^[0-9a-f]{64}$/);

    const again = await runKiln(['train', '--data', data, '--image-size', '24', '--epochs', '6', '--seed', '3', '--data-cache', 'folders', '--home', home, '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /images of shapes loaded from the cache in \d+ ms/);
    assert.equal((again.json as { test_acc: number }).test_acc, result.test_acc, 'same data + same seed = same metrics (the second run reads the cache)');
    const badCheck = await runKiln(['train', '--data', data, '--data-cache', 'trust', '--home', home, '--json']);
    assert.equal(badCheck.code, 2, badCheck.stderr);
    assert.match(badCheck.stderr, /--data-cache.*files, folders or rebuild/);

    const registered = await runKiln(['models', 'register', '--run', result.run_id, '--name', 'shapes', '--promote', '--home', home, '--json']);
    assert.equal(registered.code, 0, registered.stderr);

    const server = startKiln(['serve', '--model-uri', 'models:/shapes@champion', '--port', '0', '--home', home, '--json']);
    try {
      const { url } = (await server.first) as { url: string };
      const unseen = await unseenJpegs(10);
      let correct = 0;
      for (const { label, bytes } of unseen) {
        const { status, body } = await predictJpeg(url, bytes);
        assert.equal(status, 200, JSON.stringify(body));
        assert.ok(Object.keys(TEST_CLASSES).includes(String(body.prediction)), `answered ${JSON.stringify(body)}`);
        if (body.prediction === label) correct++;
      }
      assert.ok(correct >= 24, `${correct}/30 unseen JPEGs classified correctly`);
      const info = (await (await fetch(`${url}/info`)).json()) as Record<string, unknown>;
      assert.match(JSON.stringify(info), /ember/);
    } finally {
      await server.stop();
    }
  });

  test('kiln start --data <folder>: tuning, registry, @champion named after the data, serving and the UI', async () => {
    const home = join(dir, 'home-start');
    const started = startKiln(['start', '--data', data, '--image-size', '24', '--profile', 'seed', '--n-trials', '2', '--epochs', '3', '--port', '0', '--metrics-port', '0', '--serve-port', '0', '--home', home, '--json']);
    try {
      const result = (await started.first) as { version: string; promoted: boolean; test_acc: number; api_url: string; tracking_url: string; study: string };
      assert.equal(result.version, '1');
      assert.equal(result.promoted, true);
      assert.equal(result.study, 'shapes-seed');
      assert.ok(result.test_acc > 0.5, `test_acc ${result.test_acc}`);
      const [first] = await unseenJpegs(1);
      const { status, body } = await predictJpeg(result.api_url, first!.bytes);
      assert.equal(status, 200, JSON.stringify(body));
      assert.ok(Object.keys(TEST_CLASSES).includes(String(body.prediction)));
      assert.equal((await fetch(`${result.tracking_url}/`)).status, 200, 'the UI answers');
    } finally {
      assert.equal(await started.stop(), 0, started.stderr());
    }
    const store = await openStore(`sqlite:///${join(home, 'tracking.db')}`);
    try {
      const champion = await store.getModelVersionByAlias('shapes', 'champion');
      assert.equal(champion.version, '1');
    } finally {
      await store.close();
    }
  });
});
