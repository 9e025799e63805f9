/**
 * serve/model-source — where the served model comes from: a local folder, or a registry URI
 * `models:/<name>@<alias>` (or `models:/<name>/<version>`) resolved through the tracking URI.
 *
 * Against a tracking server the model folder's files are listed and downloaded over the proxied
 * artifact API into `<home>/serving-cache/<name>/<version>/` (written beside, then renamed, so
 * a half-downloaded folder is never used); with the embedded store they are read in place from
 * `<artifacts destination>/<path of the mlflow-artifacts: URI>`, or, when that destination is
 * `s3://…`, downloaded from the bucket into the same cache.
 *
 * A pinned version that does not exist is an error naming the versions that do: unlike an
 * alias, which a later promotion may set, waiting does not make version 7 appear.
 */
import { authorizationHeader, credentialsFromEnv } from '../common/rest-connection.js';
import { access, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { KilnError } from '../common/errors.js';
import { readModelMetadata } from '../models/metadata.js';
import { openTracking, PROXY_SCHEME, proxiedPath, resolveArtifactsDestination, S3ArtifactRepository } from '../tracking/client/index.js';
import { TrackingError } from '../tracking/store/errors.js';
import type { ModelVersion, TrackingStore } from '../tracking/store/types.js';

export interface ResolvedModel {
  folder: string;
  name: string;
  version: string;
  source: string;
}

export interface ResolveOptions {
  home: string;
  trackingUri?: string;
  artifactsDestination?: string;
  env?: Readonly<Record<string, string | undefined>>;
}

export function parseRegistryUri(uri: string): { name: string; alias?: string; version?: string } | null {
  const match = /^models:\/([^@/]+)(?:@([^/]+)|\/([^/]+))$/.exec(uri);
  if (!match) return null;
  return { name: decodeURIComponent(match[1]!), ...(match[2] ? { alias: match[2] } : {}), ...(match[3] ? { version: match[3] } : {}) };
}

type RegistryUri = NonNullable<ReturnType<typeof parseRegistryUri>>;

/** The versions of `name` in the registry, in numeric order (none when it is not registered). */
async function existingVersions(store: TrackingStore, name: string): Promise<string[]> {
  const versions: string[] = [];
  let token: string | undefined;
  do {
    const page = await store.searchModelVersions({ filter: `name = '${name.replace(/'/g, "\\'")}'`, max_results: 200, page_token: token });
    versions.push(...page.items.map((version) => String(version.version)));
    token = page.next_page_token;
  } while (token);
  return versions.sort((a, b) => Number(a) - Number(b));
}

/** The version an alias names, or the pinned version; a pinned version that does not exist is KILN_ERR_MODEL_VERSION_NOT_FOUND. */
async function lookUpVersion(store: TrackingStore, registry: RegistryUri): Promise<ModelVersion> {
  if (registry.alias) return store.getModelVersionByAlias(registry.name, registry.alias);
  try {
    return await store.getModelVersion(registry.name, registry.version!);
  } catch (error) {
    if (!(error instanceof TrackingError) || error.errorCode !== 'RESOURCE_DOES_NOT_EXIST') throw error;
    const versions = await existingVersions(store, registry.name);
    const uri = `models:/${registry.name}/${registry.version!}`;
    const what = versions.length > 0 ? `${registry.name} has no version ${registry.version!}; its versions are ${versions.join(', ')}` : `no model named ${registry.name} is registered`;
    throw new KilnError('KILN_ERR_MODEL_VERSION_NOT_FOUND', `${uri}: ${what} (only an alias, models:/${registry.name}@<alias>, is waited for)`, { cause: error });
  }
}

/**
 * Fails fast on what waiting cannot mend, before a server starts: a malformed models: URI, a
 * folder without a Kiln model, a pinned version that does not exist. An alias, and a tracking
 * server that does not answer yet, are left to the server's wait.
 */
export async function checkModelUri(uri: string, options: ResolveOptions): Promise<void> {
  const registry = parseRegistryUri(uri);
  if (!registry) {
    if (uri.startsWith('models:')) throw badModelUri(uri);
    await readModelMetadata(uri);
    return;
  }
  if (registry.alias) return;
  const tracking = await openTracking({ uri: options.trackingUri, home: options.home, env: options.env ?? process.env, artifactsDestination: options.artifactsDestination });
  try {
    await lookUpVersion(tracking.store, registry);
  } catch (error) {
    if (!(error instanceof TrackingError && error.errorCode === 'TEMPORARILY_UNAVAILABLE')) throw error;
  } finally {
    await tracking.close();
  }
}

const badModelUri = (uri: string): KilnError => new KilnError('KILN_ERR_MODEL_URI', `bad model URI ${uri}: use models:/<name>@<alias> or models:/<name>/<version>`);

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

interface ListedFile {
  path: string;
  is_dir?: boolean;
}

async function downloadFolder(server: string, remoteDir: string, target: string, authorization?: string): Promise<number> {
  const base = `${server.replace(/\/+$/, '')}/api/2.0/mlflow-artifacts/artifacts`;
  const headers: Record<string, string> = authorization ? { authorization } : {};
  let count = 0;
  const walk = async (dir: string, into: string): Promise<void> => {
    const response = await fetch(`${base}?path=${encodeURIComponent(dir)}`, { headers });
    if (!response.ok) throw new KilnError('KILN_ERR_MODEL_DOWNLOAD', `listing ${dir} on ${server} failed: HTTP ${response.status} ${await response.text()}`);
    const { files = [] } = (await response.json()) as { files?: ListedFile[] };
    for (const file of files) {
      const name = file.path.split('/').pop()!;
      if (file.is_dir) {
        await walk(`${dir}/${name}`, join(into, name));
        continue;
      }
      const url = `${base}/${`${dir}/${name}`.split('/').map(encodeURIComponent).join('/')}`;
      const got = await fetch(url, { headers });
      if (!got.ok) throw new KilnError('KILN_ERR_MODEL_DOWNLOAD', `downloading ${url} failed: HTTP ${got.status}`);
      const to = join(into, name);
      await mkdir(dirname(to), { recursive: true });
      await writeFile(to, Buffer.from(await got.arrayBuffer()));
      count += 1;
    }
  };
  await walk(remoteDir, target);
  return count;
}

/** Resolves a model URI to a local folder (downloading it when it lives on a tracking server). */
export async function resolveModelUri(uri: string, options: ResolveOptions): Promise<ResolvedModel> {
  const registry = parseRegistryUri(uri);
  if (!registry) {
    if (uri.startsWith('models:')) throw badModelUri(uri);
    return { folder: uri, name: '', version: 'local', source: uri };
  }
  const env = options.env ?? process.env;
  const tracking = await openTracking({ uri: options.trackingUri, home: options.home, env, artifactsDestination: options.artifactsDestination });
  try {
    const version = await lookUpVersion(tracking.store, registry);
    const source = version.source ?? '';
    if (!source.startsWith(PROXY_SCHEME)) throw new KilnError('KILN_ERR_MODEL_URI', `model version ${registry.name}/${version.version} has source ${source}, not an ${PROXY_SCHEME} URI`);
    const path = proxiedPath(source);
    const bucket = tracking.artifacts instanceof S3ArtifactRepository ? tracking.artifacts : null;
    if (!tracking.remote && !bucket) {
      const folder = join(resolveArtifactsDestination(options.artifactsDestination, options.home, env), path);
      return { folder, name: registry.name, version: String(version.version), source: `${uri} (${source})` };
    }
    const cache = join(options.home, 'serving-cache', encodeURIComponent(registry.name), String(version.version));
    if (!(await exists(join(cache, 'kiln-model.json')))) {
      const staging = `${cache}.tmp-${process.pid}-${Date.now()}`;
      try {
        const authorization = authorizationHeader(credentialsFromEnv(env));
        const files = bucket ? await bucket.downloadDirectory(path, staging) : await downloadFolder(tracking.uri, path, staging, authorization);
        if (files === 0) throw new KilnError('KILN_ERR_MODEL_DOWNLOAD', `${source} holds no files`);
        await rm(cache, { recursive: true, force: true });
        await mkdir(dirname(cache), { recursive: true });
        await rename(staging, cache);
      } catch (error) {
        await rm(staging, { recursive: true, force: true });
        throw error;
      }
    }
    return { folder: cache, name: registry.name, version: String(version.version), source: `${uri} (${source})` };
  } finally {
    await tracking.close();
  }
}
