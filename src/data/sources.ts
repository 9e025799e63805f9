/**
 * data/sources — where the Fashion-MNIST files come from, and how they get verified.
 *
 * A data directory given explicitly (`dataDir` option, else env KILN_DATA_DIR) is the only
 * source: a file missing there is an error, never a silent fall-back to other data.
 * Without one, each of the four files is resolved on its own, trying in order:
 *   1. the Debian package directory `/usr/share/datasets/fashion-mnist/` (`apt-get install dataset-fashion-mnist`);
 *   2. the cache directory (previous downloads; `cacheDir`, default `<KILN_HOME or ./kiln-data>/datasets/fashion-mnist`);
 *   3. a download from the mirrors (canonical S3 mirror, then the GitHub copy), unless `download: false`.
 * In a directory `<file>.gz` is looked for first, then the plain `<file>`; gzip is detected by content.
 *
 * Whatever the source, the decompressed IDX bytes are parsed (magic, dimensions, length) and their
 * sha256 compared with the pins in checksums.ts before anything is returned. A file that is found
 * but fails verification is an error (it is never skipped silently, never returned). Downloads are
 * verified in memory first and only then written to the cache atomically (temp file + rename), so
 * the cache only ever holds verified files and no partial file is left behind by a failure.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { withRetry } from '../common/retry.js';
import { DataError, fixes } from './errors.js';
import { FASHION_MNIST_COUNTS, FASHION_MNIST_FILES, FASHION_MNIST_SHA256, type FashionMnistFile, sha256Hex } from './checksums.js';
import { decompressIfGzip, type IdxData, type IdxKind, isGzip, parseIdx } from './idx.js';

export const DEFAULT_MIRRORS: readonly string[] = Object.freeze([
  'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
  'https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/',
]);

export const DEBIAN_DATA_DIR = '/usr/share/datasets/fashion-mnist';

export type SourceKind = 'dataDir' | 'debian' | 'cache' | 'download';

export interface SourceOptions {
  /** Explicit directory holding the files (plain or .gz). Default: env KILN_DATA_DIR. */
  dataDir?: string;
  /** Debian package directory. Default DEBIAN_DATA_DIR; `null` skips it (tests). */
  debianDir?: string | null;
  /** Where downloads are kept. Default `<KILN_HOME or ./kiln-data>/datasets/fashion-mnist`. */
  cacheDir?: string;
  /** Allow downloading when no local copy exists. Default true. */
  download?: boolean;
  /** Base URLs tried in order; `<base>/<file>.gz` is fetched. Default DEFAULT_MIRRORS. */
  mirrors?: readonly string[];
  /** Extra attempts per mirror after a retryable failure (network error, 5xx, 408, 429, cut-off body). Default 3. */
  retries?: number;
  /** Backoff base: the k-th retry waits a random time up to retryDelayMs * 2^(k-1) (full jitter). Default 1000. */
  retryDelayMs?: number;
  /** Per-request timeout. Default 120000. */
  timeoutMs?: number;
  /** Environment to read KILN_DATA_DIR / KILN_HOME from. Default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Progress messages (which source each file came from, download attempts). */
  log?: (msg: string) => void;
  /**
   * TEST FIXTURES ONLY: replaces the pinned sha256 table (and drops the pinned item counts).
   * Verification still happens, against these values. Never set this for real data.
   */
  expectedSha256?: Readonly<Partial<Record<FashionMnistFile, string>>>;
}

export interface VerifiedFile {
  file: FashionMnistFile;
  /** Path the bytes came from (for downloads: the cache path they were written to). */
  path: string;
  source: SourceKind;
  /** sha256 of the decompressed IDX bytes (equal to the expected value). */
  sha256: string;
  idx: IdxData;
}

export function defaultCacheDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const home = env.KILN_HOME && env.KILN_HOME.length > 0 ? env.KILN_HOME : './kiln-data';
  return resolve(home, 'datasets', 'fashion-mnist');
}

export function idxKindOf(file: FashionMnistFile): IdxKind {
  return file.includes('-images-') ? 'images' : 'labels';
}

