/**
 * data — the datasets Kiln learns from: Fashion-MNIST (built in, the default) and a user's own labelled
 * images (folders, manifests, IDX files), found, verified, decoded, cached, split, augmented and batched.
 *
 * This area owns everything between "bytes somewhere on disk or on a mirror" and "a batch of
 * normalized floats for the trainer". Modules, one concept each:
 *   errors.ts     DataError with stable codes KILN_ERR_DATA_{NOT_FOUND,CHECKSUM,TRUNCATED,FORMAT};
 *                 messages name the file, expected vs found, and the commands that fix it.
 *   checksums.ts  pinned sha256 (and upstream md5) of the four decompressed IDX files.
 *   idx.ts        IDX reader (gzip detected by magic 1f 8b; magic, 28x28, length checks).
 *   sources.ts    an explicit dataDir / $KILN_DATA_DIR alone (missing files are an error); else /usr/share/datasets/fashion-mnist (Debian
 *                 package) → cache dir → download (S3 mirror, then GitHub) with retries (jittered backoff),
 *                 atomic cache writes. Every file is verified against the pins before use.
 *   normalize.ts  (x/255 - 0.2860)/0.3530 normalization, constants for model metadata, class names.
 *   dataset.ts    ImageSet, loadFashionMnist, seeded splitTrainValidation (55,000/5,000 by default).
 *   augment.ts    seeded in-place batch augmentation (rotation with bilinear sampling, horizontal flip).
 *   labelled.ts   LabelledDataset, the one interface every source produces (plus Catalog/Materialized).
 *   builtin.ts    Fashion-MNIST wrapped as a LabelledDataset.
 *   samples.ts    a few images per class back out of the tensors, as PNG (the run's dataset samples).
 *   batches.ts    epoch iterator (seeded shuffle, reused buffers by default, dropLast, optional augment).
 *   data-spec.ts  DataOptions, --data / --image-size / --val-size / --max-memory parsing and defaults.
 *   catalog-folder.ts, catalog-manifest.ts  a folder (ImageFolder) or CSV/JSONL manifest as a Catalog;
 *                 catalog-checks.ts: ignored files, non-images, symlinks out of the root, class checks.
 *   idx-source.ts IDX pairs (+ classes.txt) of any size as pixels per split.
 *   infer.ts      decode size/colour from the flags, else from sampled image headers.
 *   materialize.ts a Catalog decoded to a DecodeTarget (8-bit HWC), sha256 per file, content digest,
 *                 every bad image named (KILN_ERR_DATA_BAD_IMAGES) or skipped; cached after the first time.
 *   decode-pool.ts, decode-job.ts, decode-worker.ts  the first decode on every core: worker threads
 *                 read, hash and (fast gray PNG path) decode each file once; sharp decodes the rest.
 *   tensor-cache.ts decoded tensors under <cacheDir>/<digest>.bin, found again through a per-source
 *                 listing fingerprint (relPath, label, split, size, mtime, ctime): a hit only stats files.
 *   tensor-file.ts the <digest>.bin format: header, 8-bit pixels, item lines; a checked and a trusted reader.
 *   source-listing.ts a folder or manifest listed without opening a file, one stat per file, and
 *                 the fingerprint of both (structure, relPath, label, split, size, mtime, ctime, ino);
 *                 the folders' stamps (--data-cache folders: one stat per folder, nothing listed).
 *   load-cache.ts a whole load remembered per source and --image-size/--color/--skip-bad-images
 *                 (fingerprint, stamps, digest, inferred target, warnings, labels): a hit skips
 *                 checks, inference and decode; --data-cache says which check finds it.
 *   progress.ts   the first decode's progress bar (TTY) or log lines.
 *   stratify.ts   seeded stratified train/validation/test split.
 *   load.ts       loadDataset(options): spec → LabelledDataset (Fashion-MNIST unchanged by default).
 *
 * Typical use:
 *   const dataset = await loadDataset({ data: './pets', home, log: console.log }); // any source
 *   const data = await loadFashionMnist({ log: console.log });
 *   const { train, validation } = splitTrainValidation(data.train, { seed: 42 });
 *   for (const { x, y, size } of batches(train, { batchSize: 128, shuffle: true, rng: epochRng })) { ... }
 *
 * Differences from the suggested API: loadFashionMnist takes more (injectable) options
 * (debianDir, retryDelayMs, timeoutMs, env, and expectedSha256 for test fixtures only) and
 * returns sourceKinds/classNames/normalization too; splitTrainValidation also returns the
 * chosen indices; batches accepts an `rng` (one fork per epoch), `fresh` and `augment`.
 * No other area should read dataset files itself.
 */
