/**
 * tracking/client/session — opening "the tracking store" the way every Kiln command does.
 *
 * The URI comes from `--tracking-uri`, then KILN_TRACKING_URI, then MLFLOW_TRACKING_URI, then
 * the embedded default `sqlite:///<home>/tracking.db` with artifacts in `<home>/artifacts`
 * (or KILN_ARTIFACTS_DESTINATION, which may be `s3://bucket/prefix`) —
 * exactly what `kiln server` serves by default, so a `kiln train` on a laptop shows up in the
 * UI without configuration. `http(s)://` URIs talk to a server (RestStore); `sqlite:` and
 * `postgresql:` URIs open the store directly.
 */
import { authorizationHeader, credentialsFromEnv } from '../../common/rest-connection.js';
import { join } from 'node:path';
import { openStore } from '../store/index.js';
import type { TrackingStore } from '../store/types.js';
import { type ArtifactRepository, HttpArtifactRepository, LocalArtifactRepository, PROXY_SCHEME } from './artifacts.js';
import { RestStore } from './rest-store.js';
import { S3ArtifactRepository } from './s3-artifacts.js';

export interface TrackingSession {
  uri: string;
  store: TrackingStore;
  artifacts: ArtifactRepository;
  /** True when the store is a remote server. */
  remote: boolean;
  close(): Promise<void>;
}

type Env = Readonly<Record<string, string | undefined>>;

export function defaultStoreUri(home: string): string {
  return `sqlite:///${join(home, 'tracking.db')}`;
}

export function defaultArtifactsDestination(home: string): string {
  return join(home, 'artifacts');
}

/** Where the embedded store's artifacts live: the given destination, then KILN_ARTIFACTS_DESTINATION, then `<home>/artifacts`. */
export function resolveArtifactsDestination(flag: string | undefined, home: string, env: Env = process.env): string {
  return flag || env.KILN_ARTIFACTS_DESTINATION || defaultArtifactsDestination(home);
}

/** The tracking URI a command should use. */
export function resolveTrackingUri(flag: string | undefined, home: string, env: Env = process.env): string {
  return flag || env.KILN_TRACKING_URI || env.MLFLOW_TRACKING_URI || defaultStoreUri(home);
}

/**
 * @example
 * const tracking = await openTracking({ home: resolveHome() });
 * const experimentId = await tracking.store.createExperiment({ name: 'demo' });
 */
export async function openTracking(options: { uri?: string; home: string; env?: Env; artifactsDestination?: string }): Promise<TrackingSession> {
  const env = options.env ?? process.env;
  const uri = resolveTrackingUri(options.uri, options.home, env);
  if (/^https?:\/\//.test(uri)) {
    const credentials = credentialsFromEnv(env);
    const store = new RestStore({ url: uri, ...credentials });
    return { uri, store, artifacts: new HttpArtifactRepository(uri, authorizationHeader(credentials)), remote: true, close: () => store.close() };
  }
  const store = await openStore(uri, { artifactRoot: PROXY_SCHEME });
  const destination = resolveArtifactsDestination(options.artifactsDestination, options.home, env);
  if (/^s3:\/\//i.test(destination)) {
    const artifacts = new S3ArtifactRepository(destination, env);
    return { uri, store, artifacts, remote: false, close: () => Promise.all([store.close(), artifacts.close()]).then(() => undefined) };
  }
  const artifacts = new LocalArtifactRepository(destination);
  return { uri, store, artifacts, remote: false, close: () => store.close() };
}
