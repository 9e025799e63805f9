/**
 * cli/data-dir — the data directory a command was given (--data-dir, else $KILN_DATA_DIR),
 * checked before anything starts: given one, Kiln reads the data from it or fails.
 */
import { checkDataDir } from '../data/sources.js';

export async function checkExplicitDataDir(flag: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env): Promise<void> {
  const dir = flag || env.KILN_DATA_DIR;
  if (dir) await checkDataDir(dir);
}
