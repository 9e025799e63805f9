/**
 * common/home — the data directory every command shares (`./kiln-data` by default,
 * overridden by `--home` or KILN_HOME), and the folders inside it.
 */
import { resolve, join } from 'node:path';

export const DEFAULT_HOME = './kiln-data';

/** Resolves the data directory: explicit flag, then KILN_HOME, then ./kiln-data. */
export function resolveHome(flag?: string, env: Readonly<Record<string, string | undefined>> = process.env): string {
  return resolve(flag ?? env.KILN_HOME ?? DEFAULT_HOME);
}

export function modelsDir(home: string): string {
  return join(home, 'models');
}

/** A sortable, filesystem-safe timestamp (UTC): 20261126-112233. */
export function timestampSlug(date = new Date()): string {
  return date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}
