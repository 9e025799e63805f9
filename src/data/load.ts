/**
 * data/load — `loadDataset`, the one entry point from a `--data` spec to a LabelledDataset.
 *
 * Fashion-MNIST (the default) goes through today's verified loader unchanged. A user's own data
 * goes: catalog (folder or manifest: every file checked, all problems named at once) → decode
 * target (flags, else inferred from headers) → memory budget check → materialize (decode once,
 * cached by content digest) → splits (given folders/columns win, else stratified and seeded) →
 * normalization (flag, else mean/std of the train pixels) → float32 ImageSets. A load of own data
 * first lists the source without opening a file and stats each one (data/source-listing): when
 * data/load-cache remembers a load of exactly that listing with the same size/colour/skip options,
 * its tensors are used as they are, and catalog checks, inference and decoding are skipped (their
 * warnings and words are replayed from the record). IDX pairs skip the
 * catalog and the decode: their pixels are read as they are. Everything that can refuse a dataset
 * happens here, before any training starts.
 */
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { DataError, fixes } from './errors.js';
import { loadFashionMnist, type ImageSet } from './dataset.js';
import { fashionMnistDataset } from './builtin.js';
import type { ColorMode, DatasetIdentity, DecodeTarget, LabelledDataset, Normalization, SplitName } from './labelled.js';
import {
  DEFAULT_MAX_MEMORY_BYTES,
  DEFAULT_SPLIT_SEED,
  DEFAULT_TEST_SIZE,
  DEFAULT_VAL_SIZE,
  resolveDataSource,
  type DataOptions,
  type DataSource,
} from './data-spec.js';
import { listSource, statItems, type SourceListing } from './source-listing.js';
import { lookupByStamps, lookupLoad, recordLoad, type CachedLoad } from './load-cache.js';
import { checkClasses } from './catalog-checks.js';
import { inferTarget } from './infer.js';
import { materialize } from './materialize.js';
import { loadIdxSource } from './idx-source.js';
import { stratifiedSplit } from './stratify.js';
import { normalizePixel } from './normalize.js';

/** Decoded 8-bit pixels of every item, before splitting and normalizing. */
interface Decoded {
  pixels: Uint8Array;
  target: DecodeTarget;
  color: ColorMode;
  labels: Uint8Array;
  /** The split the source gives each item, if any. */
  given: (SplitName | undefined)[];
  /** Item names for messages (relative paths, or `<split> image #<index>` for IDX), made when first needed. */
  names: () => string[];
  /** Items with byte-identical content (file bytes, or pixels for IDX), to spot duplicates across splits. */
  duplicates: number[][];
}

/** Loads the dataset `options.data` names (Fashion-MNIST when absent). See the header. */
export async function loadDataset(options: DataOptions): Promise<LabelledDataset> {
  const source = await resolveDataSource(options.data);
  if (source.kind === 'builtin') return fashionMnistDataset(await loadFashionMnist({ dataDir: options.dataDir, log: options.log }));
  if (options.dataDir !== undefined) options.log?.(`data: --data-dir applies to fashion-mnist only; ignored for ${options.data}`);
  return source.kind === 'idx' ? loadIdx(source, options) : loadCatalog(source, options);
}

