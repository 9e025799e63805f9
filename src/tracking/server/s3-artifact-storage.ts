/**
 * tracking/server/s3-artifact-storage — the proxied artifact API's files in an S3 bucket
 * (`--artifacts-destination s3://bucket/prefix`), for AWS or any S3-compatible server.
 *
 * The client is the AWS SDK for JavaScript v3 with its standard credential chain (environment,
 * shared config and credentials files, SSO, web identity, container and instance roles). Like
 * MLflow, `MLFLOW_S3_ENDPOINT_URL` points it at an S3-compatible server; such servers get
 * path-style addressing, and checksums only where S3 requires them (many do not speak the
 * SDK's newer default trailing checksums).
 *
 * An artifact path is the object key `<prefix>/<segments…>`; the segments have passed
 * `safeSegments`, so a key never leaves the prefix. Uploads stream through `@aws-sdk/lib-storage`
 * (multipart past one part, parts buffered a few at a time, never the whole file) with the
 * byte limit enforced while streaming; an object appears only when its upload completes, so
 * readers never see half a file. Folders are key prefixes, listed with a `/` delimiter, and
 * the local store's rules carry over: no file below a file, no file over a folder.
 * Failures of the object store itself are 503 TEMPORARILY_UNAVAILABLE, never a client's fault.
 */
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { Transform, type Readable } from 'node:stream';
import { KilnError } from '../../common/errors.js';
import { TrackingError } from '../store/errors.js';
import { PayloadTooLargeError, safeSegments, unsafe, type ArtifactDownload, type ArtifactFile, type ArtifactStorage } from './artifact-storage.js';

/**
 * The AWS SDK (about 200 ms and several MB to load) is loaded when an s3:// destination is
 * opened, not by every `kiln` command that imports the tracking client.
 */
let aws: { s3: typeof import('@aws-sdk/client-s3'); storage: typeof import('@aws-sdk/lib-storage') } | null = null;
async function loadSdk(): Promise<NonNullable<typeof aws>> {
  aws ??= { s3: await import('@aws-sdk/client-s3'), storage: await import('@aws-sdk/lib-storage') };
  return aws;
}
/** The SDK, once an S3ArtifactStorage has been opened (every instance method runs after that). */
function sdk(): NonNullable<typeof aws> {
  if (!aws) throw new Error('the AWS SDK is used before S3ArtifactStorage.open() loaded it');
  return aws;
}

type Env = Readonly<Record<string, string | undefined>>;

export interface S3Destination {
  bucket: string;
  /** Key prefix without leading or trailing `/` ('' for the bucket's root). */
  prefix: string;
}

/** Uploads are sent in parts of this size (S3's minimum is 5 MiB), a few at a time. */
export const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 2;
/** DeleteObjects takes at most this many keys per call. */
const DELETE_BATCH = 1000;

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** `s3://bucket/prefix` → bucket and prefix; anything else is a clear error. */
export function parseS3Destination(uri: string): S3Destination {
  const match = /^s3:\/\/([^/]*)\/?(.*)$/.exec(uri);
  if (!match) throw new KilnError('KILN_ERR_CONFIG', `'${uri}' is not an s3://bucket/prefix URI`);
  const bucket = match[1]!;
  if (!BUCKET.test(bucket)) throw new KilnError('KILN_ERR_CONFIG', `'${bucket}' in '${uri}' is not a valid S3 bucket name`);
  let segments: string[];
  try {
    segments = safeSegments(match[2]!, false);
  } catch (error) {
    throw new KilnError('KILN_ERR_CONFIG', `the prefix of '${uri}' is invalid: ${(error as Error).message}`);
  }
  return { bucket, prefix: segments.join('/') };
}

/** The SDK client configuration for `env`: the SDK's own defaults, plus MLflow's endpoint variable. */
export function s3ClientConfig(env: Env = process.env): S3ClientConfig {
  const endpoint = env.MLFLOW_S3_ENDPOINT_URL || undefined;
  if (endpoint === undefined) return { followRegionRedirects: true };
  return {
    endpoint,
    forcePathStyle: true,
    // S3-compatible servers ignore the region, but the SDK needs one to sign.
    ...(env.AWS_REGION || env.AWS_DEFAULT_REGION ? {} : { region: 'us-east-1' }),
    ...(env.AWS_REQUEST_CHECKSUM_CALCULATION ? {} : { requestChecksumCalculation: 'WHEN_REQUIRED' }),
    ...(env.AWS_RESPONSE_CHECKSUM_VALIDATION ? {} : { responseChecksumValidation: 'WHEN_REQUIRED' }),
  };
}

