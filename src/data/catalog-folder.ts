/**
 * data/catalog-folder — a folder in the ImageFolder layout, listed as a Catalog.
 *
 * Layouts (as torchvision's ImageFolder and Keras' image_dataset_from_directory read them):
 *   <root>/<class>/<image>                       classes = sorted folder names, no split given
 *   <root>/{train,val,test}/<class>/<image>      given splits (train required; val and test optional)
 * Class folders are walked recursively; hidden files and OS litter (.DS_Store, Thumbs.db) are
 * ignored silently; loose files next to the class folders are ignored with a warning. Every
 * other file must be an image by its first bytes. Symlinks are followed only while they stay
 * inside the root (their real path is checked), so a dataset cannot pull in files from elsewhere.
 * Problems are collected over the whole tree and thrown once, naming every file or class.
 * listFolder is the part that opens no file (folders only): a cached load stops there
 * (data/source-listing); catalogFolder then sniffs every file.
 */
import { readdir, stat } from 'node:fs/promises';
import { join, resolve, basename, sep } from 'node:path';
import { DataError, fixes } from './errors.js';
import type { Catalog, CatalogItem, SplitName } from './labelled.js';
import {
  checkClasses,
  isIgnoredName,
  isInside,
  notImageError,
  outsideRootError,
  realpathOrNull,
  skippedWarning,
  sniffFiles,
} from './catalog-checks.js';

/** Folder names that mean a split (compared lower-case). */
export const SPLIT_FOLDERS: Readonly<Record<string, SplitName>> = {
  train: 'train',
  val: 'validation',
  valid: 'validation',
  validation: 'validation',
  test: 'test',
};

