/**
 * tracking/server/artifact-storage — what the proxied artifact API stores through
 * (`ArtifactStorage`), the client-path checks every implementation shares (`safeSegments`),
 * and the local-folder implementation (`--artifacts-destination <dir>`); the S3 one is in
 * s3-artifact-storage.ts, and artifact-destination.ts picks one by the destination URI.
 *
 * Every path comes from a client, so each is checked before anything touches the disk:
 * segments must not be empty, `.`, `..`, absolute, or carry `\`, NUL or a leftover percent
 * escape (double encoding); the joined path must stay below the root; and the real path of the
 * deepest existing ancestor must too, so a symlink inside the root cannot lead outside it.
 * Uploads stream into a temp file beside the target and are renamed into place (readers never
 * see half a file), with a byte limit enforced while streaming.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { dirname, extname, basename, join, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { TrackingError } from '../store/errors.js';

export const TEMP_PREFIX = '.kiln-upload-';

export class PayloadTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`Artifact is larger than the limit of ${limit} bytes`);
  }
}

/** A client path refused: 400 INVALID_PARAMETER_VALUE. */
export const unsafe = (what: string): TrackingError =>
  new TrackingError('INVALID_PARAMETER_VALUE', `Invalid artifact path: ${what}`);

/**
 * Splits a client path into safe segments. `encoded` paths (raw URL paths) are percent-decoded
 * once per segment, so an encoded `/` (%2F) cannot create a new segment. An empty path gives [].
 */
export function safeSegments(path: string, encoded: boolean): string[] {
  if (path.includes('\\')) throw unsafe('backslashes are not allowed');
  if (path.includes('\0') || /%00/i.test(path)) throw unsafe('NUL bytes are not allowed');
  if (path === '') return [];
  if (path.startsWith('/')) throw unsafe('absolute paths are not allowed');
  const trimmed = path.endsWith('/') ? path.slice(0, -1) : path;
  return trimmed.split('/').map((raw, index) => {
    let segment = raw;
    if (encoded) {
      try {
        segment = decodeURIComponent(raw);
      } catch {
        throw unsafe('malformed percent-encoding');
      }
    }
    if (segment === '' || segment === '.' || segment === '..') throw unsafe(`'${segment}' segments are not allowed`);
    if (segment.includes('/') || segment.includes('\\') || segment.includes('\0')) throw unsafe('encoded separators are not allowed');
    if (/%[0-9a-f]{2}/i.test(segment)) throw unsafe('double-encoded characters are not allowed');
    if (index === 0 && /^[a-zA-Z]:/.test(segment)) throw unsafe('drive-letter paths are not allowed');
    return segment;
  });
}

export interface ArtifactFile {
  path: string;
  is_dir: boolean;
  file_size?: number;
}

/** A stored artifact opened for download. */
export interface ArtifactDownload {
  stream: Readable;
  size: number;
  /** Where it lives (a file path or an object key): its name decides the content type. */
  path: string;
}

/**
 * Where the proxied artifact API keeps files. Segments come from `safeSegments`; every method
 * answers client mistakes with a TrackingError (4xx) and never touches anything outside its root.
 */
export interface ArtifactStorage {
  /** The destination as given to the server (for logs), credentials never included. */
  readonly description: string;
  /** The real path of the root when artifacts live in a local folder (experiments may name paths inside it). */
  readonly localRoot?: string;
  /** Streams `source` to the file at `segments`, replacing it whole; PayloadTooLargeError past `limit` bytes. */
  write(segments: string[], source: Readable, limit: number): Promise<number>;
  /** Opens a file for download; RESOURCE_DOES_NOT_EXIST when absent. */
  read(segments: string[]): Promise<ArtifactDownload>;
  /** Lists one folder: basenames (MLflow's mlflow-artifacts list) or, with `prefix`, paths joined onto it. */
  list(segments: string[], prefix?: string): Promise<ArtifactFile[]>;
  /** Removes a file or a whole folder; RESOURCE_DOES_NOT_EXIST when neither exists. */
  delete(segments: string[]): Promise<void>;
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.txt': 'text/plain; charset=utf-8',
  '.log': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.yaml': 'text/plain; charset=utf-8',
  '.yml': 'text/plain; charset=utf-8',
  '.csv': 'text/plain; charset=utf-8',
  '.py': 'text/plain; charset=utf-8',
  // Active content is served as text: a stored artifact must never run in the browser.
  '.html': 'text/plain; charset=utf-8',
  '.htm': 'text/plain; charset=utf-8',
  '.svg': 'text/plain; charset=utf-8',
  '.js': 'text/plain; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.pdf': 'application/pdf',
};

