/**
 * data/tensor-cache — decoded datasets on disk, so only the first load of a dataset decodes.
 *
 * Two files, both written atomically (temp file + rename):
 *   <cacheDir>/<digest>.bin  the tensors, keyed by content (data/tensor-file).
 *   <cacheDir>/by-source/<hash of source + target>.json  maps a source to its digest through a
 *                            listing fingerprint: a sha256 over every item's relPath, label, split,
 *                            size, mtime and ctime, in catalog order (a hash, not the list, so that
 *                            checking it costs no JSON parsing of 60,000 entries).
 * A load that finds a matching fingerprint only stats the files and reads one .bin: no hashing, no
 * decoding. A changed, added or removed file, or a relabelled one, changes the fingerprint and
 * misses. Anything unreadable, truncated or inconsistent is a miss (the caller decodes again and
 * overwrites it), never an error. data/load-cache's records (by-load/) name .bin files too, but
 * do not keep them: a record whose tensors were deleted here is a miss there.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CatalogItem, DecodeTarget } from './labelled.js';
import { writeFileAtomic } from './sources.js';
import { parseTensorFile, readTensorFileTrusted, readWholeFile, sameTarget, writeTensorFile, type TensorFile } from './tensor-file.js';

const FORMAT = 1;

/** A bad image recorded with the cache entry (skipped when it was written). */
export interface CachedBadImage {
  relPath: string;
  reason: string;
}

/** What a hit gives back: the kept items' pixels and hashes, and the images skipped as bad. */
export interface CacheHit {
  digest: string;
  pixels: Uint8Array;
  sha256: string[];
  /** Catalog indices of the kept items, in order. */
  kept: number[];
  bad: CachedBadImage[];
}

interface IndexFile {
  format: number;
  source: string;
  target: DecodeTarget;
  fingerprint: string;
  digest: string;
  /** relPath of every image skipped as bad. */
  bad: CachedBadImage[];
}

/** The index file of a source decoded to a target. */
export function indexPath(cacheDir: string, source: string, target: DecodeTarget): string {
  const key = createHash('sha256').update(`${source}\n${target.height}x${target.width}x${target.channels}`).digest('hex').slice(0, 32);
  return join(cacheDir, 'by-source', `${key}.json`);
}

export function tensorPath(cacheDir: string, digest: string): string {
  return join(cacheDir, `${digest}.bin`);
}

/**
 * Each item's size, mtimeMs and ctimeMs at [i * 3], from stat; null when a file cannot be stat'ed
 * (then nothing is cached or read from the cache).
 */
export function statListing(items: readonly CatalogItem[]): Float64Array | null {
  const numbers = new Float64Array(items.length * 3);
  for (let i = 0; i < items.length; i++) {
    const stat = statSync(items[i]!.path, { throwIfNoEntry: false });
    if (!stat) return null;
    numbers[i * 3] = stat.size;
    numbers[i * 3 + 1] = stat.mtimeMs;
    numbers[i * 3 + 2] = stat.ctimeMs;
  }
  return numbers;
}

/** sha256 over every item's relPath, label, split and its statListing numbers (as raw float64s: formatting them as text costs more than the stats). */
export function listingFingerprint(items: readonly CatalogItem[], numbers: Float64Array): string {
  const hash = createHash('sha256');
  for (let start = 0; start < items.length; start += 4096) {
    hash.update(items.slice(start, start + 4096).map((item) => `${item.relPath}\t${item.label}\t${item.split ?? ''}\n`).join(''));
  }
  return hash.update(new Uint8Array(numbers.buffer, numbers.byteOffset, numbers.byteLength)).digest('hex');
}

/** Whether an index exists for this source and target (if not, a load need not stat anything first). */
export function hasIndex(cacheDir: string, source: string, target: DecodeTarget): boolean {
  return existsSync(indexPath(cacheDir, source, target));
}

/** A small JSON file, read synchronously (a thread-pool round trip costs more than the read); null if unreadable. */
function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch {
    return null;
  }
}

function isIndex(value: unknown): value is IndexFile {
  const v = value as Partial<IndexFile> | null;
  return Boolean(v && v.format === FORMAT && typeof v.fingerprint === 'string' && typeof v.digest === 'string' && /^[0-9a-f]{64}$/.test(v.digest) && Array.isArray(v.bad) && v.target);
}