interface Walk {
  rootReal: string;
  /** Every file below the class folders, in walk order. */
  items: CatalogItem[];
  outside: string[];
  broken: string[];
  looseFiles: string[];
  /** Real paths of the folders walked, the root and the split folders: a symlink loop is walked once. */
  visited: Set<string>;
  /** Every folder read, as reached (links not resolved), in reading order. */
  read: string[];
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * A folder's files as the catalog will hold them (sorted by relPath, labelled by class folder),
 * before any file is opened: only folders are read (and symlinks resolved). What else the
 * catalog's result depends on (the class folders, loose files, broken links) is kept alongside,
 * so that data/source-listing can fingerprint the whole listing. Throws for a missing root, a
 * bad layout, or links leading outside the root, exactly as catalogFolder does.
 */
export async function listFolder(root: string): Promise<FolderListing> {
  const source = resolve(root);
  const rootReal = await realpathOrNull(source);
  if (!rootReal || !(await stat(rootReal)).isDirectory()) {
    throw new DataError('KILN_ERR_DATA_NOT_FOUND', source, `${source} is not a folder.` + fixes(['--data ./my-images    # a folder with one subfolder per class']));
  }
  const walk: Walk = { rootReal, items: [], outside: [], broken: [], looseFiles: [], visited: new Set([rootReal]), read: [] };
  const classFolders = await findClassFolders(walk, source);

  const classNames = [...new Set(classFolders.map((c) => c.className))].sort(byName);
  for (const folder of classFolders) {
    const label = classNames.indexOf(folder.className);
    const split = folder.split;
    const add = split
      ? (path: string, relPath: string): number => walk.items.push({ path, relPath, label, split })
      : (path: string, relPath: string): number => walk.items.push({ path, relPath, label });
    await walkFiles(walk, folder.path, folder.relPath, add);
  }
  if (walk.outside.length > 0) throw outsideRootError(source, rootReal, walk.outside);
  const items = walk.items;
  // Walk order is nearly sorted already (sorted folders, sorted names): this sort is close to linear.
  items.sort((a, b) => byName(a.relPath, b.relPath));
  return { source, classNames, classFolders, items, broken: walk.broken, looseFiles: walk.looseFiles, folders: walk.read };
}

/** What listFolder found: every file (not yet sniffed) and the folder structure around them. */
export interface FolderListing {
  source: string;
  classNames: string[];
  classFolders: ClassFolder[];
  /** Every file below the class folders, sorted by relPath. */
  items: CatalogItem[];
  /** Broken symbolic links (`relPath (broken symbolic link)`), reported like non-images. */
  broken: string[];
  /** Files next to the class folders (ignored with a warning). */
  looseFiles: string[];
  /** Every folder whose entries the listing read (the root, split, class and nested folders). */
  folders: string[];
}

/**
 * Lists `root` as a Catalog (see the header). `skipBadImages` turns non-images into a warning.
 * `listing` is listFolder's result when the caller has it already (it is not listed again).
 */
export async function catalogFolder(root: string, options: { skipBadImages?: boolean } = {}, listing?: FolderListing): Promise<Catalog> {
  const { source, classNames, classFolders, items, broken, looseFiles } = listing ?? (await listFolder(root));
  const warnings: string[] = [];
  if (looseFiles.length > 0) warnings.push(skippedWarning(`file(s) outside the class folders of ${source}`, looseFiles));
  const kept = await dropNonImages(source, items, broken, options.skipBadImages === true, warnings);
  const catalog: Catalog = { name: basename(source), source, root: source, sourceType: 'folder', classNames, items: kept, warnings };
  const used = new Set(kept.map((i) => i.relPath.slice(0, i.relPath.lastIndexOf('/'))));
  const emptyFolders = classFolders.map((f) => f.relPath).filter((rel) => ![...used].some((dir) => dir === rel || dir.startsWith(`${rel}/`)));
  checkClasses(source, classNames, kept, { emptyFolders });
  return catalog;
}

export interface ClassFolder {
  split?: SplitName;
  className: string;
  path: string;
  relPath: string;
}

/** The class folders of either layout (see the header); loose files are noted in walk.looseFiles. */
async function findClassFolders(walk: Walk, source: string): Promise<ClassFolder[]> {
  const loose = (_path: string, relPath: string): void => void walk.looseFiles.push(relPath);
  const topDirs = await listDir(walk, source, '', loose);
  const splitDirs = topDirs.filter((d) => SPLIT_FOLDERS[d.name.toLowerCase()] !== undefined);
  if (chooseLayout(source, topDirs.map((d) => d.name), splitDirs.map((d) => d.name)) === 'classes') {
    return topDirs.map((c) => ({ className: c.name, path: c.path, relPath: c.relPath }));
  }
  const classFolders: ClassFolder[] = [];
  for (const dir of splitDirs) walk.visited.add((await realpathOrNull(dir.path)) ?? dir.path);
  for (const dir of splitDirs) {
    const inner = await listDir(walk, dir.path, dir.relPath, loose);
    for (const c of inner) classFolders.push({ split: SPLIT_FOLDERS[dir.name.toLowerCase()], className: c.name, path: c.path, relPath: c.relPath });
  }
  return classFolders;
}

function chooseLayout(source: string, dirs: string[], splitDirs: string[]): 'split' | 'classes' {
  if (splitDirs.length === 0) return 'classes';
  const hasTrain = splitDirs.some((d) => d.toLowerCase() === 'train');
  if (hasTrain && splitDirs.length === dirs.length) return 'split';
  const others = dirs.filter((d) => !splitDirs.includes(d));
  if (!hasTrain && others.length === 0) {
    throw new DataError('KILN_ERR_DATA_FORMAT', source, `${source} has split folders (${splitDirs.join(', ')}) but no train/ folder.` +
      fixes([`mkdir ${join(source, 'train')}    # and move the training images there, one subfolder per class`]));
  }
  if (hasTrain) {
    throw new DataError('KILN_ERR_DATA_FORMAT', source, `${source} mixes split folders (${splitDirs.join(', ')}) with class folders (${others.join(', ')}).` +
      fixes([`move the class folders into ${join(source, 'train')}/`, 'or use only class folders (<root>/<class>/<image>) and let Kiln split them']));
  }
  // A class that happens to be called "val" or "test", among other classes: plain class layout.
  return 'classes';
}

interface Entry {
  name: string;
  path: string;
  relPath: string;
}

/** join(dir, name) for a resolved `dir` and a plain entry name: no normalizing (path.join costs ~0.4 µs, a tenth of a cached load's time per file). */
function childPath(dir: string, name: string): string {
  return dir.endsWith(sep) ? dir + name : dir + sep + name;
}

/**
 * One folder's visible entries, sorted by name; symlinks resolved (and checked against the root).
 * Returns the folders; each file goes to `onFile` (no object per file here: a cached load lists
 * every file, and allocation, i.e. garbage collection, was a third of the listing's time).
 */
async function listDir(walk: Walk, dir: string, relDir: string, onFile: (path: string, relPath: string) => void): Promise<Entry[]> {
  walk.read.push(dir);
  const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => !isIgnoredName(e.name)).sort((a, b) => byName(a.name, b.name));
  const dirs: Entry[] = [];
  for (const e of entries) {
    const path = childPath(dir, e.name);
    const relPath = relDir ? `${relDir}/${e.name}` : e.name;
    let isDir = e.isDirectory();
    let isFile = e.isFile();
    if (e.isSymbolicLink()) {
      const real = await realpathOrNull(path);
      if (!real) {
        walk.broken.push(`${relPath} (broken symbolic link)`);
        continue;
      }
      if (!isInside(walk.rootReal, real)) {
        walk.outside.push(`${relPath} -> ${real}`);
        continue;
      }
      const info = await stat(real);
      isDir = info.isDirectory();
      isFile = info.isFile();
    }
    if (isDir) dirs.push({ name: e.name, path, relPath });
    else if (isFile) onFile(path, relPath);
  }
  return dirs;
}

/** Every file below `dir` (recursively), given to `onFile` in name order; each real folder once. */
async function walkFiles(walk: Walk, dir: string, relDir: string, onFile: (path: string, relPath: string) => void): Promise<void> {
  const real = await realpathOrNull(dir);
  if (real === null || walk.visited.has(real)) return; // a link back up the tree: already listed
  walk.visited.add(real);
  const dirs = await listDir(walk, dir, relDir, onFile);
  for (const d of dirs) await walkFiles(walk, d.path, d.relPath, onFile);
}

/** Sniffs every item; non-images (and broken links) are an error naming them all, or a warning when skipping. */
async function dropNonImages(source: string, items: CatalogItem[], broken: string[], skip: boolean, warnings: string[]): Promise<CatalogItem[]> {
  const formats = await sniffFiles(items.map((i) => i.path));
  const bad = [...broken, ...items.filter((_, i) => formats[i] === null).map((i) => i.relPath)];
  if (bad.length > 0 && !skip) throw notImageError(source, bad);
  if (bad.length > 0) warnings.push(skippedWarning(`file(s) that are not images in ${source}`, bad));
  return items.filter((_, i) => formats[i] !== null);
}
