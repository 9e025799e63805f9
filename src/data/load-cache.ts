/**
 * data/load-cache — a user dataset's whole load, remembered, so that loading it again costs the
 * listing, one stat per file and one tensor file: no file is opened, sniffed, inferred from or
 * decoded when nothing changed.
 *
 * <cacheDir>/by-load/<key>.json, written atomically after a load succeeded. The key is the source
 * and the options that change the result before splitting: --image-size and --color (each given,
 * or 'inferred') and --skip-bad-images. The record holds the listing fingerprint
 * (data/source-listing), stat'ed before the load read any file, the content digest of the tensors
 * (data/tensor-cache's <digest>.bin) and what the full load found: the decode target and colour
 * with the words that described how they were chosen (so a hit with no --image-size/--color
 * reproduces the inferred target and its log line), the catalog's warnings, the files it left out
 * (not images, or undecodable, with --skip-bad-images). The .bin's items are checked against the
 * listing on every hit. Anything missing, unreadable or inconsistent is a miss, never an error.
 * Options applied after decoding (splits, normalization, memory budget) are not part of the key.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BadImage } from './materialize.js';
import type { CatalogItem, ColorMode, DecodeTarget } from './labelled.js';
import { listingFingerprint, statItems, type SourceListing } from './source-listing.js';
import { readTensors } from './tensor-cache.js';
import { writeFileAtomic } from './sources.js';

const FORMAT = 1;

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
}

interface IndexFile extends LoadRecord {
  format: number;
  source: string;
  key: { imageSize: string; color: string; skipBadImages: boolean };
  fingerprint: string;
}

/** A hit: the record, and the kept items with their pixels and file hashes. */
export interface CachedLoad {
  record: LoadRecord;
  items: CatalogItem[];
  pixels: Uint8Array;
  sha256: string[];
}

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
      v.target && (v.color === 'gray' || v.color === 'rgb') && typeof v.description === 'string' && Array.isArray(v.warnings) && Array.isArray(v.skipped) && Array.isArray(v.bad);
    return ok ? (v as IndexFile) : null;
  } catch {
    return null;
  }
}

/**
 * The cached load of `listing` under `key`, or null; and the listing's stat numbers either way
 * (null if a file could not be stat'ed), for recordLoad after a miss: they are taken before any
 * file is read, so a file changed during the load misses the next time.
 */
export async function lookupLoad(cacheDir: string, listing: SourceListing, key: LoadKey): Promise<{ hit: CachedLoad | null; numbers: Float64Array | null }> {
  const index = readIndex(loadIndexPath(cacheDir, listing.source, key));
  if (!index) return { hit: null, numbers: statItems(listing.items) };
  const reading = readTensors(cacheDir, index.digest, index.target); // on the thread pool while this thread stats
  const numbers = statItems(listing.items);
  const tensors = await reading;
  if (!tensors || !numbers || listingFingerprint(listing, numbers) !== index.fingerprint) return { hit: null, numbers };
  return { hit: matchItems(listing, index, tensors), numbers };
}

/** The listing's kept items (all but those left out) checked against the tensor file's lines, in order. */
function matchItems(listing: SourceListing, index: IndexFile, tensors: { pixels: Uint8Array; lines: string[] }): CachedLoad | null {
  const left = new Set([...index.skipped, ...index.bad.map((b) => b.relPath)]);
  const items = left.size === 0 ? listing.items : listing.items.filter((item) => !left.has(item.relPath));
  const { lines } = tensors;
  if (lines.length !== items.length) return null;
  const sha256 = new Array<string>(items.length);
  for (let k = 0; k < items.length; k++) {
    const item = items[k]!;
    const line = lines[k]!;
    if (!line.startsWith(`${item.relPath}\t${item.label}\t${item.split ?? ''}\t`)) return null;
    sha256[k] = line.slice(line.length - 64);
  }
  const { digest, target, color, description, warnings, skipped, bad } = index;
  return { record: { digest, target, color, description, warnings, skipped, bad }, items, pixels: tensors.pixels, sha256 };
}

/** Records a successful full load of `listing` (see the header); `numbers` are lookupLoad's. */
export async function recordLoad(cacheDir: string, listing: SourceListing, key: LoadKey, numbers: Float64Array, record: LoadRecord): Promise<void> {
  const index: IndexFile = { format: FORMAT, source: listing.source, key: keyFields(key), fingerprint: listingFingerprint(listing, numbers), ...record };
  await writeFileAtomic(loadIndexPath(cacheDir, listing.source, key), Buffer.from(`${JSON.stringify(index, null, 2)}\n`, 'utf8'));
}
