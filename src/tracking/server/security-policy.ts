/**
 * tracking/server/security-policy — which Host headers and which browser origins the tracking
 * server trusts, as pure functions (security.ts applies them to requests).
 *
 * Host patterns (`--allowed-hosts`, MLFLOW_SERVER_ALLOWED_HOSTS), compared case-insensitively:
 *   `name` (any port) · `name:port` · `*` anywhere as a wildcard (`*.corp.example`, `192.168.*`,
 *   `localhost:*`) · `[::1]` or bare `::1` for IPv6 · a lone `*` accepts every Host (off).
 * Origin patterns (`--cors-allowed-origins`, MLFLOW_SERVER_CORS_ALLOWED_ORIGINS): full origins
 *   (`https://app.corp.example`), `*` wildcards (`https://*.corp.example`, `http://localhost:*`),
 *   or a lone `*` for every origin. A page served by the server itself (its Origin names the
 *   Host the request was sent to) is always allowed; `Origin: null` never is.
 */
import { hostname, networkInterfaces } from 'node:os';

/** Loopback names accepted on any port whatever the server is bound to. */
export const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'] as const;

const WILDCARD_BINDS = new Set(['', '0.0.0.0', '::', '[::]']);

function glob(pattern: string): RegExp {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 'i');
}

/** A Host value or pattern split into its name and optional port ('[::1]:5000' → '[::1]', '5000'). */
function splitHost(value: string): { name: string; port?: string } {
  const text = value.trim().toLowerCase();
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return { name: text };
    const rest = text.slice(close + 1);
    return rest.startsWith(':') ? { name: text.slice(0, close + 1), port: rest.slice(1) } : { name: text.slice(0, close + 1) };
  }
  const colons = text.split(':').length - 1;
  if (colons > 1) return { name: `[${text}]` }; // bare IPv6 address (patterns only: a Host header brackets it)
  if (colons === 1) {
    const at = text.indexOf(':');
    return { name: text.slice(0, at), port: text.slice(at + 1) };
  }
  return { name: text };
}

/** The name in a bind address or interface address as it appears in a Host header. */
function asHostName(address: string): string {
  const bare = address.replace(/%.*$/, '');
  return bare.includes(':') && !bare.startsWith('[') ? `[${bare}]` : bare;
}

/**
 * The default allow-list: the loopback names, plus the address the server is bound to; for a
 * wildcard bind (0.0.0.0, ::) the machine's host name and every interface address instead.
 * IP literals cannot be produced by DNS rebinding, and a name is added only when it is ours.
 */
export function defaultAllowedHosts(bindHost = '127.0.0.1'): string[] {
  const hosts = new Set<string>(LOOPBACK_HOSTS);
  if (WILDCARD_BINDS.has(bindHost.trim())) {
    hosts.add(hostname().toLowerCase());
    for (const addresses of Object.values(networkInterfaces())) {
      for (const info of addresses ?? []) hosts.add(asHostName(info.address));
    }
  } else {
    hosts.add(asHostName(bindHost.trim().toLowerCase()));
  }
  return [...hosts];
}

const HOST_SYNTAX = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(:\d{1,5})?$/i;

/** Whether a request's Host header is one the server answers to. */
export function isAllowedHost(patterns: readonly string[], header: string | undefined): boolean {
  if (patterns.includes('*')) return true;
  if (header === undefined || !HOST_SYNTAX.test(header)) return false;
  const host = splitHost(header);
  return patterns.some((raw) => {
    const pattern = splitHost(raw);
    if (!glob(pattern.name).test(host.name)) return false;
    return pattern.port === undefined || glob(pattern.port).test(host.port ?? '');
  });
}

/** `host:port` as a URL writes it (default ports dropped), or undefined when it is not one. */
function normalisedHost(scheme: string, host: string): string | undefined {
  try {
    return new URL(`${scheme}//${host}`).host;
  } catch {
    return undefined;
  }
}

/** Whether a page at `origin` is the server's own (its origin names the Host it sent to). */
export function isSameOrigin(origin: string, hostHeader: string | undefined): boolean {
  if (hostHeader === undefined) return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (url.origin !== origin.toLowerCase().replace(/\/$/, '')) return false;
  return url.host === normalisedHost(url.protocol, hostHeader);
}

/** Whether a browser page at `origin` may call the API (read its answers, or write). */
export function isAllowedOrigin(allowed: readonly string[], origin: string, hostHeader: string | undefined): boolean {
  if (allowed.includes('*')) return true;
  if (origin === 'null') return false;
  if (isSameOrigin(origin, hostHeader)) return true;
  return allowed.some((pattern) => glob(pattern.trim()).test(origin));
}

/** A comma-separated flag or environment value as a list (blank entries dropped). */
export function parseList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  return items.length > 0 ? items : undefined;
}

export const X_FRAME_OPTIONS = ['SAMEORIGIN', 'DENY', 'NONE'] as const;
export type XFrameOptions = (typeof X_FRAME_OPTIONS)[number];

/** MLflow's --x-frame-options values, case-insensitive; anything else is refused. */
export function parseXFrameOptions(value: string): XFrameOptions {
  const upper = value.trim().toUpperCase();
  if (!(X_FRAME_OPTIONS as readonly string[]).includes(upper)) {
    throw new Error(`--x-frame-options must be one of ${X_FRAME_OPTIONS.join(', ')} (got '${value}')`);
  }
  return upper as XFrameOptions;
}