export function contentType(path: string): string {
  if (basename(path) === 'MLmodel') return 'text/plain; charset=utf-8';
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

export class LocalArtifactStorage implements ArtifactStorage {
  private constructor(
    readonly root: string,
    readonly description: string,
  ) {}

  /** Creates the destination folder if needed; `root` is its real path. */
  static async open(destination: string): Promise<LocalArtifactStorage> {
    await mkdir(destination, { recursive: true });
    return new LocalArtifactStorage(await realpath(destination), destination);
  }

  get localRoot(): string {
    return this.root;
  }

  async close(): Promise<void> {}

  private inside(real: string): boolean {
    return real === this.root || real.startsWith(this.root + sep);
  }

  private lexical(segments: string[]): string {
    const path = join(this.root, ...segments);
    if (!this.inside(path)) throw unsafe('the path leaves the artifact root');
    return path;
  }

  /** Real path of `path` (which must exist) checked to be inside the root. */
  private async realInside(path: string): Promise<string> {
    const real = await realpath(path);
    if (!this.inside(real)) throw unsafe('the path leads outside the artifact root');
    return real;
  }

  /** Checks the deepest existing ancestor of `path` (itself included) against the root. */
  private async checkAncestors(path: string): Promise<void> {
    let current = path;
    while (!(await exists(current))) {
      const parent = dirname(current);
      if (parent === current) break;
      current = parent;
    }
    await this.realInside(current);
  }

  async write(segments: string[], source: Readable, limit: number): Promise<number> {
    if (segments.length === 0) throw unsafe('an artifact path is required');
    const target = this.lexical(segments);
    const parent = dirname(target);
    await this.checkAncestors(parent);
    await mkdir(parent, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOTDIR' || error.code === 'EEXIST') throw unsafe(`a parent of '${segments.join('/')}' is a file`);
      throw error;
    });
    await this.realInside(parent);
    const existing = await lstat(target).catch(() => undefined);
    if (existing?.isDirectory()) throw unsafe(`'${segments.join('/')}' is a directory`);
    const temp = join(parent, `${TEMP_PREFIX}${randomUUID()}`);
    try {
      const bytes = await writeLimited(source, temp, limit);
      await rename(temp, target);
      return bytes;
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  async read(segments: string[]): Promise<ArtifactDownload> {
    if (segments.length === 0) throw unsafe('an artifact path is required');
    const target = this.lexical(segments);
    await this.checkAncestors(target);
    if (!(await exists(target))) throw new TrackingError('RESOURCE_DOES_NOT_EXIST', `Artifact '${segments.join('/')}' does not exist`);
    const real = await this.realInside(target);
    const info = await stat(real);
    if (!info.isFile()) throw unsafe(`'${segments.join('/')}' is not a file`);
    return { stream: createReadStream(real), size: info.size, path: target };
  }

  async list(segments: string[], prefix?: string): Promise<ArtifactFile[]> {
    const target = this.lexical(segments);
    if (!(await exists(target))) return [];
    const real = await this.realInside(target);
    if (!(await stat(real)).isDirectory()) return [];
    const files: ArtifactFile[] = [];
    const entries = await readdir(real, { withFileTypes: true });
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (entry.name.startsWith(TEMP_PREFIX)) continue;
      const path = prefix === undefined || prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      // Symlinks and special files are not listed: what they point at is not ours to describe.
      if (entry.isDirectory()) files.push({ path, is_dir: true });
      else if (entry.isFile()) files.push({ path, is_dir: false, file_size: (await lstat(join(real, entry.name))).size });
    }
    return files;
  }

  async delete(segments: string[]): Promise<void> {
    if (segments.length === 0) throw unsafe('an artifact path is required');
    const target = this.lexical(segments);
    await this.checkAncestors(dirname(target));
    if (!(await exists(target))) throw new TrackingError('RESOURCE_DOES_NOT_EXIST', `Artifact '${segments.join('/')}' does not exist`);
    // rm removes a symlink itself, never what it points to.
    await rm(target, { recursive: true });
  }
}

/** Streams `source` into a new file, failing with PayloadTooLargeError past `limit` bytes. */
function writeLimited(source: Readable, path: string, limit: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(path, { flags: 'wx', mode: 0o644 });
    let bytes = 0;
    let settled = false;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('error', onError);
      source.off('aborted', onAborted);
      if (error) {
        // Leave the request readable-but-discarded so the server can still answer.
        source.resume();
        out.destroy();
        out.once('close', () => reject(error));
      } else {
        resolve(bytes);
      }
    };
    const onData = (chunk: Buffer): void => {
      bytes += chunk.length;
      if (bytes > limit) return finish(new PayloadTooLargeError(limit));
      if (!out.write(chunk)) {
        source.pause();
        out.once('drain', () => source.resume());
      }
    };
    const onEnd = (): void => {
      if (settled) return;
      out.end(() => finish());
    };
    const onError = (error: Error): void => finish(error);
    const onAborted = (): void => finish(new TrackingError('BAD_REQUEST', 'Upload aborted by the client'));
    out.on('error', onError);
    source.on('data', onData);
    source.on('end', onEnd);
    source.on('error', onError);
    source.on('aborted', onAborted);
  });
}