interface Resolved {
  dataDir: string | undefined;
  debianDir: string | null;
  cacheDir: string;
  download: boolean;
  mirrors: readonly string[];
  retries: number;
  retryDelayMs: number;
  timeoutMs: number;
  log: (msg: string) => void;
  expected: (file: FashionMnistFile) => string;
  pinned: boolean;
}

function resolveOptions(options: SourceOptions): Resolved {
  const env = options.env ?? process.env;
  const envDir = env.KILN_DATA_DIR && env.KILN_DATA_DIR.length > 0 ? env.KILN_DATA_DIR : undefined;
  const override = options.expectedSha256;
  return {
    dataDir: options.dataDir ?? envDir,
    debianDir: options.debianDir === undefined ? DEBIAN_DATA_DIR : options.debianDir,
    cacheDir: resolve(options.cacheDir ?? defaultCacheDir(env)),
    download: options.download ?? true,
    mirrors: options.mirrors ?? DEFAULT_MIRRORS,
    retries: Math.max(0, Math.floor(options.retries ?? 3)),
    retryDelayMs: Math.max(0, options.retryDelayMs ?? 1000),
    timeoutMs: options.timeoutMs ?? 120_000,
    log: options.log ?? (() => {}),
    expected: (file) => {
      const value = override ? override[file] : FASHION_MNIST_SHA256[file];
      if (!value) throw new TypeError(`no expected sha256 for ${file}`);
      return value;
    },
    pinned: override === undefined,
  };
}

/**
 * Decompresses (when gzip), parses and checksums one file's bytes. Throws DataError
 * (TRUNCATED / FORMAT / CHECKSUM) with fix commands chosen for `source`.
 */
export async function verifyFileBytes(
  raw: Uint8Array,
  file: FashionMnistFile,
  where: string,
  expectedSha256: string,
  options: { source: SourceKind; cacheDir?: string; expectedCount?: number },
): Promise<{ idx: IdxData; sha256: string }> {
  try {
    const bytes = await decompressIfGzip(raw, where);
    const idx = parseIdx(bytes, where, { kind: idxKindOf(file), count: options.expectedCount });
    const actual = sha256Hex(bytes);
    if (actual !== expectedSha256) {
      throw new DataError(
        'KILN_ERR_DATA_CHECKSUM',
        where,
        `${where}: checksum mismatch for Fashion-MNIST ${file}: expected sha256 ${expectedSha256} ` +
          `(of the decompressed IDX bytes), found ${actual}. The file is damaged or is not the canonical ${file}; ` +
          `Kiln never uses unverified data.`,
      );
    }
    return { idx, sha256: actual };
  } catch (err) {
    if (err instanceof DataError) {
      // Replace the generic fix with one that fits where the file lives.
      const base = err.message.replace(/\nTo fix:[\s\S]*$/, '');
      throw new DataError(err.code, err.file, base + fixes(fixCommands(where, options.source, options.cacheDir)), {
        cause: err.cause,
      });
    }
    throw err;
  }
}

function fixCommands(where: string, source: SourceKind, cacheDir: string | undefined): string[] {
  switch (source) {
    case 'debian':
      return [
        'sudo apt-get install --reinstall dataset-fashion-mnist    # restore the packaged files',
        'export KILN_DATA_DIR=/path/to/folder    # or use a folder holding good copies instead',
      ];
    case 'dataDir':
      return [
        `rm ${where}    # delete the bad file (or replace it with a good copy)`,
        'export KILN_DATA_DIR=/path/to/folder    # or point Kiln at a folder holding good copies',
        'unset KILN_DATA_DIR    # or let Kiln use the Debian package / download instead',
      ];
    case 'cache':
      return [`rm ${where}    # delete the bad cached file; the next run downloads it again`];
    case 'download':
      return [
        `the mirror served a bad file; nothing was written to ${cacheDir ?? 'the cache'}. Try again later, or:`,
        'sudo apt-get install dataset-fashion-mnist',
        'export KILN_DATA_DIR=/path/to/folder    # a folder holding the four files (plain or .gz)',
      ];
  }
}