function isNotFound(error: unknown): boolean {
  if (!(error instanceof sdk().s3.S3ServiceException)) return false;
  return error.name === 'NoSuchKey' || error.name === 'NotFound' || error.$metadata.httpStatusCode === 404;
}

/** Any failure of the object store: the client did nothing wrong, so 503 (logged by the error handler). */
function unavailable(what: string, error: unknown): Error {
  if (error instanceof TrackingError || error instanceof PayloadTooLargeError) return error;
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new TrackingError('TEMPORARILY_UNAVAILABLE', `Artifact storage failed while ${what} (${detail})`, { cause: error });
}

export class S3ArtifactStorage implements ArtifactStorage {
  readonly localRoot = undefined;

  private constructor(
    private readonly client: S3Client,
    private readonly destination: S3Destination,
    readonly description: string,
  ) {}

  /** Connects and checks the bucket is reachable with the credentials found (fails fast at startup). */
  static async open(uri: string, env: Env = process.env): Promise<S3ArtifactStorage> {
    const destination = parseS3Destination(uri);
    await loadSdk();
    const client = new (sdk().s3.S3Client)(s3ClientConfig(env));
    try {
      await client.send(new (sdk().s3.HeadBucketCommand)({ Bucket: destination.bucket }));
    } catch (error) {
      client.destroy();
      const status = error instanceof sdk().s3.S3ServiceException ? ` (HTTP ${error.$metadata.httpStatusCode ?? '?'} ${error.name})` : ` (${(error as Error).message})`;
      throw new KilnError('KILN_ERR_ARTIFACT_STORAGE', `cannot use artifacts destination ${uri}: bucket '${destination.bucket}' is not reachable with the credentials found${status}`, { cause: error });
    }
    return new S3ArtifactStorage(client, destination, `s3://${destination.bucket}/${destination.prefix}`);
  }

  private key(segments: string[]): string {
    return [this.destination.prefix, ...segments].filter((part) => part !== '').join('/');
  }

  /** The listing prefix of a folder: '' for the bucket root, else the key and a `/`. */
  private folder(segments: string[]): string {
    const key = this.key(segments);
    return key === '' ? '' : `${key}/`;
  }