async function loadCatalog(source: Extract<DataSource, { kind: 'folder' | 'manifest' }>, options: DataOptions): Promise<LabelledDataset> {
  const log = options.log ?? (() => {});
  const started = performance.now();
  const cacheDir = join(options.home, 'cache', 'datasets');
  const key = { imageSize: options.imageSize, color: options.color, skipBadImages: options.skipBadImages };
  const check = options.cache ?? 'files';
  if (check === 'folders') {
    const hit = await lookupByStamps(cacheDir, resolve(source.path), key);
    if (hit) return loadCached(hit, options, started, ', folders unchanged');
  }
  const listing = await listSource(source);
  const { hit, numbers } = check === 'rebuild' ? { hit: null, numbers: statItems(listing.items) } : await lookupLoad(cacheDir, listing, key);
  if (hit) return loadCached(hit, options, started, '');

  const catalog = await listing.catalog({ skipBadImages: options.skipBadImages });
  for (const warning of catalog.warnings) log(`data: warning: ${warning}`);
  const inferred = await inferTarget(catalog.items.map((i) => i.path), options);
  checkMemory(catalog.source, catalog.items.length, inferred.target, inferred.color, options.maxMemoryBytes);
  const m = await materialize(catalog, inferred.target, {
    cacheDir,
    skipBadImages: options.skipBadImages,
    rebuild: check === 'rebuild',
    progress: options.progress ?? null,
    log,
  });
  if (m.bad.length > 0) log(badWarning(m.bad));
  checkClasses(catalog.source, catalog.classNames, m.items);
  const duplicates = duplicateGroups(m.sha256);
  if (numbers) {
    const kept = new Set(catalog.items.map((i) => i.relPath));
    const record = { digest: m.digest, target: inferred.target, color: inferred.color, description: inferred.description, warnings: catalog.warnings, skipped: listing.items.filter((i) => !kept.has(i.relPath)).map((i) => i.relPath), bad: m.bad, duplicates };
    // Not recorded (a read-only cache): the next load takes the full path again, and materialize has said so.
    await recordLoad(cacheDir, listing, key, numbers, record, m.items).catch(() => undefined);
  }
  const decoded: Decoded = {
    pixels: m.pixels,
    target: inferred.target,
    color: inferred.color,
    labels: Uint8Array.from(m.items, (i) => i.label),
    given: m.items.map((i) => i.split),
    names: () => m.items.map((i) => i.relPath),
    duplicates,
  };
  const identity = { name: catalog.name, digest: m.digest, source: catalog.source, sourceType: catalog.sourceType };
  return assemble(decoded, catalog.classNames, identity, { sha256: {}, sources: sourcesOf(listing) }, options, `${inferred.description}${m.fromCache ? '; decoded images from the cache' : ''}`);
}

/**
 * A load data/load-cache remembered, unchanged since: the same warnings, checks and log lines as
 * the full load that found the images in the tensor cache, with no file opened. `how` ends the
 * cache line (how it was found unchanged, when not by every file).
 */
function loadCached(hit: CachedLoad, options: DataOptions, started: number, how: string): LabelledDataset {
  const log = options.log ?? (() => {});
  const { record, listing, labels, given } = hit;
  for (const warning of record.warnings) log(`data: warning: ${warning}`);
  checkMemory(listing.source, labels.length + record.bad.length, record.target, record.color, options.maxMemoryBytes);
  const ms = Math.round(performance.now() - started);
  log(`data: ${labels.length.toLocaleString('en-US')} images of ${listing.name} loaded from the cache in ${ms} ms (digest ${record.digest.slice(0, 12)}${how})`);
  if (record.bad.length > 0) log(badWarning(record.bad));
  checkClasses(listing.source, listing.classNames, Array.from(labels, (label, i) => ({ label, split: given[i] })));
  const decoded: Decoded = { pixels: hit.pixels, target: record.target, color: record.color, labels, given, names: hit.names, duplicates: record.duplicates };
  const identity = { name: listing.name, digest: record.digest, source: listing.source, sourceType: listing.sourceType };
  return assemble(decoded, listing.classNames, identity, { sha256: {}, sources: sourcesOf(listing) }, options, `${record.description}; decoded images from the cache`);
}

/** Groups of two or more indices whose hashes are equal, in index order. */
export function duplicateGroups(hashes: readonly string[]): number[][] {
  const first = new Map<string, number[]>();
  for (let i = 0; i < hashes.length; i++) {
    const group = first.get(hashes[i]!);
    if (group) group.push(i);
    else first.set(hashes[i]!, [i]);
  }
  return [...first.values()].filter((group) => group.length > 1);
}

function sourcesOf(listing: Pick<SourceListing, 'sourceType' | 'source' | 'root'>): Record<string, string> {
  return listing.sourceType === 'folder' ? { root: listing.source } : { manifest: listing.source, root: listing.root };
}

function badWarning(bad: readonly { relPath: string; reason: string }[]): string {
  return `data: warning: skipped ${bad.length} image(s) that could not be decoded:\n${bad.map((b) => `  ${b.relPath}: ${b.reason}`).join('\n')}`;
}

