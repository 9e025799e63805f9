/**
 * data/data-spec — what a user writes to choose a dataset (`--data`, `--image-size`, `--val-size`,
 * `--test-size`, `--max-memory`, …) parsed into DataOptions and a DataSource, with the defaults.
 *
 * Parsing lives apart from loading so that the CLI, kiln.yml and the library all accept exactly
 * the same spellings and reject bad ones with the same coded messages (KILN_ERR_DATA_OPTION),
 * before anything is read from disk.
 */
import { stat, readdir } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import { DataError, fixes } from './errors.js';
import type { ColorMode, Normalization } from './labelled.js';
import { BUILTIN_DATASET } from './builtin.js';

export interface DataOptions {
  /** 'fashion-mnist' (default) | folder path | *.csv / *.jsonl manifest | IDX folder | 'idx:<images>,<labels>[,<classes.txt>]'. */
  data?: string;
  /** [height, width]; else inferred: the median size, capped at 64 per side. */
  imageSize?: [number, number];
  /** Else inferred: gray iff every sampled image is gray. */
  color?: ColorMode;
  /** Validation size: a count (>= 1) or a fraction (< 1) of what is left after the test split. Default 0.1. */
  valSize?: number;
  /** Test size: a count (>= 1) or a fraction (< 1) of all items. Default 0.2. */
  testSize?: number;
  /** Seed of the stratified split (independent of a run's --seed). Default 42. */
  splitSeed?: number;
  /** Budget for the decoded float32 tensors, in bytes. Default 1 GiB. */
  maxMemoryBytes?: number;
  /** Drop undecodable images (and files that are not images) with a warning instead of failing. */
  skipBadImages?: boolean;
  /** How a later load tells that a dataset is unchanged since it was decoded (see DataCacheCheck). Default 'files'. */
  cache?: DataCacheCheck;
  /** Override; else Fashion-MNIST's constants for the builtin, computed on train for others. */
  normalize?: Normalization;
  /** Fashion-MNIST's explicit folder (today's --data-dir); builtin only. */
  dataDir?: string;
  /** Kiln's home: decoded tensors are cached under <home>/cache/datasets/. */
  home: string;
  log?: (line: string) => void;
  /** A TTY stream gets a progress bar during the first decode. */
  progress?: NodeJS.WritableStream | null;
}

/**
 * How a load of own data decides that the tensors it decoded before still hold:
 *   files    (default) the folders are listed and every file stat'ed (size, mtime, ctime, inode):
 *            any change is seen, an image rewritten in place under its old name included;
 *   folders  only the folders (and a manifest) are stat'ed, nothing is listed: an added, removed,
 *            renamed or moved file, a new class or an edited manifest is seen, an image rewritten
 *            in place under its old name is NOT. For large datasets that only grow, and for file
 *            systems where a stat costs a network round trip;
 *   rebuild  the cache is not read: every image is decoded again and the cache rewritten.
 */
export type DataCacheCheck = 'files' | 'folders' | 'rebuild';
export const DATA_CACHE_CHECKS: readonly DataCacheCheck[] = ['files', 'folders', 'rebuild'];

export const DEFAULT_VAL_SIZE = 0.1;
export const DEFAULT_TEST_SIZE = 0.2;
export const DEFAULT_SPLIT_SEED = 42;
export const DEFAULT_MAX_MEMORY_BYTES = 1024 ** 3;
/** Inferred sizes are capped to this many pixels per side (an explicit --image-size is not). */
export const MAX_INFERRED_SIDE = 64;
/** An explicit --image-size beyond this is refused (a typo like 2800 would otherwise hit the memory check). */
export const MAX_IMAGE_SIDE = 1024;

/** Where a dataset comes from, once `--data` has been looked at. */
export type DataSource =
  | { kind: 'builtin' }
  | { kind: 'folder'; path: string }
  | { kind: 'manifest'; path: string; format: 'csv' | 'jsonl' }
  | { kind: 'idx'; path: string; pairs?: { images: string; labels: string }; classes?: string };

function optionError(flag: string, value: string, expected: string, examples: string[]): DataError {
  return new DataError('KILN_ERR_DATA_OPTION', flag, `${flag} ${JSON.stringify(value)}: expected ${expected}.` + fixes(examples));
}