  private async fileExists(key: string): Promise<boolean> {
    try {
      await this.client.send(new (sdk().s3.HeadObjectCommand)({ Bucket: this.destination.bucket, Key: key }));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  private async folderExists(segments: string[]): Promise<boolean> {
    const listed = await this.client.send(new (sdk().s3.ListObjectsV2Command)({ Bucket: this.destination.bucket, Prefix: this.folder(segments), MaxKeys: 1 }));
    return (listed.KeyCount ?? listed.Contents?.length ?? 0) > 0;
  }

  /** The local store cannot put a file below a file or over a folder; neither can this one. */
  private async checkShape(segments: string[]): Promise<void> {
    const parents = segments.slice(0, -1).map((_, index) => this.key(segments.slice(0, index + 1)));
    const [parentFiles, isFolder] = await Promise.all([Promise.all(parents.map((key) => this.fileExists(key))), this.folderExists(segments)]);
    if (parentFiles.some(Boolean)) throw unsafe(`a parent of '${segments.join('/')}' is a file`);
    if (isFolder) throw unsafe(`'${segments.join('/')}' is a directory`);
  }

  async write(segments: string[], source: Readable, limit: number): Promise<number> {
    if (segments.length === 0) throw unsafe('an artifact path is required');
    try {
      await this.checkShape(segments);
    } catch (error) {
      throw unavailable('checking the upload path', error);
    }
    const body = limitedBody(source, limit);
    const upload = new (sdk().storage.Upload)({
      client: this.client,
      params: { Bucket: this.destination.bucket, Key: this.key(segments), Body: body.stream },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
      return body.bytes();
    } catch (error) {
      body.stop();
      await upload.abort().catch(() => undefined);
      throw unavailable('storing an upload', body.failure() ?? error);
    }
  }

  async read(segments: string[]): Promise<ArtifactDownload> {
    if (segments.length === 0) throw unsafe('an artifact path is required');
    const key = this.key(segments);
    try {
      const object = await this.client.send(new (sdk().s3.GetObjectCommand)({ Bucket: this.destination.bucket, Key: key }));
      return { stream: object.Body as Readable, size: object.ContentLength ?? 0, path: key };
    } catch (error) {
      if (!isNotFound(error)) throw unavailable('reading an artifact', error);
    }
    const isFolder = await this.folderExists(segments).catch((error: unknown) => {
      throw unavailable('reading an artifact', error);
    });
    if (isFolder) throw unsafe(`'${segments.join('/')}' is not a file`);
    throw new TrackingError('RESOURCE_DOES_NOT_EXIST', `Artifact '${segments.join('/')}' does not exist`);
  }

  async list(segments: string[], prefix?: string): Promise<ArtifactFile[]> {
    const folder = this.folder(segments);
    const entries: ArtifactFile[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new (sdk().s3.ListObjectsV2Command)({ Bucket: this.destination.bucket, Prefix: folder, Delimiter: '/', ContinuationToken: token }),
        );
        for (const common of page.CommonPrefixes ?? []) {
          const name = (common.Prefix ?? '').slice(folder.length, -1);
          if (name !== '') entries.push({ path: name, is_dir: true });
        }
        for (const object of page.Contents ?? []) {
          // A zero-byte "folder marker" (`a/b/`) written by other tools is not a file.
          const name = (object.Key ?? '').slice(folder.length);
          if (name !== '' && !name.endsWith('/')) entries.push({ path: name, is_dir: false, file_size: object.Size ?? 0 });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    } catch (error) {
      throw unavailable('listing artifacts', error);
    }
    entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return entries.map((entry) => (prefix === undefined || prefix === '' ? entry : { ...entry, path: `${prefix}/${entry.path}` }));
  }

  async delete(segments: string[]): Promise<void> {
    if (segments.length === 0) throw unsafe('an artifact path is required');
    let keys: string[];
    try {
      const key = this.key(segments);
      keys = (await this.fileExists(key)) ? [key] : await this.allKeys(this.folder(segments));
      for (let at = 0; at < keys.length; at += DELETE_BATCH) {
        const batch = keys.slice(at, at + DELETE_BATCH).map((Key) => ({ Key }));
        const result = await this.client.send(new (sdk().s3.DeleteObjectsCommand)({ Bucket: this.destination.bucket, Delete: { Objects: batch, Quiet: true } }));
        const failed = result.Errors?.[0];
        if (failed) throw new Error(`deleting ${failed.Key ?? '?'} failed: ${failed.Code ?? ''} ${failed.Message ?? ''}`);
      }
    } catch (error) {
      throw unavailable('deleting artifacts', error);
    }
    if (keys.length === 0) throw new TrackingError('RESOURCE_DOES_NOT_EXIST', `Artifact '${segments.join('/')}' does not exist`);
  }

  /** Every key below `folder` (all depths). */
  private async allKeys(folder: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new (sdk().s3.ListObjectsV2Command)({ Bucket: this.destination.bucket, Prefix: folder, ContinuationToken: token }));
      for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return keys;
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

interface LimitedBody {
  stream: Readable;
  bytes(): number;
  /** The limit or the client's abort, when either ended the upload. */
  failure(): Error | undefined;
  /** Detaches the request and drains it, so the server can still answer. */
  stop(): void;
}

/** `source` piped through a byte counter that fails with PayloadTooLargeError past `limit`. */
function limitedBody(source: Readable, limit: number): LimitedBody {
  let bytes = 0;
  let failure: Error | undefined;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (bytes > limit) {
        failure = new PayloadTooLargeError(limit);
        done(failure);
      } else {
        done(null, chunk);
      }
    },
  });
  const stop = (): void => {
    source.unpipe(counter);
    // Leave the request readable-but-discarded so the server can still answer.
    source.resume();
  };
  counter.on('error', stop);
  source.on('error', (error) => counter.destroy(error));
  source.on('aborted', () => {
    failure = new TrackingError('BAD_REQUEST', 'Upload aborted by the client');
    counter.destroy(failure);
  });
  source.pipe(counter);
  return { stream: counter, bytes: () => bytes, failure: () => failure, stop };
}