async function loadIdx(source: Extract<DataSource, { kind: 'idx' }>, options: DataOptions): Promise<LabelledDataset> {
  const idx = await loadIdxSource(source.path, source.pairs ? { ...source.pairs, classes: source.classes } : undefined);
  const { height, width } = idx;
  if (options.imageSize && (options.imageSize[0] !== height || options.imageSize[1] !== width)) {
    throw new DataError('KILN_ERR_DATA_OPTION', '--image-size', `--image-size ${options.imageSize.join('x')}: the IDX images of ${idx.source} are ${height}x${width}, and IDX data is used at its own size.` +
      fixes([`--image-size ${height}x${width}    # or leave --image-size out`]));
  }
  const color = options.color ?? 'gray';
  const target: DecodeTarget = { height, width, channels: color === 'gray' ? 1 : 3 };
  const order: SplitName[] = ['train', 'validation', 'test'];
  const parts = order.flatMap((split) => (idx.splits[split] ? [{ split, ...idx.splits[split]! }] : []));
  const total = parts.reduce((n, p) => n + p.count, 0);
  checkMemory(idx.source, total, target, color, options.maxMemoryBytes);
  const decoded = idxDecoded(parts, target, color);
  checkClasses(idx.source, idx.classNames, Array.from(decoded.labels, (label, i) => ({ label, split: decoded.given[i] })));
  const spec = source.pairs ? `idx:${[source.pairs.images, source.pairs.labels, source.classes].filter(Boolean).join(',')}` : idx.source;
  const identity = { name: idx.name, digest: idx.digest, source: spec, sourceType: 'idx' as const };
  // The digest covers the file bytes at their own size; a colour expansion is a different tensor.
  if (color === 'rgb') identity.digest = createHash('sha256').update(`${idx.digest}\nrgb`).digest('hex');
  const description = options.color ? 'as stored (IDX), colour by --color' : 'as stored (IDX: gray)';
  return assemble(decoded, idx.classNames, identity, { sha256: idx.sha256, sources: idx.files }, options, description);
}

/** IDX parts as one Decoded (gray bytes, repeated into 3 channels for --color rgb). */
function idxDecoded(parts: { split: SplitName; pixels: Uint8Array; labels: Uint8Array; count: number }[], target: DecodeTarget, color: ColorMode): Decoded {
  const plane = target.height * target.width;
  const total = parts.reduce((n, p) => n + p.count, 0);
  const pixels = new Uint8Array(total * plane * target.channels);
  const labels = new Uint8Array(total);
  const given: SplitName[] = [];
  const names: string[] = [];
  const hashes: string[] = [];
  let at = 0;
  for (const part of parts) {
    for (let k = 0; k < part.count; k++, at++) {
      const gray = part.pixels.subarray(k * plane, (k + 1) * plane);
      if (target.channels === 1) pixels.set(gray, at * plane);
      else for (let p = 0; p < plane; p++) pixels.fill(gray[p], (at * plane + p) * 3, (at * plane + p) * 3 + 3);
      labels[at] = part.labels[k];
      given.push(part.split);
      names.push(`${part.split} image #${k}`);
      hashes.push(createHash('sha256').update(gray).digest('hex'));
    }
  }
  // A single IDX pair is a pool to split, not a given train split.
  const onlyTrain = parts.length === 1;
  return { pixels, target, color, labels, given: onlyTrain ? given.map(() => undefined) : given, names: () => names, duplicates: duplicateGroups(hashes) };
}

/**
 * Refuses, before decoding, a dataset whose float32 tensors would exceed the budget; the message
 * gives the size and the settings that shrink it.
 */
export function checkMemory(source: string, count: number, target: DecodeTarget, color: ColorMode, maxBytes = DEFAULT_MAX_MEMORY_BYTES): void {
  const bytesFor = (h: number, w: number, c: number): number => count * h * w * c * 4;
  const need = bytesFor(target.height, target.width, target.channels);
  if (need <= maxBytes) return;
  const mib = (bytes: number): string => {
    const m = bytes / 1024 ** 2;
    return `${m < 10 ? m.toFixed(2) : Math.round(m).toLocaleString('en-US')} MiB`;
  };
  const half: [number, number] = [Math.max(1, Math.floor(target.height / 2)), Math.max(1, Math.floor(target.width / 2))];
  const hints = [`--image-size ${half[0]}x${half[1]}    # ${mib(bytesFor(half[0], half[1], target.channels))}`];
  if (color === 'rgb') hints.push(`--color gray    # ${mib(bytesFor(target.height, target.width, 1))}`);
  hints.push(`--max-memory ${Math.ceil(need / 1024 ** 3)}GiB    # if this machine has the memory`);
  throw new DataError('KILN_ERR_DATA_TOO_LARGE', source,
    `${source}: ${count.toLocaleString('en-US')} images at ${target.height}x${target.width}x${target.channels} take ${mib(need)} as float32, more than the ${mib(maxBytes)} budget (--max-memory).` + fixes(hints));
}

