/**
 * tracking/server/artifact-destination — the artifact storage a destination names:
 * `s3://bucket/prefix` is an S3 bucket (s3-artifact-storage.ts), a folder path or a
 * `file:///` URI is a local folder (artifact-storage.ts). Other schemes are refused by name
 * rather than taken for a folder called `gs:`.
 */
import { fileURLToPath } from 'node:url';
import { KilnError } from '../../common/errors.js';
import { LocalArtifactStorage, type ArtifactStorage } from './artifact-storage.js';
import { S3ArtifactStorage } from './s3-artifact-storage.js';

type Env = Readonly<Record<string, string | undefined>>;

const SCHEME = /^([a-z][a-z0-9+.-]+):\/\//i;

/** True when `destination` names object storage rather than a local folder. */
export function isObjectStorage(destination: string): boolean {
  return /^s3:\/\//i.test(destination);
}

/** Opens (and for a folder, creates) the storage behind `destination`. */
export async function openArtifactStorage(destination: string, env: Env = process.env): Promise<ArtifactStorage> {
  const scheme = SCHEME.exec(destination)?.[1]?.toLowerCase();
  if (scheme === undefined) return LocalArtifactStorage.open(destination);
  if (scheme === 's3') return S3ArtifactStorage.open(destination, env);
  if (scheme === 'file') return LocalArtifactStorage.open(fileURLToPath(destination));
  throw new KilnError('KILN_ERR_CONFIG', `unsupported artifacts destination '${destination}': use a folder, a file:/// URI or s3://bucket/prefix`);
}