async function findInDir(dir: string, file: FashionMnistFile): Promise<string | undefined> {
  for (const name of [`${file}.gz`, file]) {
    const path = join(dir, name);
    try {
      if ((await stat(path)).isFile()) return path;
    } catch {
      // not there
    }
  }
  return undefined;
}

/** Writes `bytes` to `path` via a temp file in the same directory and a rename; on failure nothing is left. */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    await writeFile(tmp, bytes, { flag: 'wx' });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

class AttemptError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

export function mirrorUrl(mirror: string, file: FashionMnistFile): string {
  return `${mirror.replace(/\/+$/, '')}/${file}.gz`;
}

async function fetchBytes(url: string, timeoutMs: number): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
  } catch (err) {
    throw new AttemptError(`request failed: ${describe(err)}`, true);
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => {});
    const retryable = response.status >= 500 || response.status === 408 || response.status === 429;
    throw new AttemptError(`HTTP ${response.status} ${response.statusText}`.trim(), retryable);
  }
  try {
    return new Uint8Array(await response.arrayBuffer());
  } catch (err) {
    throw new AttemptError(`transfer cut off: ${describe(err)}`, true);
  }
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof Error && cause.message) return `${err.message} (${(cause as { code?: string }).code ?? cause.message})`;
  return err.message;
}

async function download(
  file: FashionMnistFile,
  opts: Resolved,
  failures: string[],
): Promise<VerifiedFile | DataError | undefined> {
  let badContent: DataError | undefined;
  for (const mirror of opts.mirrors) {
    const url = mirrorUrl(mirror, file);
    try {
      const attempt = (n: number): Promise<VerifiedFile> =>
        downloadOnce(file, url, n, opts, failures).catch((err: unknown) => {
          if (err instanceof DataError) badContent = err;
          throw err;
        });
      return await withRetry(attempt, {
        retries: opts.retries,
        baseDelayMs: opts.retryDelayMs,
        // Network errors, 5xx, 408, 429 and cut transfers are worth retrying; wrong content is not.
        retryable: (err) => (err instanceof AttemptError ? err.retryable : err instanceof DataError && err.code === 'KILN_ERR_DATA_TRUNCATED'),
        onRetry: ({ retry, delayMs }) => opts.log(`data: retry ${retry}/${opts.retries} of ${url} in ${Math.round(delayMs)} ms`),
      });
    } catch (err) {
      if (!(err instanceof DataError || err instanceof AttemptError)) throw err;
      // this mirror is spent: try the next one
    }
  }
  return badContent;
}

/** One download of `file` from `url`, verified and saved to the cache; failures are recorded in `failures`. */
async function downloadOnce(file: FashionMnistFile, url: string, attempt: number, opts: Resolved, failures: string[]): Promise<VerifiedFile> {
  opts.log(`data: downloading ${url}${attempt > 0 ? ` (retry ${attempt}/${opts.retries})` : ''}`);
  let raw: Uint8Array;
  try {
    raw = await fetchBytes(url, opts.timeoutMs);
  } catch (err) {
    const message = (err as Error).message;
    failures.push(`${url}: ${message}`);
    opts.log(`data: ${url}: ${message}`);
    throw err;
  }
  const dest = join(opts.cacheDir, isGzip(raw) ? `${file}.gz` : file);
  let verified: { idx: IdxData; sha256: string };
  try {
    verified = await verifyFileBytes(raw, file, url, opts.expected(file), {
      source: 'download',
      cacheDir: opts.cacheDir,
      expectedCount: opts.pinned ? FASHION_MNIST_COUNTS[file] : undefined,
    });
  } catch (err) {
    if (err instanceof DataError) {
      failures.push(`${url}: ${err.message.replace(/\nTo fix:[\s\S]*$/, '')}`);
      opts.log(`data: ${url}: ${err.code}`);
    }
    throw err;
  }
  await writeFileAtomic(dest, raw);
  opts.log(`data: ${file} downloaded from ${url}, verified, saved to ${dest}`);
  return { file, path: dest, source: 'download', ...verified };
}