/** Which items go to which split: the source's own splits win; the rest is split, stratified and seeded. */
export function assignSplits(labels: Uint8Array, given: readonly (SplitName | undefined)[], numClasses: number, options: Pick<DataOptions, 'valSize' | 'testSize' | 'splitSeed'>): Record<SplitName, number[]> {
  const out: Record<SplitName, number[]> = { train: [], validation: [], test: [] };
  const pool: number[] = [];
  given.forEach((split, i) => (split === undefined || split === 'train' ? pool.push(i) : out[split].push(i)));
  const split = stratifiedSplit(pool.map((i) => labels[i]), numClasses, {
    test: out.test.length > 0 ? undefined : (options.testSize ?? DEFAULT_TEST_SIZE),
    validation: out.validation.length > 0 ? undefined : (options.valSize ?? DEFAULT_VAL_SIZE),
  }, options.splitSeed ?? DEFAULT_SPLIT_SEED);
  for (const name of ['train', 'validation', 'test'] as const) out[name].push(...split[name].map((k) => pool[k]));
  for (const name of ['validation', 'test'] as const) out[name].sort((a, b) => a - b);
  return out;
}

/** Mean and std of the pixels of `indices` (x/255, all channels), rounded to 4 decimals. */
export function computeNormalization(pixels: Uint8Array, size: number, indices: readonly number[]): Normalization {
  const histogram = pixelHistogram(pixels, size, indices);
  let n = 0;
  let sum = 0;
  let squares = 0;
  for (let v = 0; v < 256; v++) {
    n += histogram[v];
    sum += (histogram[v] * v) / 255;
    squares += histogram[v] * (v / 255) ** 2;
  }
  const mean = n > 0 ? sum / n : 0;
  const std = n > 0 ? Math.sqrt(Math.max(0, squares / n - mean * mean)) : 0;
  const round = (x: number): number => Math.round(x * 1e4) / 1e4;
  // A constant image set has no spread; dividing by 1 keeps it finite (and it will not learn anyway).
  return { mean: round(mean), std: round(std) > 0 ? round(std) : 1 };
}

/**
 * How many pixels of `indices` have each value. Four interleaved integer counters (independent
 * increments pipeline; one counter's chain of loads and stores does not), flushed into float64
 * before a counter could overflow: ~0.6x the time of one float64 histogram, and the same counts.
 */
function pixelHistogram(pixels: Uint8Array, size: number, indices: readonly number[]): Float64Array {
  const histogram = new Float64Array(256);
  const lanes = new Uint32Array(1024);
  const flush = (): void => {
    for (let v = 0; v < 256; v++) histogram[v] += lanes[v] + lanes[256 + v] + lanes[512 + v] + lanes[768 + v];
    lanes.fill(0);
  };
  let counted = 0;
  for (const i of indices) {
    let p = i * size;
    const end = p + size;
    for (; p + 3 < end; p += 4) {
      lanes[pixels[p]]++;
      lanes[256 + pixels[p + 1]]++;
      lanes[512 + pixels[p + 2]]++;
      lanes[768 + pixels[p + 3]]++;
    }
    for (; p < end; p++) lanes[pixels[p]]++;
    counted += size;
    if (counted >= 2 ** 31) {
      flush();
      counted = 0;
    }
  }
  flush();
  return histogram;
}

/** The normalized float32 images of `indices`, through a 256-entry lookup table, straight from the 8-bit pixels (no intermediate copy). */
export function toImageSet(d: Decoded, indices: readonly number[], normalization: Normalization): ImageSet {
  const { height, width, channels } = d.target;
  const size = height * width * channels;
  const table = new Float32Array(256);
  for (let v = 0; v < 256; v++) table[v] = normalizePixel(v, normalization.mean, normalization.std);
  const images = new Float32Array(indices.length * size);
  const labels = new Uint8Array(indices.length);
  const { pixels } = d;
  for (let k = 0, to = 0; k < indices.length; k++) {
    const i = indices[k];
    for (let from = i * size, end = from + size; from < end; from++, to++) images[to] = table[pixels[from]];
    labels[k] = d.labels[i];
  }
  return { images, labels, count: indices.length, height, width, channels };
}