/** `32` → [32, 32]; `32x48` → [32, 48] (height x width). */
export function parseImageSize(text: string): [number, number] {
  const match = /^\s*(\d+)\s*(?:[xX×]\s*(\d+)\s*)?$/.exec(text);
  const height = match ? Number(match[1]) : NaN;
  const width = match ? Number(match[2] ?? match[1]) : NaN;
  if (!(height >= 1 && width >= 1 && height <= MAX_IMAGE_SIDE && width <= MAX_IMAGE_SIDE)) {
    throw optionError('--image-size', text, `a size in pixels from 1 to ${MAX_IMAGE_SIDE}: N (square) or HxW`, ['--image-size 32', '--image-size 32x48    # height x width']);
  }
  return [height, width];
}

/** `gray` | `grey` | `rgb` (also `color`/`colour`). */
export function parseColor(text: string): ColorMode {
  const t = text.trim().toLowerCase();
  if (t === 'gray' || t === 'grey' || t === 'grayscale' || t === 'greyscale') return 'gray';
  if (t === 'rgb' || t === 'color' || t === 'colour') return 'rgb';
  throw optionError('--color', text, 'gray or rgb', ['--color gray', '--color rgb']);
}

/** A split size: a count (an integer >= 1), a fraction in [0, 1), or a percentage like `15%`. */
export function parseSplitSize(text: string, flag = '--val-size'): number {
  const t = text.trim();
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(t);
  const value = percent ? Number(percent[1]) / 100 : /^\d+(?:\.\d+)?$/.test(t) ? Number(t) : NaN;
  if (!(value >= 0) || (value >= 1 && !Number.isInteger(value)) || (percent && value >= 1)) {
    throw optionError(flag, text, 'a count of images (an integer >= 1) or a fraction below 1', [`${flag} 500`, `${flag} 0.15`, `${flag} 15%`]);
  }
  return value;
}

/** `files` | `folders` | `rebuild` (see DataCacheCheck). */
export function parseDataCache(text: string): DataCacheCheck {
  const t = text.trim().toLowerCase();
  if ((DATA_CACHE_CHECKS as readonly string[]).includes(t)) return t as DataCacheCheck;
  throw optionError('--data-cache', text, DATA_CACHE_CHECKS.join(', ').replace(/, (\w+)$/, ' or $1'), ['--data-cache files      # every file stat\'ed (default)', '--data-cache folders    # folders only: fast, but misses an image rewritten in place', '--data-cache rebuild    # decode again']);
}

const BYTE_UNITS: Record<string, number> = {
  '': 1, b: 1,
  kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12,
  k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4,
  kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4,
};

/** `2GiB`, `512MB`, `1.5g`, `1000000` → bytes (MB/GB are decimal, MiB/GiB and bare K/M/G binary). */
export function parseByteSize(text: string, flag = '--max-memory'): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = match ? BYTE_UNITS[match[2].toLowerCase()] : undefined;
  const bytes = match && unit !== undefined ? Math.floor(Number(match[1]) * unit) : NaN;
  if (!(bytes > 0)) throw optionError(flag, text, 'a size such as 2GiB, 512MB or 1500000000 (bytes)', [`${flag} 2GiB`, `${flag} 512MiB`]);
  return bytes;
}

const MANIFEST_FORMATS: Record<string, 'csv' | 'jsonl'> = { '.csv': 'csv', '.jsonl': 'jsonl', '.ndjson': 'jsonl' };
/** `<prefix>-images-idx3-ubyte[.gz]`, as MNIST and Fashion-MNIST name their files. */
export const IDX_IMAGES_FILE = /^(.+)-images[-.]idx3-ubyte(\.gz)?$/;

/**
 * Looks at `--data` (and the disk, to tell a folder of IDX files from an image folder).
 * Throws KILN_ERR_DATA_NOT_FOUND when the path does not exist.
 */
