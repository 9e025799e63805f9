/**
 * data/source-listing — a user dataset's files as its catalog will list them, found without
 * opening any image file, and the fingerprint that tells a cached load whether anything changed.
 *
 * A folder is listed by reading its folders only (data/catalog-folder's listFolder); a manifest
 * by reading and parsing the manifest (data/catalog-manifest's listManifest). The fingerprint is
 * a sha256 over what the catalog's result depends on: the folder structure (class folders, loose
 * files, broken links) or the manifest's content hash, every file's relPath, label and split,
 * and one stat per file (size, mtime, ctime, inode). A changed file (new mtime/ctime even at the
 * same size), an added, removed, renamed or moved (relabelled) file, a new class folder or an
 * edited manifest each change it. Files are stat'ed, never opened: that is what keeps a cached
 * load cheap, and it is the one per-file check a cached load keeps (see data/load-cache).
 *
 * Stamps are the cheaper check behind `--data-cache folders`: one stat of each folder the listing
 * read (or of the manifest and the folders its files are in). Adding, removing or renaming an
 * entry changes its folder's mtime and ctime, so equal stamps vouch for an equal listing without
 * listing; a file rewritten in place changes only its own stat, which stamps do not see. A stamp
 * is only taken when its folder has not changed for STAMP_SETTLE_MS before the listing began:
 * a folder changed during the listing could show a listing older than its stamp, and a change
 * right after could carry the same coarse timestamp (file systems keep ticks, FAT two seconds).
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { catalogFolder, listFolder } from './catalog-folder.js';
import { catalogManifest, listManifest } from './catalog-manifest.js';
import { sourceName, type DataSource } from './data-spec.js';
import type { Catalog, CatalogItem } from './labelled.js';

/** Numbers per file in a stat listing: size, mtimeMs, ctimeMs, ino. */
export const STAT_FIELDS = 4;

export interface SourceListing {
  sourceType: 'folder' | 'manifest';
  /** Absolute path of the folder or manifest. */
  source: string;
  /** The folder (or the manifest's folder) that relPaths are relative to. */
  root: string;
  /** The dataset's short name, as its catalog names it. */
  name: string;
  classNames: string[];
  /** Every file the catalog will consider, in catalog order; not yet sniffed (non-images included). */
  items: CatalogItem[];
  /** Everything else the catalog's result depends on, as text. */
  structure: string;
  /** The folders (and manifest) whose stamps vouch for this listing (see the header). */
  stampPaths: string[];
  /** Date.now() before the listing read anything. */
  listedAt: number;
  /** The full catalog from this listing: every file opened and checked (data/catalog-checks). */
  catalog(options: { skipBadImages?: boolean }): Promise<Catalog>;
}

/** Lists a folder or manifest (see the header); throws what its catalog would throw for the listing. */
export async function listSource(source: Extract<DataSource, { kind: 'folder' | 'manifest' }>): Promise<SourceListing> {
  const listedAt = Date.now();
  if (source.kind === 'folder') {
    const folder = await listFolder(source.path);
    const structure = [
      'folder',
      folder.source,
      ...folder.classFolders.map((c) => `class\t${c.relPath}\t${c.className}\t${c.split ?? ''}`),
      ...folder.looseFiles.map((f) => `loose\t${f}`),
      ...folder.broken.map((b) => `broken\t${b}`),
    ].join('\n');
    return {
      sourceType: 'folder', source: folder.source, root: folder.source, name: catalogName(folder.source, 'folder'), classNames: folder.classNames, items: folder.items, structure,
      stampPaths: folder.folders, listedAt,
      catalog: (options) => catalogFolder(folder.source, options, folder),
    };
  }
  const manifest = await listManifest(source.path, source.format);
  return {
    sourceType: 'manifest', source: manifest.source, root: manifest.root, name: catalogName(manifest.source, 'manifest'), classNames: manifest.classNames, items: manifest.items,
    structure: `manifest\n${manifest.source}\n${source.format}\n${manifest.sha256}`,
    stampPaths: [manifest.source, ...new Set(manifest.items.map((item) => dirname(item.path)))], listedAt,
    catalog: (options) => catalogManifest(manifest.source, source.format, options, manifest),
  };
}

/** The name the catalog gives the dataset (data/catalog-folder, data/catalog-manifest). */
function catalogName(source: string, kind: 'folder' | 'manifest'): string {
  return kind === 'folder' ? basename(source) : sourceName(source);
}

/**
 * Each item's size, mtimeMs, ctimeMs and ino at [i * STAT_FIELDS]; null when one cannot be
 * stat'ed. statSync following links (a linked file's content is its target's), numbers not
 * bigints, no throw for a missing file: measured on 60,000 files, the cheapest per-file check
 * Node offers (~1.7-2 µs each; lstat is no cheaper, bigint and the thread pool cost 1.5-2.5x).
 */
export function statItems(items: readonly CatalogItem[]): Float64Array | null {
  const numbers = new Float64Array(items.length * STAT_FIELDS);
  for (let i = 0, at = 0; i < items.length; i++, at += STAT_FIELDS) {
    const stat = statSync(items[i]!.path, { throwIfNoEntry: false });
    if (!stat) return null;
    numbers[at] = stat.size;
    numbers[at + 1] = stat.mtimeMs;
    numbers[at + 2] = stat.ctimeMs;
    numbers[at + 3] = stat.ino;
  }
  return numbers;
}

/** sha256 over the listing's structure, every item's relPath, label and split, and statItems' numbers (raw float64s). */
export function listingFingerprint(listing: Pick<SourceListing, 'structure' | 'items'>, numbers: Float64Array): string {
  const hash = createHash('sha256').update(`kiln listing 1\n${listing.structure}\n`);
  const { items } = listing;
  for (let start = 0; start < items.length; start += 4096) {
    hash.update(items.slice(start, start + 4096).map((item) => `${item.relPath}\t${item.label}\t${item.split ?? ''}\n`).join(''));
  }
  return hash.update(new Uint8Array(numbers.buffer, numbers.byteOffset, numbers.byteLength)).digest('hex');
}

/** A folder's (or manifest's) stat: path, mtimeMs, ctimeMs, ino, size. */
export type Stamp = [path: string, mtimeMs: number, ctimeMs: number, ino: number, size: number];

/** How long a folder must have been left alone before the listing for its stamp to count (see the header). */
export const STAMP_SETTLE_MS = 3000;

function stampOf(path: string): Stamp | null {
  const stat = statSync(path, { throwIfNoEntry: false });
  return stat ? [path, stat.mtimeMs, stat.ctimeMs, stat.ino, stat.size] : null;
}

/**
 * The stamps of `paths` as they vouch for a listing begun at `listedAt`; null when one cannot be
 * stat'ed or changed after `listedAt - STAMP_SETTLE_MS` (then only the per-file check can tell).
 */
export function takeStamps(paths: readonly string[], listedAt: number): Stamp[] | null {
  const stamps: Stamp[] = [];
  for (const path of paths) {
    const stamp = stampOf(path);
    if (!stamp || Math.max(stamp[1], stamp[2]) >= listedAt - STAMP_SETTLE_MS) return null;
    stamps.push(stamp);
  }
  return stamps;
}

/** Whether every path still has its stamp (same mtime, ctime, inode and size). */
export function stampsHold(stamps: readonly Stamp[]): boolean {
  for (const stamp of stamps) {
    const now = stampOf(stamp[0]);
    if (!now || now[1] !== stamp[1] || now[2] !== stamp[2] || now[3] !== stamp[3] || now[4] !== stamp[4]) return false;
  }
  return true;
}
