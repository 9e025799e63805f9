/**
 * data/materialize — a user dataset's Catalog decoded to one DecodeTarget: the 8-bit HWC pixels
 * of every item back to back, each file's sha256 and the dataset's content digest.
 *
 * Every image goes through imaging/decode's decodeFixed, the same conversion serving applies to
 * an upload, so a model sees the same pixels in training and in production. Bad images are all
 * collected before anything is reported: one error names every file that failed and why, or,
 * with skipBadImages, they are dropped and listed in `bad`.
 */
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { decodeFixed } from '../imaging/decode.js';
import { DataError, fixes } from './errors.js';
import type { Catalog, CatalogItem, DecodeTarget, Materialized } from './labelled.js';

export interface MaterializeOptions {
  /** Where decoded tensors are cached (<home>/cache/datasets). */
  cacheDir: string;
  /** Drop undecodable images (listed in `bad`) instead of failing. */
  skipBadImages?: boolean;
  /** A TTY gets a progress bar during the first decode; anything else gets log lines. */
  progress?: NodeJS.WritableStream | null;
  log?: (line: string) => void;
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
  rows.sort(byRelPath);
  const hash = createHash('sha256');
  for (const row of rows) hash.update(row.line);
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

/** Decodes every catalog item to `target`; see the header. */
export async function materialize(catalog: Catalog, target: DecodeTarget, options: MaterializeOptions): Promise<Materialized> {
  const size = target.height * target.width * target.channels;
  const pixels = new Uint8Array(size * catalog.items.length);
  const kept: CatalogItem[] = [];
  const sha256: string[] = [];
  const bad: BadImage[] = [];
  for (const item of catalog.items) {
    try {
      const bytes = await readFile(item.path);
      const decoded = await decodeFixed(bytes, { height: target.height, width: target.width, channels: target.channels });
      pixels.set(decoded, kept.length * size);
      sha256.push(createHash('sha256').update(bytes).digest('hex'));
      kept.push(item);
    } catch (error) {
      bad.push({ relPath: item.relPath, reason: reasonOf(error) });
    }
  }
  if (bad.length > 0 && !options.skipBadImages) throw badImagesError(catalog, bad);
  return {
    pixels: pixels.subarray(0, kept.length * size),
    items: kept,
    sha256,
    digest: datasetDigest(kept, sha256, target),
    bad,
    fromCache: false,
  };
}
