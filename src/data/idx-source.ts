/**
 * data/idx-source — labelled images stored as IDX pairs (the MNIST format): a folder holding
 * `<prefix>-images-idx3-ubyte[.gz]` + `<prefix>-labels-idx1-ubyte[.gz]` (prefix train → train,
 * t10k/test → test, val/validation → validation; a single pair with another prefix is train) and
 * an optional `classes.txt` (one class name per line, in label order; else the labels' numbers);
 * or an explicit pair from `--data idx:<images>,<labels>[,<classes.txt>]`.
 *
 * IDX files are already decoded 8-bit gray pixels, so this source skips the catalog and the
 * decode cache: it reads the files (reusing data/idx's parseIdx checks) and returns the pixels
 * per split, with a digest computed the way data/materialize computes one, from the file bytes.
 */
import { readFile, readdir } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { sha256Hex } from './checksums.js';
import { DataError, fixes } from './errors.js';
import { decompressIfGzip, parseIdx } from './idx.js';
import type { SplitName } from './labelled.js';
import { datasetDigest } from './materialize.js';
import { IDX_IMAGES_FILE } from './data-spec.js';
import { MAX_CLASSES } from './catalog-checks.js';

export interface IdxSplit {
  /** count*height*width gray bytes. */
  pixels: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export interface IdxDataset {
  name: string;
  /** The folder (or the images file's folder for an explicit pair). */
  source: string;
  height: number;
  width: number;
  classNames: string[];
  /** train always; test and validation when the folder has them. */
  splits: Partial<Record<SplitName, IdxSplit>> & { train: IdxSplit };
  /** file (relative to source) -> sha256 of its decompressed bytes. */
  sha256: Record<string, string>;
  /** file (relative to source) -> absolute path. */
  files: Record<string, string>;
  /** sha256 over (file, split, sha256) + HxWx1, as data/materialize's datasetDigest. */
  digest: string;
}

const PREFIX_SPLITS: Readonly<Record<string, SplitName>> = {
  train: 'train', t10k: 'test', test: 'test', val: 'validation', valid: 'validation', validation: 'validation',
};

interface Pair {
  split: SplitName;
  images: string;
  labels: string;
}

/** Finds the pairs of an IDX folder (see the header). */
export async function findIdxPairs(dir: string): Promise<Pair[]> {
  const names = await readdir(dir);
  const found = names.map((name) => ({ name, match: IDX_IMAGES_FILE.exec(name) })).filter((f) => f.match !== null);
  const pairs: Pair[] = [];
  for (const { name, match } of found) {
    const prefix = match![1];
    const labels = names.find((n) => new RegExp(`^${escapeRegExp(prefix)}-labels[-.]idx1-ubyte(\\.gz)?$`).test(n));
    if (!labels) {
      throw new DataError('KILN_ERR_DATA_NOT_FOUND', join(dir, name), `${join(dir, name)} has no labels file: expected ${prefix}-labels-idx1-ubyte[.gz] beside it.` +
        fixes([`put ${prefix}-labels-idx1-ubyte.gz in ${dir}`]));
    }
    const split = PREFIX_SPLITS[prefix.toLowerCase()] ?? (found.length === 1 ? 'train' : undefined);
    if (!split) {
      throw new DataError('KILN_ERR_DATA_FORMAT', join(dir, name), `${dir}: cannot tell which split ${name} is: with several IDX pairs, their names must start with train-, t10k- (or test-) or val-.` +
        fixes([`rename ${name} to train-images-idx3-ubyte${match![2] ?? ''} (and its labels file to match)`]));
    }
    pairs.push({ split, images: join(dir, name), labels: join(dir, labels) });
  }
  if (!pairs.some((p) => p.split === 'train')) {
    throw new DataError('KILN_ERR_DATA_FORMAT', dir, `${dir}: no training pair: expected train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz].` + fixes(['rename the training pair to train-images-idx3-ubyte.gz / train-labels-idx1-ubyte.gz']));
  }
  return pairs;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Reads the IDX dataset at `dir` (or the explicit pair). Throws DataError for any bad file or label. */
export async function loadIdxSource(dir: string, explicit?: { images: string; labels: string; classes?: string }): Promise<IdxDataset> {
  const pairs = explicit ? [{ split: 'train' as SplitName, images: explicit.images, labels: explicit.labels }] : await findIdxPairs(dir);
  const sha256: Record<string, string> = {};
  const files: Record<string, string> = {};
  const rel = (path: string): string => relative(dir, path).split(sep).join('/');
  const splits: Partial<Record<SplitName, IdxSplit>> = {};
  let size: { height: number; width: number } | undefined;
  for (const pair of pairs) {
    const images = await readIdx(pair.images, 'images', size);
    const labels = await readIdx(pair.labels, 'labels');
    if (labels.idx.count !== images.idx.count) {
      throw new DataError('KILN_ERR_DATA_FORMAT', pair.labels, `${pair.labels} holds ${labels.idx.count} labels but ${pair.images} holds ${images.idx.count} images; they must match.` + fixes(['use the labels file that belongs to these images']));
    }
    size = { height: images.idx.rows, width: images.idx.cols };
    for (const [path, sha] of [[pair.images, images.sha256], [pair.labels, labels.sha256]]) {
      sha256[rel(path)] = sha;
      files[rel(path)] = path;
    }
    splits[pair.split] = { pixels: images.idx.data, labels: new Uint8Array(labels.idx.data), count: images.idx.count };
  }
  const classesFile = explicit ? explicit.classes : await findClassesFile(dir);
  const classNames = await classNamesFor(classesFile, splits, dir);
  if (classesFile) {
    sha256[rel(classesFile)] = sha256Hex(await readFile(classesFile));
    files[rel(classesFile)] = classesFile;
  }
  const { height, width } = size!;
  const roles = Object.keys(sha256).sort();
  const splitOf = (file: string): SplitName | undefined => pairs.find((p) => rel(p.images) === file || rel(p.labels) === file)?.split;
  // The file list stands in for the items: same hash, same format as a folder's digest.
  const items = roles.map((file) => ({ path: files[file], relPath: file, label: 0, ...(splitOf(file) ? { split: splitOf(file) } : {}) }));
  const digest = datasetDigest(items, roles.map((f) => sha256[f]), { height, width, channels: 1 });
  return { name: basename(dir), source: dir, height, width, classNames, splits: splits as IdxDataset['splits'], sha256, files, digest };
}

async function readIdx(path: string, kind: 'images' | 'labels', size?: { height: number; width: number }): Promise<{ idx: ReturnType<typeof parseIdx>; sha256: string }> {
  const bytes = await decompressIfGzip(new Uint8Array(await readFile(path)), path);
  // Any image size is fine, but every pair must agree: read the header's own dimensions first.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rows = kind === 'images' ? (size?.height ?? (bytes.length >= 16 ? view.getUint32(8, false) : 28)) : undefined;
  const cols = kind === 'images' ? (size?.width ?? (bytes.length >= 16 ? view.getUint32(12, false) : 28)) : undefined;
  return { idx: parseIdx(bytes, path, { kind, rows, cols }), sha256: sha256Hex(bytes) };
}

async function findClassesFile(dir: string): Promise<string | undefined> {
  const names = await readdir(dir);
  const name = names.find((n) => n.toLowerCase() === 'classes.txt');
  return name ? join(dir, name) : undefined;
}

/** classes.txt's names (one per line, blank lines at the end ignored), checked against the labels; else '0'..'K-1'. */
async function classNamesFor(classesFile: string | undefined, splits: Partial<Record<SplitName, IdxSplit>>, dir: string): Promise<string[]> {
  let maxLabel = -1;
  for (const split of Object.values(splits)) for (const label of split!.labels) if (label > maxLabel) maxLabel = label;
  if (!classesFile) return Array.from({ length: maxLabel + 1 }, (_, i) => String(i));
  const names = (await readFile(classesFile, 'utf8')).replace(/^\uFEFF/, '').split(/\r?\n/).map((l) => l.trim());
  while (names.length > 0 && names[names.length - 1] === '') names.pop();
  const problems: string[] = [];
  names.forEach((n, i) => n === '' && problems.push(`line ${i + 1}: empty class name`));
  const dupes = names.filter((n, i) => n !== '' && names.indexOf(n) !== i);
  for (const d of new Set(dupes)) problems.push(`class ${JSON.stringify(d)} is listed more than once`);
  if (maxLabel >= names.length) problems.push(`labels go up to ${maxLabel} but only ${names.length} names are listed (labels 0..${names.length - 1})`);
  if (names.length > MAX_CLASSES) problems.push(`${names.length} classes; Kiln supports at most ${MAX_CLASSES}`);
  if (problems.length > 0) {
    throw new DataError('KILN_ERR_DATA_FORMAT', classesFile, `${classesFile} (the class names of ${dir}):\n${problems.map((p) => `  ${p}`).join('\n')}` +
      fixes(['write one class name per line, line k naming label k-1']));
  }
  return names;
}
