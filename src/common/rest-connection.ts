/**
 * common/rest-connection — how a client reaches a Kiln (or MLflow) server over HTTP: the base URL,
 * credentials, retries and timeout, and the Authorization header they make. Shared by the tracking
 * client's RestStore and the tuner's RestStudyStorage, which talk to the same server.
 */
export interface RestConnectionOptions {
  /** Server base URL, e.g. http://127.0.0.1:5000 */
  url: string;
  /** Bearer token (KILN_TRACKING_TOKEN / MLFLOW_TRACKING_TOKEN) or basic credentials. */
  token?: string;
  username?: string;
  password?: string;
  /** Attempts for a transient failure, first included. Default 5. */
  attempts?: number;
  /** Bound of the first retry's jittered wait in ms (doubles each retry). Default 200. */
  retryDelayMs?: number;
  /** Per-request timeout in ms. Default 30000. */
  timeoutMs?: number;
}

/** The Authorization header the options ask for: a bearer token, else basic credentials, else none. */
export function authorizationHeader(options: Pick<RestConnectionOptions, 'token' | 'username' | 'password'>): string | undefined {
  if (options.token) return `Bearer ${options.token}`;
  if (options.username !== undefined) return `Basic ${Buffer.from(`${options.username}:${options.password ?? ''}`).toString('base64')}`;
  return undefined;
}

/** The base URL without trailing slashes, so paths can be appended. */
export function baseUrl(url: string): string {
  return url.replace(/\/+$/, '');
}

/** The server credentials of the environment: KILN_TRACKING_* first, else MLflow's MLFLOW_TRACKING_* names. */
export function credentialsFromEnv(env: Readonly<Record<string, string | undefined>>): Pick<RestConnectionOptions, 'token' | 'username' | 'password'> {
  return {
    token: env.KILN_TRACKING_TOKEN ?? env.MLFLOW_TRACKING_TOKEN,
    username: env.KILN_TRACKING_USERNAME ?? env.MLFLOW_TRACKING_USERNAME,
    password: env.KILN_TRACKING_PASSWORD ?? env.MLFLOW_TRACKING_PASSWORD,
  };
}
