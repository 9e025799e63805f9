/**
 * data/materialize — a user dataset's Catalog decoded to one DecodeTarget: the 8-bit HWC pixels
 * of every item back to back, each file's sha256 and the dataset's content digest.
 *
 * Every image is decoded as imaging/decode's decodeFixed decodes it (the same conversion serving
 * applies to an upload, so a model sees the same pixels in training and in production): each file
 * is read once, hashed and decoded on every core (data/decode-pool), and the result is cached
 * (data/tensor-cache), so a second load only stats the files and reads one file. Bad images are all
 * collected before anything is reported: one error names every file that failed and why, or,
 * with skipBadImages, they are dropped and listed in `bad`.
 */
import { createHash } from 'node:crypto';
import { decodeAll } from './decode-pool.js';
import { DataError, fixes } from './errors.js';
import type { Catalog, CatalogItem, DecodeTarget, Materialized } from './labelled.js';
import { decodeProgress } from './progress.js';
import { hasIndex, listingFingerprint, readCache, statListing, writeCache } from './tensor-cache.js';

export interface MaterializeOptions {
  /** Where decoded tensors are cached (<home>/cache/datasets). */
  cacheDir: string;
  /** Drop undecodable images (listed in `bad`) instead of failing. */
  skipBadImages?: boolean;
  /** Decode every image even when the cache holds them (then overwrite the cache). */
  rebuild?: boolean;
  /** A TTY gets a progress bar during the first decode; anything else gets log lines. */
  progress?: NodeJS.WritableStream | null;
  log?: (line: string) => void;
  /** Decode worker threads (default: one per core for large catalogs, none for small ones; 0: none). */
  workers?: number;
}

/** One bad image: the file (relative to the root) and what was wrong with it. */
export interface BadImage {
  relPath: string;
  reason: string;
}

const byRelPath = (a: { relPath: string }, b: { relPath: string }): number => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0);

/**
 * Content digest: sha256 over the items sorted by relPath (so listing order does not matter) of
 * `relPath \t label \t split \t sha256 \n`, then `HxWxC`. Same digest = same tensors.
 */
export function datasetDigest(items: readonly CatalogItem[], sha256: readonly string[], target: DecodeTarget): string {
  const rows = items.map((item, i) => ({ relPath: item.relPath, line: `${item.relPath}\t${item.label}\t${item.split ?? ''}\t${sha256[i]}\n` }));
  // Catalogs are usually listed sorted already: checking is cheaper than sorting 60,000 rows.
  if (!rows.every((row, i) => i === 0 || byRelPath(rows[i - 1]!, row) <= 0)) rows.sort(byRelPath);
  const hash = createHash('sha256');
  for (let start = 0; start < rows.length; start += 4096) hash.update(rows.slice(start, start + 4096).map((row) => row.line).join(''));
  hash.update(`${target.height}x${target.width}x${target.channels}`);
  return hash.digest('hex');
}

/** The error naming every image that could not be decoded. */
export function badImagesError(catalog: Catalog, bad: readonly BadImage[]): DataError {
  const lines = bad.map((b) => `  ${b.relPath}: ${b.reason}`).join('\n');
  return new DataError(
    'KILN_ERR_DATA_BAD_IMAGES',
    bad[0]?.relPath ?? catalog.source,
    `${bad.length} of ${catalog.items.length} images in ${catalog.source} could not be decoded:\n${lines}` +
      fixes(['fix or remove these files', 'or pass --skip-bad-images to train without them (they are counted and listed)']),
  );
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Decodes every catalog item to `target`, or loads the result of an earlier decode from the cache
 * when no file changed (see data/tensor-cache). Bad images are all collected first; see the header.
 */
export async function materialize(catalog: Catalog, target: DecodeTarget, options: MaterializeOptions): Promise<Materialized> {
  const log = options.log ?? (() => undefined);
  const started = performance.now();
  const { cacheDir } = options;
  // Stat before reading, so that a file changed meanwhile misses the next time; with no index for
  // this source, there is nothing to compare with, and the first decode takes the facts itself.
  if (!options.rebuild && hasIndex(cacheDir, catalog.source, target)) {
    const hit = await readCache(cacheDir, catalog.source, target, catalog.items);
    if (hit) {
      if (hit.bad.length > 0 && !options.skipBadImages) throw badImagesError(catalog, hit.bad);
      const ms = Math.round(performance.now() - started);
      log(`data: ${hit.kept.length.toLocaleString('en-US')} images of ${catalog.name} loaded from the cache in ${ms} ms (digest ${hit.digest.slice(0, 12)})`);
      return { pixels: hit.pixels, items: hit.kept.map((i) => catalog.items[i]!), sha256: hit.sha256, digest: hit.digest, bad: hit.bad, fromCache: true };
    }
  }
  const { result, facts } = await decodeCatalog(catalog, target, options);
  // Cached even when bad images make this call fail: the rerun with --skip-bad-images is then instant.
  const numbers = completeFacts(catalog.items, facts);
  if (numbers) {
    const fingerprint = listingFingerprint(catalog.items, numbers);
    const entry = { source: catalog.source, target, fingerprint, digest: result.digest, items: result.items, sha256: result.sha256, pixels: result.pixels, bad: result.bad };
    await writeCache(cacheDir, entry).catch((error: unknown) => log(`data: could not cache the decoded images in ${cacheDir} (${reasonOf(error)}); the next load decodes again`));
  }
  if (result.bad.length > 0 && !options.skipBadImages) throw badImagesError(catalog, result.bad);
  return result;
}

/** The decode's per-file facts, with files it could not open stat'ed here; null if one cannot be. */
function completeFacts(items: readonly CatalogItem[], facts: Float64Array): Float64Array | null {
  for (let i = 0; i < items.length; i++) {
    if (!Number.isNaN(facts[i * 3])) continue;
    const one = statListing([items[i]!]);
    if (!one) return null;
    facts.set(one, i * 3);
  }
  return facts;
}

/** The first decode: every file read once, hashed and decoded on every core (data/decode-pool). */
async function decodeCatalog(catalog: Catalog, target: DecodeTarget, options: MaterializeOptions): Promise<{ result: Materialized; facts: Float64Array }> {
  const items = catalog.items;
  const progress = decodeProgress(catalog.name, items.length, options.progress, options.log ?? (() => undefined));
  const pool = await decodeAll(
    items.map((item) => item.path),
    target,
    { onProgress: (done) => progress.update(done), ...(options.workers === undefined ? {} : { workers: options.workers }) },
  );
  progress.finish(items.length);
  const size = target.height * target.width * target.channels;
  const kept: number[] = [];
  const bad: BadImage[] = [];
  items.forEach((item, i) => {
    const failure = pool.failures[i];
    if (failure === null || failure === undefined) kept.push(i);
    else bad.push({ relPath: item.relPath, reason: failure });
  });
  // A plain (not shared) buffer holding only the kept images.
  const pixels = new Uint8Array(kept.length * size);
  if (kept.length === items.length) pixels.set(pool.pixels);
  else kept.forEach((index, k) => pixels.set(pool.pixels.subarray(index * size, (index + 1) * size), k * size));
  const keptItems = kept.map((i) => items[i]!);
  const sha256 = kept.map((i) => pool.sha256[i]!);
  return { result: { pixels, items: keptItems, sha256, digest: datasetDigest(keptItems, sha256, target), bad, fromCache: false }, facts: pool.facts };
}