/** The error for files missing from a data directory given explicitly; it names the folder and every missing file. */
function missingFromDataDir(dir: string, missing: readonly FashionMnistFile[], dirExists: boolean): DataError {
  const where = resolve(dir);
  const problem = dirExists
    ? `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not in the data directory ${where} (expected <name>.gz or <name> for each)`
    : `the data directory ${where} does not exist`;
  return new DataError(
    'KILN_ERR_DATA_NOT_FOUND',
    missing[0] ?? where,
    `Fashion-MNIST not found: ${problem}. A data directory given with --data-dir or $KILN_DATA_DIR must hold all four files ` +
      `(${FASHION_MNIST_FILES.join(', ')}); Kiln does not fall back to the Debian package, the cache or a download when one is given.` +
      fixes([
        `ls ${where}    # see what is there`,
        'drop --data-dir (and unset KILN_DATA_DIR) to use the Debian package, the cache or a download instead',
        'sudo apt-get install dataset-fashion-mnist    # the packaged files, in /usr/share/datasets/fashion-mnist',
      ]),
  );
}

/**
 * Checks that a data directory given explicitly holds the four files (by name; their content is
 * verified when they are read), so that a command can fail before it starts anything.
 */
export async function checkDataDir(dir: string): Promise<void> {
  const dirExists = await stat(dir).then(
    (stats) => stats.isDirectory(),
    () => false,
  );
  const missing: FashionMnistFile[] = [];
  for (const file of FASHION_MNIST_FILES) if (!dirExists || !(await findInDir(dir, file))) missing.push(file);
  if (missing.length > 0) throw missingFromDataDir(dir, missing, dirExists);
}

/** Finds one file through the source chain and returns it verified, or throws DataError. */
export async function obtainFile(file: FashionMnistFile, options: SourceOptions = {}): Promise<VerifiedFile> {
  const opts = resolveOptions(options);
  const looked: string[] = [];
  const dirs: Array<[SourceKind, string | null | undefined]> = opts.dataDir
    ? [['dataDir', opts.dataDir]]
    : [
        ['debian', opts.debianDir],
        ['cache', opts.cacheDir],
      ];
  for (const [source, dir] of dirs) {
    if (!dir) continue;
    const path = await findInDir(dir, file);
    if (!path) {
      if (source === 'dataDir') throw missingFromDataDir(dir, [file], await stat(dir).then(() => true, () => false));
      looked.push(`${join(dir, file)}{.gz,}`);
      continue;
    }
    const raw = new Uint8Array(await readFile(path));
    const verified = await verifyFileBytes(raw, file, path, opts.expected(file), {
      source,
      cacheDir: opts.cacheDir,
      expectedCount: opts.pinned ? FASHION_MNIST_COUNTS[file] : undefined,
    });
    opts.log(`data: ${file} from ${path} (${source}), sha256 verified`);
    return { file, path, source, ...verified };
  }
  const failures: string[] = [];
  if (opts.download) {
    const got = await download(file, opts, failures);
    // A mirror that served bad bytes is reported as such (checksum/format/truncated), not as "not found".
    if (got instanceof DataError) throw got;
    if (got) return got;
  }
  const firstMirror = mirrorUrl(opts.mirrors[0] ?? DEFAULT_MIRRORS[0], file);
  throw new DataError(
    'KILN_ERR_DATA_NOT_FOUND',
    file,
    `Fashion-MNIST file ${file} not found: expected ${file}.gz or ${file} (sha256 of IDX bytes ${opts.expected(file)}).\n` +
      `Looked in:\n${looked.map((l) => `  ${l}`).join('\n')}\n` +
      (opts.download
        ? `Download failed from every mirror:\n${failures.map((f) => `  ${f}`).join('\n')}`
        : 'Downloading is disabled (download: false).') +
      fixes([
        'sudo apt-get install dataset-fashion-mnist    # Debian/Ubuntu package, found automatically',
        'export KILN_DATA_DIR=/path/to/folder    # a folder holding the four files (plain or .gz)',
        `mkdir -p ${opts.cacheDir} && curl -fL -o ${join(opts.cacheDir, `${file}.gz`)} ${firstMirror}`,
      ]),
  );
}
