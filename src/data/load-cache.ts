/**
 * data/load-cache — a user dataset's whole load, remembered, so that loading it again costs a
 * check that nothing changed and one tensor file: no file is opened, sniffed, inferred from or
 * decoded when nothing changed.
 *
 * <cacheDir>/by-load/<key>.json, written atomically after a load succeeded. The key is the source
 * and the options that change the result before splitting: --image-size and --color (each given,
 * or 'inferred') and --skip-bad-images. The record holds what the full load found: the content
 * digest of the tensors (data/tensor-cache's <digest>.bin), the decode target and colour with the
 * words that described how they were chosen (so a hit with no --image-size/--color reproduces the
 * inferred target and its log line), the catalog's warnings, the files it left out (not images,
 * or undecodable, with --skip-bad-images), each kept item's label and given split, and the groups
 * of byte-identical files. Two checks find it again (data/data-spec DataCacheCheck):
 *   lookupLoad       (--data-cache files) the listing's fingerprint, with one stat per file,
 *                    taken before the load read any file (data/source-listing); the .bin's items
 *                    and CRC are checked against the listing;
 *   lookupByStamps   (--data-cache folders) the folders' stamps alone, no listing: the labels,
 *                    splits and pixels come from the record and the .bin.
 * Anything missing, unreadable or inconsistent is a miss, never an error. Options applied after
 * decoding (splits, normalization, memory budget) are not part of the key.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BadImage } from './materialize.js';
import type { CatalogItem, ColorMode, DecodeTarget, SplitName } from './labelled.js';
import { listingFingerprint, stampsHold, statItems, takeStamps, type SourceListing, type Stamp } from './source-listing.js';
import { readTensors, readTensorsTrusted } from './tensor-cache.js';
import { writeFileAtomic } from './sources.js';

const FORMAT = 2;

/** The options that change a load's result before splitting. */
export interface LoadKey {
  imageSize?: [number, number];
  color?: ColorMode;
  skipBadImages?: boolean;
}

/** What a full load found, beyond the tensors. */
export interface LoadRecord {
  digest: string;
  target: DecodeTarget;
  color: ColorMode;
  /** How target and colour were chosen, in words (data/infer's description). */
  description: string;
  /** The catalog's warnings (loose files, non-images skipped), worded for the user. */
  warnings: string[];
  /** relPaths the catalog left out as not images (with --skip-bad-images). */
  skipped: string[];
  /** Images that could not be decoded (with --skip-bad-images). */
  bad: BadImage[];
  /** Kept items (by index) whose files are byte-identical, in groups of two or more. */
  duplicates: number[][];
}

/** What a listing says about the dataset as a whole, kept so that a stamp check need not list. */
export type ListingFacts = Pick<SourceListing, 'sourceType' | 'source' | 'root' | 'name' | 'classNames'>;

interface IndexFile extends LoadRecord {
  format: number;
  source: string;
  key: { imageSize: string; color: string; skipBadImages: boolean };
  fingerprint: string;
  listing: ListingFacts;
  /** The kept items' labels, and their given splits as SPLIT_CODES, base64 bytes. */
  labels: string;
  splits: string;
  /** The folder stamps that vouch for the listing; null while they could not (data/source-listing takeStamps). */
  stamps: Stamp[] | null;
}

/** A hit: the record, the listing's facts, and the kept items' pixels, labels, given splits and names. */
export interface CachedLoad {
  record: LoadRecord;
  listing: ListingFacts;
  pixels: Uint8Array;
  labels: Uint8Array;
  given: (SplitName | undefined)[];
  /** The kept items' relPaths (for messages), read when first asked for. */
  names(): string[];
}

const SPLIT_CODES: readonly (SplitName | undefined)[] = [undefined, 'train', 'validation', 'test'];

function keyFields(key: LoadKey): IndexFile['key'] {
  return { imageSize: key.imageSize ? key.imageSize.join('x') : 'inferred', color: key.color ?? 'inferred', skipBadImages: key.skipBadImages === true };
}

export function loadIndexPath(cacheDir: string, source: string, key: LoadKey): string {
  const k = keyFields(key);
  const name = createHash('sha256').update(`${source}\n${k.imageSize}\n${k.color}\n${k.skipBadImages ? 'skip' : 'strict'}`).digest('hex').slice(0, 32);
  return join(cacheDir, 'by-load', `${name}.json`);
}

function readIndex(path: string): IndexFile | null {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as Partial<IndexFile> | null;
    const ok = v && v.format === FORMAT && typeof v.fingerprint === 'string' && typeof v.digest === 'string' && /^[0-9a-f]{64}$/.test(v.digest) &&
      v.target && (v.color === 'gray' || v.color === 'rgb') && typeof v.description === 'string' && Array.isArray(v.warnings) && Array.isArray(v.skipped) && Array.isArray(v.bad) &&
      Array.isArray(v.duplicates) && v.listing && Array.isArray(v.listing.classNames) && typeof v.labels === 'string' && typeof v.splits === 'string' && (v.stamps === null || Array.isArray(v.stamps));
    return ok ? (v as IndexFile) : null;
  } catch {
    return null;
  }
}

/**
 * The cached load of `listing` under `key`, or null; and the listing's stat numbers either way
 * (null if a file could not be stat'ed), for recordLoad after a miss: they are taken before any
 * file is read, so a file changed during the load misses the next time. A hit whose record has
 * no stamps, or stamps that no longer hold (a file added and removed again), is stamped anew
 * when the folders have settled, for later lookupByStamps.
 */