/**
 * The cached tensors of `items` (a catalog's, in order) from `source`, or null on any miss.
 * The tensor file is read on libuv's thread pool while this thread stats every item for the
 * fingerprint, so a hit costs about the stats alone.
 */
export async function readCache(cacheDir: string, source: string, target: DecodeTarget, items: readonly CatalogItem[]): Promise<CacheHit | null> {
  const index = readJson(indexPath(cacheDir, source, target));
  if (!isIndex(index) || !sameTarget(index.target, target)) return null;
  const reading = readWholeFile(tensorPath(cacheDir, index.digest));
  const numbers = statListing(items);
  const file = await reading;
  if (!file || !numbers || listingFingerprint(items, numbers) !== index.fingerprint) return null;
  const badPaths = new Set(index.bad.map((b) => b.relPath));
  const kept: number[] = [];
  items.forEach((item, i) => badPaths.has(item.relPath) || kept.push(i));
  const parsed = parseTensorFile(file, index.digest, target);
  const lines = parsed?.lines();
  if (!parsed || !lines || lines.length !== kept.length) return null;
  const sha256: string[] = new Array<string>(kept.length);
  for (let k = 0; k < kept.length; k++) {
    const line = lines[k]!;
    const item = items[kept[k]!]!;
    // The items must be the very ones listed now (same paths, labels and splits, same order).
    if (!line.startsWith(`${item.relPath}\t${item.label}\t${item.split ?? ''}\t`)) return null;
    sha256[k] = line.slice(line.length - 64);
  }
  return { digest: index.digest, pixels: parsed.pixels, sha256, kept, bad: index.bad };
}

/**
 * The tensors stored under `digest`: the pixels and one line per item (`relPath \t label \t split
 * \t sha256`), all checked. The read starts on the thread pool before this returns, so the caller
 * can stat files meanwhile; null when the file is missing, damaged or of another target.
 */
export function readTensors(cacheDir: string, digest: string, target: DecodeTarget): Promise<{ pixels: Uint8Array; lines: string[] } | null> {
  return readWholeFile(tensorPath(cacheDir, digest)).then((file) => {
    const parsed = file ? parseTensorFile(file, digest, target) : null;
    const lines = parsed?.lines() ?? null;
    return parsed && lines ? { pixels: parsed.pixels, lines } : null;
  });
}

/**
 * The pixels of the `count` items stored under `digest`, their lines read when asked for, for a
 * caller that vouched for the dataset otherwise (data/tensor-file's readTensorFileTrusted).
 */
export async function readTensorsTrusted(cacheDir: string, digest: string, target: DecodeTarget, count: number): Promise<TensorFile | null> {
  const file = await readTensorFileTrusted(tensorPath(cacheDir, digest), digest, target);
  return file && file.count === count ? file : null;
}

/** What writeCache stores. */
export interface CacheEntry {
  source: string;
  target: DecodeTarget;
  fingerprint: string;
  digest: string;
  /** The kept items, their sha256 and pixels (in order), and the images skipped as bad. */
  items: readonly CatalogItem[];
  sha256: readonly string[];
  pixels: Uint8Array;
  bad: readonly CachedBadImage[];
}

/**
 * Writes the tensors, then the index that points at them (so an index never names a missing file),
 * then deletes the tensors the source's previous index pointed at, unless another index uses them.
 */
export async function writeCache(cacheDir: string, entry: CacheEntry): Promise<void> {
  const previous = readJson(indexPath(cacheDir, entry.source, entry.target));
  await writeTensorFile(tensorPath(cacheDir, entry.digest), entry);
  const index: IndexFile = { format: FORMAT, source: entry.source, target: entry.target, fingerprint: entry.fingerprint, digest: entry.digest, bad: [...entry.bad] };
  await writeFileAtomic(indexPath(cacheDir, entry.source, entry.target), Buffer.from(`${JSON.stringify(index, null, 2)}\n`, 'utf8'));
  if (isIndex(previous) && previous.digest !== entry.digest) await removeUnreferenced(cacheDir, previous.digest);
}

/** Deletes <digest>.bin when no index refers to it any more (the files of a dataset's earlier version). */
async function removeUnreferenced(cacheDir: string, digest: string): Promise<void> {
  const folder = join(cacheDir, 'by-source');
  for (const name of await readdir(folder)) {
    if (!name.endsWith('.json')) continue;
    const index = readJson(join(folder, name));
    if (isIndex(index) && index.digest === digest) return;
  }
  await rm(tensorPath(cacheDir, digest), { force: true });
}