export async function resolveDataSource(spec: string | undefined, cwd = process.cwd()): Promise<DataSource> {
  if (spec === undefined || spec.trim() === '' || spec.trim().toLowerCase() === BUILTIN_DATASET) return { kind: 'builtin' };
  if (spec.startsWith('idx:')) return explicitIdx(spec.slice(4), cwd);
  const path = resolve(cwd, spec);
  const info = await stat(path).catch(() => null);
  if (!info) {
    throw new DataError('KILN_ERR_DATA_NOT_FOUND', path, `--data ${spec}: ${path} does not exist.` +
      fixes(['--data ./my-images         # a folder with one subfolder per class', '--data ./labels.csv        # a CSV manifest with a header path,label[,split]', '--data fashion-mnist       # the built-in dataset']));
  }
  if (info.isFile()) {
    const format = MANIFEST_FORMATS[extname(path).toLowerCase()];
    if (!format) throw optionError('--data', spec, 'a folder, a .csv or .jsonl manifest, idx:<images>,<labels>, or fashion-mnist', ['--data ./my-images', '--data ./labels.csv', '--data idx:train-images-idx3-ubyte.gz,train-labels-idx1-ubyte.gz']);
    return { kind: 'manifest', path, format };
  }
  const names = await readdir(path);
  if (names.some((name) => IDX_IMAGES_FILE.test(name))) return { kind: 'idx', path };
  return { kind: 'folder', path };
}

function explicitIdx(list: string, cwd: string): DataSource {
  const parts = list.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length < 2 || parts.length > 3) {
    throw optionError('--data', `idx:${list}`, 'idx:<images>,<labels>[,<classes.txt>]', ['--data idx:./train-images-idx3-ubyte.gz,./train-labels-idx1-ubyte.gz,./classes.txt']);
  }
  const [images, labels, classes] = parts.map((p) => resolve(cwd, p));
  return { kind: 'idx', path: resolve(images, '..'), pairs: { images, labels }, ...(classes ? { classes } : {}) };
}

/** The short name of a source: the folder's or manifest's base name (without extension). */
export function sourceName(path: string): string {
  const base = basename(path);
  const ext = extname(base);
  return ext && MANIFEST_FORMATS[ext.toLowerCase()] ? base.slice(0, -ext.length) : base;
}

/**
 * The name loadDataset gives the data `spec` names, without touching the disk: 'fashion-mnist',
 * else the folder's or manifest's base name (an `idx:` pair: its images file's folder).
 */
export function datasetName(spec: string | undefined, cwd = process.cwd()): string {
  if (spec === undefined || spec.trim() === '' || spec.trim().toLowerCase() === BUILTIN_DATASET) return BUILTIN_DATASET;
  if (spec.startsWith('idx:')) return basename(resolve(cwd, spec.slice(4).split(',')[0]!.trim(), '..'));
  return sourceName(resolve(cwd, spec));
}

/** The data flags as a CLI or kiln.yml gives them: strings (or numbers, from YAML), all optional. */
export interface DataFlags {
  data?: string;
  imageSize?: string | number;
  color?: string;
  valSize?: string | number;
  testSize?: string | number;
  splitSeed?: string | number;
  maxMemory?: string | number;
  skipBadImages?: boolean;
  cache?: string;
  dataDir?: string;
}

/**
 * DataOptions from flags (everything but home, log and progress), each checked with the parsers
 * above, so `--image-size 32x48` on the command line and `imageSize: 32x48` in kiln.yml mean the same.
 */
export function dataOptionsFromFlags(flags: DataFlags): Omit<DataOptions, 'home' | 'log' | 'progress'> {
  const text = (value: string | number): string => String(value);
  const out: Omit<DataOptions, 'home' | 'log' | 'progress'> = {};
  if (flags.data !== undefined) out.data = flags.data;
  if (flags.imageSize !== undefined) out.imageSize = parseImageSize(text(flags.imageSize));
  if (flags.color !== undefined) out.color = parseColor(flags.color);
  if (flags.valSize !== undefined) out.valSize = parseSplitSize(text(flags.valSize), '--val-size');
  if (flags.testSize !== undefined) out.testSize = parseSplitSize(text(flags.testSize), '--test-size');
  if (flags.splitSeed !== undefined) {
    const seed = Number(flags.splitSeed);
    if (!Number.isSafeInteger(seed) || seed < 0) throw optionError('--split-seed', text(flags.splitSeed), 'a non-negative integer', ['--split-seed 42']);
    out.splitSeed = seed;
  }
  if (flags.maxMemory !== undefined) out.maxMemoryBytes = parseByteSize(text(flags.maxMemory));
  if (flags.skipBadImages !== undefined) out.skipBadImages = flags.skipBadImages;
  if (flags.cache !== undefined) out.cache = parseDataCache(flags.cache);
  if (flags.dataDir !== undefined) out.dataDir = flags.dataDir;
  return out;
}
