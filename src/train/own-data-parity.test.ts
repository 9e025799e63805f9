/**
 * Parity of a user's own images with the built-in source: 4,000 canonical Fashion-MNIST images are
 * written out as PNG files (class folders with train/val/test, and a CSV manifest listing the same
 * files in the canonical order). Loaded through `--data`, they must give exactly the pixels and
 * labels of the built-in source, and the same seed must give exactly the same metrics.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REAL_DATA, SKIP_WITHOUT_DATA } from '../cli/test-helpers.js';
import {
  CLASS_NAMES,
  denormalizePixels,
  FASHION_MNIST_MEAN,
  FASHION_MNIST_STD,
  fashionMnistDataset,
  type ImageSet,
  type LabelledDataset,
  loadDataset,
  loadFashionMnist,
  splitIndices,
  subsetImageSet,
} from '../data/index.js';
import { writeImage } from '../data/test-images.js';
import { initEngine } from '../engine/index.js';
import { DEFAULT_TRAINING } from './config.js';
import { runTraining } from './run-training.js';

const TRAIN = 3000;
const TEST = 1000;
const VALIDATION = 300;
const SEED = 42;
const FASHION_MNIST = { mean: FASHION_MNIST_MEAN, std: FASHION_MNIST_STD };
/** Folder names that sort in label order: "0-T-shirt-top", "1-Trouser", … */
const folderOf = (label: number): string => `${label}-${CLASS_NAMES[label]!.replace(/\W+/g, '-')}`;

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** Writes every image of `set` under <split>/<class>/, where `splitOf` puts it (train, val or test), and its manifest row. */
async function writeSplit(root: string, set: ImageSet, rows: string[], splitOf: (i: number) => string): Promise<void> {
  const size = set.height * set.width;
  await Promise.all(
    range(set.count).map(async (i) => {
      const path = `${splitOf(i)}/${folderOf(set.labels[i]!)}/${String(i).padStart(5, '0')}.png`;
      const pixels = denormalizePixels(set.images.subarray(i * size, (i + 1) * size));
      await writeImage(join(root, path), { width: set.width, height: set.height, channels: 1, format: 'png', seed: 0 }, pixels);
      rows[i] = `${path},${folderOf(set.labels[i]!)},${splitOf(i)}`;
    }),
  );
}

describe('Fashion-MNIST written as PNG files trains exactly like the built-in source', { skip: SKIP_WITHOUT_DATA }, () => {
  let dir = '';
  let builtin: LabelledDataset;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-parity-'));
    await initEngine({ quiet: true });
    const all = fashionMnistDataset(await loadFashionMnist({ dataDir: REAL_DATA }));
    builtin = { ...all, train: subsetImageSet(all.train, range(TRAIN)), test: subsetImageSet(all.test, range(TEST)) };
    // The built-in source's validation images for this seed go to val/, the rest to train/.
    const validation = new Set(splitIndices(TRAIN, VALIDATION, SEED).validationIndices);
    const trainRows: string[] = [];
    const testRows: string[] = [];
    await writeSplit(join(dir, 'data'), builtin.train, trainRows, (i) => (validation.has(i) ? 'val' : 'train'));
    await writeSplit(join(dir, 'data'), builtin.test, testRows, () => 'test');
    await writeFile(join(dir, 'data', 'manifest.csv'), ['path,label,split', ...trainRows, ...testRows].join('\n'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('the manifest (canonical order): the same pixels, labels and split; the same seed gives the same metrics', async () => {
    const own = await loadDataset({ data: join(dir, 'data', 'manifest.csv'), home: join(dir, 'home'), normalize: FASHION_MNIST });
    assert.deepEqual(own.classNames, CLASS_NAMES.map((_, label) => folderOf(label)));
    assert.deepEqual(own.identity.schema, { height: 28, width: 28, channels: 1, color: 'gray', classNames: [...own.classNames] });
    const { trainIndices, validationIndices } = splitIndices(TRAIN, VALIDATION, SEED);
    const expected = { train: subsetImageSet(builtin.train, trainIndices), validation: subsetImageSet(builtin.train, validationIndices), test: builtin.test };
    for (const split of ['train', 'validation', 'test'] as const) {
      const mine = own[split]!;
      assert.equal(mine.count, expected[split].count, split);
      assert.deepEqual(mine.labels, expected[split].labels, `${split} labels`);
      assert.ok(Buffer.from(mine.images.buffer, mine.images.byteOffset, mine.images.byteLength).equals(Buffer.from(expected[split].images.buffer)), `${split} pixels`);
    }

    const config = { ...DEFAULT_TRAINING, spec: { kind: 'mlp' as const, hiddenUnits: [64], dropout: 0.2 }, epochs: 2, patience: null, seed: SEED, validationSize: VALIDATION, home: join(dir, 'home') };
    const fromBuiltin = await runTraining({ ...config, outDir: join(dir, 'model-builtin') }, { data: builtin });
    const fromFiles = await runTraining({ ...config, outDir: join(dir, 'model-files') }, { data: own });
    assert.ok(fromBuiltin.test_acc !== null && fromBuiltin.test_acc > 0.6, `test_acc ${String(fromBuiltin.test_acc)}`);
    assert.deepEqual(
      [fromFiles.test_acc, fromFiles.test_loss, fromFiles.val_acc, fromFiles.val_loss, fromFiles.history.map((e) => e.train_loss)],
      [fromBuiltin.test_acc, fromBuiltin.test_loss, fromBuiltin.val_acc, fromBuiltin.val_loss, fromBuiltin.history.map((e) => e.train_loss)],
    );
  });

  test('the class folders: every image with its label and split, pixel for pixel', async () => {
    const own = await loadDataset({ data: join(dir, 'data'), home: join(dir, 'home'), normalize: FASHION_MNIST });
    assert.deepEqual([own.train.count, own.validation?.count, own.test.count], [TRAIN - VALIDATION, VALIDATION, TEST]);
    // Folders list class by class: compare each image by its content, as a multiset per split.
    const keyed = (set: ImageSet): string[] => {
      const size = set.height * set.width;
      return range(set.count).map((i) => `${set.labels[i]}:${Buffer.from(set.images.slice(i * size, (i + 1) * size).buffer).toString('base64')}`).sort();
    };
    const { trainIndices, validationIndices } = splitIndices(TRAIN, VALIDATION, SEED);
    assert.deepEqual(keyed(own.train), keyed(subsetImageSet(builtin.train, trainIndices)));
    assert.deepEqual(keyed(own.validation!), keyed(subsetImageSet(builtin.train, validationIndices)));
    assert.deepEqual(keyed(own.test), keyed(builtin.test));
  });
});
