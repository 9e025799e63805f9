/**
 * data/builtin — Fashion-MNIST as a LabelledDataset: today's verified loader (data/dataset)
 * unchanged, wrapped with an identity, so the rest of Kiln handles it like any user dataset.
 * No `validation`: training keeps splitting 55,000/5,000 off train with the run's seed.
 */
import { createHash } from 'node:crypto';
import { FASHION_MNIST_FILES } from './checksums.js';
import { type FashionMnist, labelHistogram } from './dataset.js';
import type { LabelledDataset } from './labelled.js';
import { FASHION_MNIST_MEAN, FASHION_MNIST_STD } from './normalize.js';

export const BUILTIN_DATASET = 'fashion-mnist';

/** sha256 over the four files' own sha256, in canonical file order. */
export function builtinDigest(sha256: Record<string, string>): string {
  const hash = createHash('sha256');
  for (const file of FASHION_MNIST_FILES) hash.update(`${file}:${sha256[file] ?? ''}\n`);
  return hash.digest('hex');
}

/** Wraps loaded Fashion-MNIST; the image sets are shared, not copied. */
export function fashionMnistDataset(data: FashionMnist): LabelledDataset {
  const classNames = [...data.classNames];
  return {
    identity: {
      name: BUILTIN_DATASET,
      digest: builtinDigest(data.sha256),
      source: BUILTIN_DATASET,
      sourceType: 'builtin',
      schema: { height: data.train.height, width: data.train.width, channels: 1, color: 'gray', classNames },
      counts: { train: labelHistogram(data.train.labels, classNames.length), test: labelHistogram(data.test.labels, classNames.length) },
    },
    train: data.train,
    test: data.test,
    classNames,
    normalization: { mean: FASHION_MNIST_MEAN, std: FASHION_MNIST_STD },
    sha256: data.sha256,
    sources: data.sources,
  };
}