/** Warns when test (or validation) items are byte-identical to training items: their scores flatter the model. */
function duplicateWarning(d: Decoded, splits: Record<SplitName, number[]>): string | null {
  if (d.duplicates.length === 0) return null;
  const groupOf = new Int32Array(d.labels.length).fill(-1);
  d.duplicates.forEach((group, g) => group.forEach((i) => (groupOf[i] = g)));
  // The first training item of each group (in training order) stands for it in the examples.
  const train = new Map<number, number>();
  for (const i of splits.train) if (groupOf[i] >= 0 && !train.has(groupOf[i])) train.set(groupOf[i], i);
  const found: string[] = [];
  const pairs: [number, number][] = [];
  for (const name of ['test', 'validation'] as const) {
    const dupes = splits[name].filter((i) => train.has(groupOf[i]));
    if (dupes.length > 0) found.push(`${dupes.length.toLocaleString('en-US')} of ${splits[name].length.toLocaleString('en-US')} ${name} images`);
    for (const i of dupes.slice(0, 3)) pairs.push([i, train.get(groupOf[i])!]);
  }
  if (found.length === 0) return null;
  const names = d.names();
  return `${found.join(' and ')} are identical to training images (their scores will be optimistic), e.g.:\n${pairs.map(([i, t]) => `  ${names[i]} = ${names[t]}`).join('\n')}`;
}

/**
 * The dataset's identity digest: the items' content digest (files, labels, size, colour) with the
 * split each item landed in and the normalization, so two runs share a digest only when they saw
 * the same tensors in the same roles (a different --split-seed is a different test set).
 */
function identityDigest(contentDigest: string, splits: Record<SplitName, number[]>, normalization: Normalization): string {
  const hash = createHash('sha256').update(`${contentDigest}\nnormalization ${normalization.mean} ${normalization.std}\n`);
  for (const name of ['train', 'validation', 'test'] as const) hash.update(`${name}:`).update(new Uint8Array(Uint32Array.from(splits[name]).buffer)).update('\n');
  return hash.digest('hex');
}

function assemble(
  d: Decoded,
  classNames: string[],
  id: Pick<DatasetIdentity, 'name' | 'digest' | 'source' | 'sourceType'>,
  files: { sha256: Record<string, string>; sources: Record<string, string> },
  options: DataOptions,
  description: string,
): LabelledDataset {
  const log = options.log ?? (() => {});
  const splits = assignSplits(d.labels, d.given, classNames.length, options);
  const duplicates = duplicateWarning(d, splits);
  if (duplicates) log(`data: warning: ${duplicates}`);
  const size = d.target.height * d.target.width * d.target.channels;
  const normalization = options.normalize ?? computeNormalization(d.pixels, size, splits.train);
  const perClass = (indices: number[]): number[] => {
    const counts = new Array<number>(classNames.length).fill(0);
    for (const i of indices) counts[d.labels[i]]++;
    return counts;
  };
  const schema = { height: d.target.height, width: d.target.width, channels: d.target.channels, color: d.color, classNames: [...classNames] };
  const identity: DatasetIdentity = { ...id, digest: identityDigest(id.digest, splits, normalization), schema, counts: { train: perClass(splits.train), validation: perClass(splits.validation), test: perClass(splits.test) } };
  const fmt = (n: number): string => n.toLocaleString('en-US');
  const total = splits.train.length + splits.validation.length + splits.test.length;
  log(`data: ${options.data} (${id.sourceType}, ${classNames.length} classes, ${fmt(total)} images: train ${fmt(splits.train.length)} / val ${fmt(splits.validation.length)} / test ${fmt(splits.test.length)}), ` +
    `${d.target.height}x${d.target.width} ${d.color} (${description}), normalization mean ${normalization.mean} std ${normalization.std}${options.normalize ? ' (given)' : ' (train pixels)'}`);
  return {
    identity,
    train: toImageSet(d, splits.train, normalization),
    validation: toImageSet(d, splits.validation, normalization),
    test: toImageSet(d, splits.test, normalization),
    classNames: [...classNames],
    normalization,
    sha256: files.sha256,
    sources: files.sources,
  };
}