export async function lookupLoad(cacheDir: string, listing: SourceListing, key: LoadKey): Promise<{ hit: CachedLoad | null; numbers: Float64Array | null }> {
  const path = loadIndexPath(cacheDir, listing.source, key);
  const index = readIndex(path);
  if (!index) return { hit: null, numbers: statItems(listing.items) };
  const reading = readTensors(cacheDir, index.digest, index.target); // on the thread pool while this thread stats
  const numbers = statItems(listing.items);
  const tensors = await reading;
  if (!tensors || !numbers || listingFingerprint(listing, numbers) !== index.fingerprint) return { hit: null, numbers };
  const hit = matchItems(listing, index, tensors);
  if (hit && (index.stamps === null || !stampsHold(index.stamps))) {
    const stamps = takeStamps(listing.stampPaths, listing.listedAt);
    if (stamps) await writeIndex(path, { ...index, stamps }).catch(() => undefined); // a read-only cache: stamps next time
  }
  return { hit, numbers };
}

/**
 * The cached load of `source` (a folder's or manifest's absolute path) under `key` when the
 * stamps of its folders hold, or null: nothing is listed, no file is stat'ed (see the header).
 */
export async function lookupByStamps(cacheDir: string, source: string, key: LoadKey): Promise<CachedLoad | null> {
  const index = readIndex(loadIndexPath(cacheDir, source, key));
  if (!index || index.source !== source || !index.stamps || !stampsHold(index.stamps)) return null;
  const labels = fromBase64(index.labels);
  // The pixels are read on the thread pool while this thread turns the record into arrays.
  const reading = readTensorsTrusted(cacheDir, index.digest, index.target, labels.length);
  const given = splitsOf(fromBase64(index.splits), labels.length);
  const tensors = await reading;
  if (!tensors || !given) return null;
  const names = (): string[] => (tensors.lines() ?? []).map((line) => line.slice(0, line.indexOf('\t')));
  return { record: recordOf(index), listing: index.listing, pixels: tensors.pixels, labels, given, names };
}

/** The listing's kept items (all but those left out) checked against the tensor file's lines, in order. */
function matchItems(listing: SourceListing, index: IndexFile, tensors: { pixels: Uint8Array; lines: string[] }): CachedLoad | null {
  const left = new Set([...index.skipped, ...index.bad.map((b) => b.relPath)]);
  const items = left.size === 0 ? listing.items : listing.items.filter((item) => !left.has(item.relPath));
  const { lines } = tensors;
  if (lines.length !== items.length) return null;
  for (let k = 0; k < items.length; k++) {
    const item = items[k]!;
    if (!lines[k]!.startsWith(`${item.relPath}\t${item.label}\t${item.split ?? ''}\t`)) return null;
  }
  const { labels, given } = labelsOf(items);
  return { record: recordOf(index), listing: factsOf(listing), pixels: tensors.pixels, labels, given, names: () => items.map((item) => item.relPath) };
}

function recordOf(index: IndexFile): LoadRecord {
  const { digest, target, color, description, warnings, skipped, bad, duplicates } = index;
  return { digest, target, color, description, warnings, skipped, bad, duplicates };
}

function factsOf(listing: SourceListing): ListingFacts {
  const { sourceType, source, root, name, classNames } = listing;
  return { sourceType, source, root, name, classNames };
}

function labelsOf(items: readonly Pick<CatalogItem, 'label' | 'split'>[]): { labels: Uint8Array; given: (SplitName | undefined)[] } {
  const labels = new Uint8Array(items.length);
  const given = new Array<SplitName | undefined>(items.length);
  for (let i = 0; i < items.length; i++) {
    labels[i] = items[i]!.label;
    given[i] = items[i]!.split;
  }
  return { labels, given };
}

/** The given splits from their codes; null if damaged. A plain loop: this runs once per process, before any callback would be optimized. */
function splitsOf(codes: Uint8Array, count: number): (SplitName | undefined)[] | null {
  if (codes.length !== count) return null;
  const given = new Array<SplitName | undefined>(count);
  for (let i = 0; i < count; i++) {
    if (codes[i]! >= SPLIT_CODES.length) return null;
    given[i] = SPLIT_CODES[codes[i]!];
  }
  return given;
}

const fromBase64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64'));
const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/**
 * Records a successful full load of `listing` (see the header); `numbers` are lookupLoad's,
 * `kept` the items the load kept, in order. The folders are stamped now, when they have settled.
 */
export async function recordLoad(cacheDir: string, listing: SourceListing, key: LoadKey, numbers: Float64Array, record: LoadRecord, kept: readonly Pick<CatalogItem, 'label' | 'split'>[]): Promise<void> {
  const { labels, given } = labelsOf(kept);
  const index: IndexFile = {
    format: FORMAT, source: listing.source, key: keyFields(key), fingerprint: listingFingerprint(listing, numbers), ...record,
    listing: factsOf(listing), labels: toBase64(labels), splits: toBase64(Uint8Array.from(given, (split) => SPLIT_CODES.indexOf(split))),
    stamps: takeStamps(listing.stampPaths, listing.listedAt),
  };
  await writeIndex(loadIndexPath(cacheDir, listing.source, key), index);
}

async function writeIndex(path: string, index: IndexFile): Promise<void> {
  await writeFileAtomic(path, Buffer.from(`${JSON.stringify(index)}\n`, 'utf8'));
}