export { DataError, type DataErrorCode } from './errors.js';
export {
  FASHION_MNIST_FILES,
  FASHION_MNIST_SHA256,
  FASHION_MNIST_MD5,
  FASHION_MNIST_COUNTS,
  type FashionMnistFile,
  sha256Hex,
} from './checksums.js';
export {
  IDX_MAGIC_IMAGES,
  IDX_MAGIC_LABELS,
  type IdxData,
  type IdxKind,
  isGzip,
  decompressIfGzip,
  parseIdx,
  encodeIdx,
} from './idx.js';
export {
  DEFAULT_MIRRORS,
  DEBIAN_DATA_DIR,
  type SourceKind,
  type SourceOptions,
  type VerifiedFile,
  defaultCacheDir,
  mirrorUrl,
  obtainFile,
  checkDataDir,
  verifyFileBytes,
  writeFileAtomic,
} from './sources.js';
export {
  FASHION_MNIST_MEAN,
  FASHION_MNIST_STD,
  FASHION_MNIST_NORMALIZATION,
  NORMALIZED_ZERO,
  IMAGE_HEIGHT,
  IMAGE_WIDTH,
  IMAGE_SIZE,
  CLASS_NAMES,
  NUM_CLASSES,
  normalizePixel,
  normalizePixels,
  denormalizePixels,
} from './normalize.js';
export {
  type ImageSet,
  type FashionMnist,
  type LoadOptions,
  type SplitResult,
  loadFashionMnist,
  splitTrainValidation,
  splitIndices,
  subsetImageSet,
  labelHistogram,
} from './dataset.js';
export {
  type ColorMode,
  type SplitName,
  type DatasetSchema,
  type DatasetIdentity,
  type Normalization,
  type LabelledDataset,
  type CatalogItem,
  type Catalog,
  type DecodeTarget,
  type Materialized,
} from './labelled.js';
export { BUILTIN_DATASET, builtinDigest, fashionMnistDataset } from './builtin.js';
export {
  DEFAULT_SAMPLES_PER_CLASS,
  type SampleImage,
  type SampleSource,
  safeClassName,
  sampleFolder,
  sampleIndices,
  imageBytes,
  encodePng,
  datasetSamples,
} from './samples.js';
export { type AugmentOptions, augmentBatch } from './augment.js';
export { type Batch, type BatchOptions, batches, epochOrder } from './batches.js';
export {
  type DataOptions,
  type DataSource,
  type DataFlags,
  dataOptionsFromFlags,
  DEFAULT_VAL_SIZE,
  DEFAULT_TEST_SIZE,
  DEFAULT_SPLIT_SEED,
  DEFAULT_MAX_MEMORY_BYTES,
  MAX_INFERRED_SIDE,
  parseImageSize,
  parseColor,
  parseSplitSize,
  parseByteSize,
  datasetName,
  resolveDataSource,
} from './data-spec.js';
export { catalogFolder } from './catalog-folder.js';
export { catalogManifest, parseCsv } from './catalog-manifest.js';
export { type IdxDataset, loadIdxSource } from './idx-source.js';
export { type Inferred, inferTarget } from './infer.js';
export { type StratifiedSplit, stratifiedSplit } from './stratify.js';
export { loadDataset, checkMemory } from './load.js';
export { type BadImage, type MaterializeOptions, datasetDigest, materialize } from './materialize.js';
