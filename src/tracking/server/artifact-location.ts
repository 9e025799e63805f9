/**
 * tracking/server/artifact-location — which `artifact_location` experiments/create accepts.
 *
 * An experiment's location becomes every run's artifact URI, and clients (MLflow's and Kiln's)
 * upload to and download from whatever that URI names; a server that took `http://…`, `s3://…`
 * or `ftp://…` from anyone would point them (or, for MLflow's HTTP artifact repository, itself)
 * at arbitrary hosts — the SSRF class reported against MLflow. This server stores artifacts
 * itself, so only locations it owns are accepted:
 *   - `mlflow-artifacts:/<path>` (its proxied artifact API, served from --artifacts-destination),
 *     without an authority (`mlflow-artifacts://host/…` names another server) or `..`;
 *   - an absolute local path, or a `file:///` URI, inside --artifacts-destination when that is
 *     a local folder (with `s3://…` destinations only `mlflow-artifacts:` locations exist).
 * Anything else is 400 INVALID_PARAMETER_VALUE. Absent or empty: `mlflow-artifacts:/<id>`.
 */
import { isAbsolute, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { invalid, TrackingError } from '../store/errors.js';
import { safeSegments } from './artifact-storage.js';

const PROXY_SCHEME = 'mlflow-artifacts:';
const SCHEME = /^([a-z][a-z0-9+.-]*):/i;

function refuse(location: string, why: string): TrackingError {
  return invalid(
    `Invalid artifact_location '${location.slice(0, 200)}': ${why}. This server stores artifacts itself: use ${PROXY_SCHEME}/<path> or a path inside its artifacts destination, or leave it out.`,
  );
}

function proxied(location: string): string {
  const rest = location.slice(PROXY_SCHEME.length);
  if (rest.startsWith('//')) throw refuse(location, `a ${PROXY_SCHEME} URI with a host would send clients to another server`);
  const path = rest.replace(/^\/+/, '');
  let segments: string[];
  try {
    segments = safeSegments(path, false);
  } catch (error) {
    throw refuse(location, (error as Error).message);
  }
  if (segments.length === 0) throw refuse(location, 'the path is empty');
  return `${PROXY_SCHEME}/${segments.join('/')}`;
}

function localPath(location: string, path: string, root: string | undefined): string {
  if (root === undefined) throw refuse(location, 'artifacts are kept in object storage, not in a local folder');
  if (!isAbsolute(path)) throw refuse(location, 'a local path must be absolute');
  if (path.split(/[\\/]/).includes('..')) throw refuse(location, "'..' segments are not allowed");
  const resolved = resolve(path);
  if (!resolved.startsWith(root + sep)) {
    throw refuse(location, 'the path is outside the artifacts destination');
  }
  return resolved;
}

/** The location to store (normalised), or a TrackingError saying why it is refused; `artifactRoot` is absent for object storage. */
export function checkArtifactLocation(location: string, artifactRoot: string | undefined): string {
  if ([...location].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)) throw refuse(location, 'control characters are not allowed');
  const scheme = SCHEME.exec(location)?.[1]?.toLowerCase();
  if (scheme === undefined) return localPath(location, location, artifactRoot);
  if (`${scheme}:` === PROXY_SCHEME) return proxied(location);
  if (scheme === 'file') {
    if (!/^file:\/\/(localhost)?\//i.test(location)) throw refuse(location, 'a file: URI must name a local path (file:///…)');
    let path: string;
    try {
      path = fileURLToPath(location);
    } catch (error) {
      throw refuse(location, (error as Error).message);
    }
    return pathToFileURL(localPath(location, path, artifactRoot)).href;
  }
  throw refuse(location, `the '${scheme}' scheme would make clients fetch from or write to another host`);
}
