/**
 * ui/app/router — hash routes whose query string holds the view's state (filters, columns,
 * sort, selection), so that any view can be shared by copying its URL.
 */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  /** Path segments after '#/', decoded. */
  parts: string[];
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const text = hash.replace(/^#\/?/, '');
  const q = text.indexOf('?');
  const path = q < 0 ? text : text.slice(0, q);
  return {
    parts: path.split('/').filter((p) => p !== '').map(decodeURIComponent),
    query: new URLSearchParams(q < 0 ? '' : text.slice(q + 1)),
  };
}

export function href(parts: Array<string | number>, query: Record<string, string | undefined> = {}): string {
  const path = parts.map((p) => encodeURIComponent(String(p))).join('/');
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, v);
  const qs = params.toString();
  return `#/${path}${qs ? `?${qs}` : ''}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const update = (): void => setRoute(parseHash(location.hash));
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}

/** Changes some query values of the current route; replace (default) keeps history short for typing. */
export function setQuery(changes: Record<string, string | undefined>, push = false): void {
  const route = parseHash(location.hash);
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === '') route.query.delete(k);
    else route.query.set(k, v);
  }
  const qs = route.query.toString();
  const next = `#/${route.parts.map(encodeURIComponent).join('/')}${qs ? `?${qs}` : ''}`;
  if (push) location.hash = next;
  else {
    history.replaceState(null, '', next);
    dispatchEvent(new HashChangeEvent('hashchange'));
  }
}
