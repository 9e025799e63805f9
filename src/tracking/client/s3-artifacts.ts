/**
 * tracking/client/s3-artifacts — the embedded store's artifacts in S3: with
 * `KILN_ARTIFACTS_DESTINATION=s3://bucket/prefix` (or `kiln start --artifacts-destination`)
 * a run's files are written straight into the bucket in the layout `kiln server` serves from
 * the same destination, and a registered model is read back from it for `kiln serve`.
 * The bucket access itself (credentials, MLFLOW_S3_ENDPOINT_URL, streaming multipart uploads,
 * path checks) is the tracking server's S3 storage, reused rather than duplicated.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { S3ArtifactStorage } from '../server/s3-artifact-storage.js';
import { safeSegments } from '../server/artifact-storage.js';
import { type ArtifactRepository, listFiles, proxiedPath } from './artifacts.js';

type Env = Readonly<Record<string, string | undefined>>;

export class S3ArtifactRepository implements ArtifactRepository {
  private storage: Promise<S3ArtifactStorage> | null = null;

  constructor(
    readonly destination: string,
    private readonly env: Env = process.env,
  ) {}

  /** Connected on first use, so opening a session that never logs a file needs no bucket. */
  private open(): Promise<S3ArtifactStorage> {
    this.storage ??= S3ArtifactStorage.open(this.destination, this.env);
    return this.storage;
  }

  async uploadDirectory(localDir: string, artifactUri: string, artifactPath: string): Promise<number> {
    const storage = await this.open();
    const base = [...safeSegments(proxiedPath(artifactUri), false), ...safeSegments(artifactPath, false)];
    const files = await listFiles(localDir);
    for (const file of files) {
      const segments = [...base, ...relative(localDir, file).split(sep)];
      await storage.write(segments, createReadStream(file), Number.POSITIVE_INFINITY);
    }
    return files.length;
  }

  async uploadFile(localFile: string, artifactUri: string, artifactPath: string): Promise<void> {
    const storage = await this.open();
    const segments = [...safeSegments(proxiedPath(artifactUri), false), ...safeSegments(artifactPath, false), basename(localFile)];
    await storage.write(segments, createReadStream(localFile), Number.POSITIVE_INFINITY);
  }

  /** Downloads every file below `path` (a path under the destination) into `target`; the number of files. */
  async downloadDirectory(path: string, target: string): Promise<number> {
    const storage = await this.open();
    let count = 0;
    const walk = async (segments: string[], into: string): Promise<void> => {
      for (const entry of await storage.list(segments)) {
        if (entry.is_dir) {
          await walk([...segments, entry.path], join(into, entry.path));
          continue;
        }
        const file = await storage.read([...segments, entry.path]);
        const to = join(into, entry.path);
        await mkdir(dirname(to), { recursive: true });
        await pipeline(file.stream, createWriteStream(to));
        count += 1;
      }
    };
    await walk(safeSegments(path, false), target);
    return count;
  }

  async close(): Promise<void> {
    if (this.storage) await (await this.storage.catch(() => null))?.close();
  }
}
