/**
 * data/catalog-checks — the checks every user-dataset catalog (folder or manifest) shares, and
 * their coded errors: which files are ignored silently, which are not images (first bytes sniffed),
 * which symlinks leave the root, and whether the classes make a classification problem at all.
 *
 * Each check collects every offender before throwing, so one run of Kiln names all of them:
 * fixing one file per run would be a slow way to clean a dataset.
 */
import { closeSync, openSync, readdirSync, readSync, realpathSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import { sniffFormat } from '../imaging/decode.js';
import { DataError, fixes } from './errors.js';
import type { SplitName } from './labelled.js';

/** Labels are stored as bytes (ImageSet.labels is a Uint8Array). */
export const MAX_CLASSES = 256;

/** Files and folders that operating systems and tools leave behind; never part of a dataset, never reported. */
export function isIgnoredName(name: string): boolean {
  return name.startsWith('.') || name === 'Thumbs.db' || name === 'desktop.ini' || name === '__MACOSX';
}

/** True when `target` is `root` or lies below it (both absolute, already resolved). */
export function isInside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || (!isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`));
}

/** The real path of `path`, or null when it cannot be resolved (a broken symlink, a missing file). */
export async function realpathOrNull(path: string): Promise<string | null> {
  return realpath(path).catch(() => null);
}

/**
 * The accepted image format each file's first bytes announce, or null (not an image, or unreadable).
 * Synchronous reads in batches: 16 bytes from each of 60,000 files take ~0.2 s this way, against
 * several seconds through fs/promises (whose per-call overhead dwarfs the read); yielding between
 * batches keeps the event loop responsive.
 */
export async function sniffFiles(paths: readonly string[], batch = 2000): Promise<(string | null)[]> {
  const out = new Array<string | null>(paths.length).fill(null);
  const head = new Uint8Array(16);
  for (let from = 0; from < paths.length; from += batch) {
    if (from > 0) await new Promise<void>((done) => setImmediate(done));
    for (let i = from; i < Math.min(paths.length, from + batch); i++) out[i] = sniffOne(paths[i], head);
  }
  return out;
}

function sniffOne(path: string, head: Uint8Array): string | null {
  const probe = probeFile(path, head);
  return probe.kind === 'file' ? probe.format : null;
}

/** One open and one read: whether `path` is a readable file, a folder or missing, and its sniffed format. */
export function probeFile(path: string, head: Uint8Array = new Uint8Array(16)): { kind: 'file' | 'folder' | 'missing'; format: string | null } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return { kind: 'missing', format: null };
  }
  try {
    head.fill(0);
    const bytesRead = readSync(fd, head, 0, head.length, 0);
    return { kind: 'file', format: sniffFormat(head.subarray(0, bytesRead)) };
  } catch (error) {
    return { kind: (error as NodeJS.ErrnoException).code === 'EISDIR' ? 'folder' : 'missing', format: null };
  } finally {
    closeSync(fd);
  }
}

/**
 * Real paths of many files in few folders, cheaply: each folder is resolved and listed once (which
 * of its entries are symlinks); only a file that is itself a link costs a realpath of its own.
 */
export class RealPaths {
  private readonly dirs = new Map<string, { real: string; links: Set<string> } | null>();

  /** The real path of `path`, or null when its folder cannot be resolved. */
  of(path: string): string | null {
    const dir = dirname(path);
    let entry = this.dirs.get(dir);
    if (entry === undefined) {
      try {
        const links = new Set(readdirSync(dir, { withFileTypes: true }).filter((e) => e.isSymbolicLink()).map((e) => e.name));
        entry = { real: realpathSync(dir), links };
      } catch {
        entry = null;
      }
      this.dirs.set(dir, entry);
    }
    if (!entry) return null;
    const name = basename(path);
    if (!entry.links.has(name)) return join(entry.real, name);
    try {
      return realpathSync(path);
    } catch {
      return null;
    }
  }
}

const list = (lines: readonly string[]): string => lines.map((line) => `  ${line}`).join('\n');

/** Symlinks whose target lies outside the dataset root (`link -> target` each). */
export function outsideRootError(source: string, root: string, offenders: readonly string[]): DataError {
  return new DataError(
    'KILN_ERR_DATA_OUTSIDE_ROOT',
    offenders[0] ?? source,
    `${offenders.length} file(s) of ${source} lead outside the dataset root ${root}:\n${list(offenders)}` +
      fixes(['copy the files into the dataset folder instead of linking to them', 'or remove the links']),
  );
}

/** Files that are not images (sniffed by their first bytes); `what` says where they were found. */
export function notImageError(source: string, offenders: readonly string[]): DataError {
  return new DataError(
    'KILN_ERR_DATA_NOT_IMAGE',
    offenders[0] ?? source,
    `${offenders.length} file(s) in ${source} are not images (accepted: PNG, JPEG, WebP, GIF, TIFF, AVIF, recognised by their first bytes):\n${list(offenders)}` +
      fixes(['move or delete these files', 'or pass --skip-bad-images to leave them out (they are counted and listed)']),
  );
}

/** Words a skipped-files warning: the count, then every file. */
export function skippedWarning(what: string, files: readonly string[]): string {
  return `skipped ${files.length} ${what}:\n${list(files)}`;
}

/**
 * Checks that a catalog is a classification problem Kiln can learn: at least two classes, at most
 * MAX_CLASSES, and every class with at least one training item (an item with no split counts as
 * training: the stratified split keeps one per class in train). Throws a DataError naming every
 * offending class.
 */
export function checkClasses(
  source: string,
  classNames: readonly string[],
  items: readonly { label: number; split?: SplitName }[],
  hint: { emptyFolders?: string[] } = {},
): void {
  if (classNames.length > MAX_CLASSES) {
    throw new DataError('KILN_ERR_DATA_TOO_MANY_CLASSES', source, `${source} has ${classNames.length} classes; Kiln supports at most ${MAX_CLASSES}.` +
      fixes(['merge rare classes, or train on a subset of the classes']));
  }
  const train = new Array<number>(classNames.length).fill(0);
  const any = new Array<number>(classNames.length).fill(0);
  for (const item of items) {
    any[item.label]++;
    if (item.split === undefined || item.split === 'train') train[item.label]++;
  }
  const empty = [...new Set([...(hint.emptyFolders ?? []), ...classNames.filter((_, c) => any[c] === 0)])];
  const noTrain = classNames.filter((_, c) => any[c] > 0 && train[c] === 0);
  if (empty.length > 0 || noTrain.length > 0) {
    const lines = [...empty.map((c) => `${c}: no images`), ...noTrain.map((c) => `${c}: no training images (only ${splitsOf(classNames, items, c).join('/')})`)];
    throw new DataError('KILN_ERR_DATA_EMPTY_CLASS', lines[0], `${empty.length + noTrain.length} class(es) of ${source} have nothing to learn from:\n${list(lines)}` +
      fixes(['add images to these classes (in train/ when the folder has split folders)', 'or delete the empty class folders / manifest labels']));
  }
  if (classNames.length < 2) {
    const found = classNames.length === 0 ? 'no class at all' : `only one class, ${JSON.stringify(classNames[0])}`;
    throw new DataError('KILN_ERR_DATA_ONE_CLASS', source, `${source} has ${found}: a classifier needs at least two.` +
      fixes(['a folder needs one subfolder per class: <root>/<class>/<image> (e.g. ./pets/cat/1.jpg, ./pets/dog/2.jpg)',
        'a manifest needs at least two distinct labels']));
  }
}

function splitsOf(classNames: readonly string[], items: readonly { label: number; split?: SplitName }[], className: string): SplitName[] {
  const label = classNames.indexOf(className);
  return [...new Set(items.filter((i) => i.label === label).map((i) => i.split ?? 'train'))].sort();
}
