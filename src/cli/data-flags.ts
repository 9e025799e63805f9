/**
 * cli/data-flags — the options that say what a command learns from (`--data` and how to read it),
 * shared by `kiln train`, `kiln tune` and `kiln start`. Their values take the configuration's shape
 * (the `data:` section of kiln.yml, pipeline/config-schema), so flags, file and environment are
 * validated and reported (`--dry-run`) the same way.
 */
import type { Command } from 'commander';
import type { DataOptions } from '../data/data-spec.js';
import type { LabelledDataset } from '../data/labelled.js';
import type { DataConfig } from '../pipeline/config-schema.js';
import { CliError, InvalidOptionError } from './errors.js';
import { optionInteger, optionNumber } from './parse.js';

export interface DataFlags {
  data?: string;
  imageSize?: string;
  color?: string;
  valSize?: string;
  testSize?: string;
  splitSeed?: string;
  maxMemory?: string;
  skipBadImages?: boolean;
  dataCache?: string;
  dataDir?: string;
}

export function addDataOptions(command: Command): Command {
  return command
    .option('--data <spec>', 'what to learn from: fashion-mnist (default), a folder of class subfolders (optionally train/ val/ test/), a .csv/.jsonl manifest (path,label[,split]), or a folder of IDX files; env KILN_DATA, kiln.yml data.source')
    .option('--image-size <n|HxW>', 'size every image is resized to (default: the median size, capped at 64)')
    .option('--color <mode>', 'gray or rgb (default: gray when every image is gray)')
    .option('--val-size <n>', 'validation split when the data has none: a count, or a fraction below 1 of train (default 0.1)')
    .option('--test-size <n>', 'test split when the data has none: a count, or a fraction below 1 (default 0.2)')
    .option('--split-seed <n>', 'seed of the stratified splits (default 42)')
    .option('--max-memory <size>', 'largest decoded dataset to hold in memory, e.g. 2GiB (default 1GiB)')
    .option('--skip-bad-images', 'skip and count images that cannot be decoded instead of stopping')
    .option('--data-cache <check>', 'how a later load sees that the images are unchanged: files (default: one stat per file), folders (one stat per folder: fast, but an image rewritten in place under its old name is not seen), rebuild (decode again)');
}

/**
 * The data flags in configuration shape (absent flags stay absent, so file and environment can
 * set them); with `env`, `KILN_DATA` stands in for an absent `--data` (commands without kiln.yml).
 */
export function dataFlagValues(flags: DataFlags, env?: Readonly<Record<string, string | undefined>>): Partial<DataConfig> {
  const values: Partial<DataConfig> = {};
  const source = flags.data ?? (env?.KILN_DATA || undefined);
  if (source !== undefined) values.source = source;
  if (flags.imageSize !== undefined) values.image_size = flags.imageSize;
  if (flags.color !== undefined) {
    if (flags.color !== 'gray' && flags.color !== 'rgb') throw new InvalidOptionError('--color', `expected gray or rgb, got "${flags.color}"`);
    values.color = flags.color;
  }
  if (flags.valSize !== undefined) values.val_size = optionNumber('--val-size', flags.valSize);
  if (flags.testSize !== undefined) values.test_size = optionNumber('--test-size', flags.testSize);
  if (flags.splitSeed !== undefined) values.split_seed = optionInteger('--split-seed', flags.splitSeed);
  if (flags.maxMemory !== undefined) values.max_memory = flags.maxMemory;
  if (flags.skipBadImages) values.skip_bad_images = true;
  if (flags.dataCache !== undefined) {
    if (flags.dataCache !== 'files' && flags.dataCache !== 'folders' && flags.dataCache !== 'rebuild') throw new InvalidOptionError('--data-cache', `expected files, folders or rebuild, got "${flags.dataCache}"`);
    values.cache = flags.dataCache;
  }
  return values;
}

/** `--data-dir` names Fashion-MNIST's own files: with another dataset it would be silently ignored. */
export function checkDataDirWithData(flags: DataFlags, source: string | undefined): void {
  if (flags.dataDir !== undefined && source !== undefined && source !== 'fashion-mnist') {
    throw new CliError('KILN_ERR_USAGE', `--data-dir is the folder of Fashion-MNIST's four files; it cannot be combined with --data ${source} (drop one of them)`);
  }
}

/** Where the data loads to and reports, beside what the configuration says. */
export interface DataContext {
  home: string;
  dataDir?: string;
  log?: (line: string) => void;
  progress?: NodeJS.WritableStream | null;
}

/**
 * The data options a command was asked for (Fashion-MNIST when `data` is absent), every value
 * parsed, so that a bad one fails before the engine loads. The data area loads only here, so
 * `kiln serve` and `kiln --help` never pay for it.
 */
export async function dataOptionsFor(data: Partial<DataConfig> | undefined, context: DataContext): Promise<DataOptions> {
  const { dataOptionsFromFlags } = await import('../data/index.js');
  const parsed = dataOptionsFromFlags({
    data: data?.source,
    imageSize: data?.image_size,
    color: data?.color,
    valSize: data?.val_size,
    testSize: data?.test_size,
    splitSeed: data?.split_seed,
    maxMemory: data?.max_memory,
    skipBadImages: data?.skip_bad_images,
    cache: data?.cache,
    dataDir: context.dataDir,
  });
  return { ...parsed, home: context.home, log: context.log, progress: context.progress ?? null };
}

export async function loadData(options: DataOptions): Promise<LabelledDataset> {
  const { loadDataset } = await import('../data/index.js');
  return loadDataset(options);
}
