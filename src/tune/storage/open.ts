/**
 * tune/storage/open — `openStudyStorage(uri)`: the one way Kiln opens a shared study storage
 * from a URI, so that every command and library user accepts the same forms:
 *   - `http(s)://host:port` — a Kiln tracking server (RestStudyStorage); credentials as the
 *     tracking client reads them (KILN_/MLFLOW_TRACKING_TOKEN, _USERNAME, _PASSWORD);
 *   - `sqlite:///…`, `postgresql://…` — the tracking database itself (SqlStudyStorage).
 *
 * @example
 * const storage = await openStudyStorage(process.env.KILN_TRACKING_URI ?? 'sqlite:///kiln-data/tracking.db');
 */
import { credentialsFromEnv } from '../../common/rest-connection.js';
import type { StudyStorage } from '../types.js';
import { RestStudyStorage } from './rest.js';
import { openSqlStudyStorage } from './sql.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Whether `uri` names a tracking server rather than a database. */
export function isServerUri(uri: string): boolean {
  return /^https?:\/\//i.test(uri);
}

/** Opens the study storage at `uri` (a tracking server or a tracking database). */
export async function openStudyStorage(uri: string, options: { env?: Env } = {}): Promise<StudyStorage> {
  if (!isServerUri(uri)) return openSqlStudyStorage(uri);
  const env = options.env ?? process.env;
  return new RestStudyStorage({ url: uri, ...credentialsFromEnv(env) });
}
