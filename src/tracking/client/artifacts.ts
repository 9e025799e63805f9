/**
 * tracking/client/artifacts — where a run's files go.
 *
 * Runs carry artifact URIs of the form `mlflow-artifacts:/<experiment>/<run>/artifacts`, the
 * form MLflow uses when its server proxies artifacts. Against a server the files travel over
 * its proxied artifact API; with the embedded store they are written straight into the same
 * layout under the local artifact folder, so `kiln server --artifacts-destination` on that
 * folder serves them unchanged.
 */
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { TrackingError } from '../store/errors.js';

export const PROXY_SCHEME = 'mlflow-artifacts:';

export interface ArtifactRepository {
  /** Copies every file under `localDir` to `<artifactUri>/<artifactPath>/…`. */
  uploadDirectory(localDir: string, artifactUri: string, artifactPath: string): Promise<number>;
  /** Copies one file to `<artifactUri>/<artifactPath>/<its name>` (`artifactPath` '' for the root). */
  uploadFile(localFile: string, artifactUri: string, artifactPath: string): Promise<void>;
}

/** The path below the artifact root that a `mlflow-artifacts:` URI names. */
export function proxiedPath(artifactUri: string): string {
  if (!artifactUri.startsWith(PROXY_SCHEME)) {
    throw new TrackingError('INVALID_PARAMETER_VALUE', `artifact URI ${artifactUri} is not a ${PROXY_SCHEME} URI`);
  }
  return artifactUri.slice(PROXY_SCHEME.length).replace(/^\/+/, '');
}

/** Every file below `dir`, recursively, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out.sort();
}

/** Writes into a local folder laid out as the server's `--artifacts-destination`. */
export class LocalArtifactRepository implements ArtifactRepository {
  constructor(readonly destination: string) {}

  async uploadDirectory(localDir: string, artifactUri: string, artifactPath: string): Promise<number> {
    const target = join(this.destination, proxiedPath(artifactUri), artifactPath);
    const files = await listFiles(localDir);
    for (const file of files) await this.copy(file, join(target, relative(localDir, file)));
    return files.length;
  }

  async uploadFile(localFile: string, artifactUri: string, artifactPath: string): Promise<void> {
    await this.copy(localFile, join(this.destination, proxiedPath(artifactUri), artifactPath, basename(localFile)));
  }

  private async copy(file: string, to: string): Promise<void> {
    await mkdir(dirname(to), { recursive: true });
    // Copy beside, then rename: a reader never sees half a file.
    const staging = `${to}.tmp-${process.pid}`;
    try {
      await copyFile(file, staging);
      await rename(staging, to);
    } catch (error) {
      await rm(staging, { force: true });
      throw error;
    }
  }
}

/** Uploads through a tracking server's proxied artifact API. */
export class HttpArtifactRepository implements ArtifactRepository {
  constructor(
    readonly url: string,
    private readonly authorization?: string,
  ) {}

  async uploadDirectory(localDir: string, artifactUri: string, artifactPath: string): Promise<number> {
    const files = await listFiles(localDir);
    for (const file of files) await this.put(file, artifactUri, [artifactPath, ...relative(localDir, file).split(sep)]);
    return files.length;
  }

  async uploadFile(localFile: string, artifactUri: string, artifactPath: string): Promise<void> {
    await this.put(localFile, artifactUri, [artifactPath, basename(localFile)]);
  }

  private async put(file: string, artifactUri: string, segments: string[]): Promise<void> {
    const base = `${this.url.replace(/\/+$/, '')}/api/2.0/mlflow-artifacts/artifacts/${proxiedPath(artifactUri)}`;
    const path = segments.flatMap((segment) => segment.split('/')).filter((segment) => segment !== '').map(encodeURIComponent).join('/');
    const size = (await stat(file)).size;
    const response = await fetch(`${base}/${path}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size), ...(this.authorization ? { authorization: this.authorization } : {}) },
      body: Readable.toWeb(createReadStream(file)) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    if (!response.ok) {
      const text = await response.text();
      throw new TrackingError('INTERNAL_ERROR', `uploading ${file} to ${base}/${path} failed: HTTP ${response.status} ${text}`);
    }
  }
}
