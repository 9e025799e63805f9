/**
 * common/version — versions recorded in model metadata and printed by `kiln --version`.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Kiln's own version (compiled code lives in dist/src/common, three levels below the root). */
export const KILN_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Installed version of an npm package, or 'unknown'. */
export function packageVersion(name: string): string {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
