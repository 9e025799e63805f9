/**
 * data/errors — the one error type the data area throws for data problems.
 *
 * Every failure to obtain verified Fashion-MNIST bytes, and every problem found in a user's own
 * dataset before training (empty or single classes, non-images, manifest rows naming missing
 * files, symlinks leaving the root, undecodable images, too large to hold), is a DataError with a stable `code`
 * (for programs and tests) and a message written for people: it names the file, says what
 * was expected and what was found, and ends with the exact commands that fix it.
 */
export type DataErrorCode =
  | 'KILN_ERR_DATA_NOT_FOUND'
  | 'KILN_ERR_DATA_CHECKSUM'
  | 'KILN_ERR_DATA_TRUNCATED'
  | 'KILN_ERR_DATA_FORMAT'
  /** Images of a user's dataset that could not be decoded (data/materialize); every file is named. */
  | 'KILN_ERR_DATA_BAD_IMAGES'
  // A user's own dataset (folder, manifest, IDX pair), refused before training; each names every offending file or class.
  | 'KILN_ERR_DATA_OPTION'
  | 'KILN_ERR_DATA_EMPTY_CLASS'
  | 'KILN_ERR_DATA_ONE_CLASS'
  | 'KILN_ERR_DATA_TOO_MANY_CLASSES'
  | 'KILN_ERR_DATA_NOT_IMAGE'
  | 'KILN_ERR_DATA_MANIFEST'
  | 'KILN_ERR_DATA_MISSING_FILE'
  | 'KILN_ERR_DATA_OUTSIDE_ROOT'
  | 'KILN_ERR_DATA_TOO_LARGE';

export class DataError extends Error {
  readonly code: DataErrorCode;
  /** The file the error is about (a path when one exists, else the canonical file name). */
  readonly file: string;

  constructor(code: DataErrorCode, file: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DataError';
    this.code = code;
    this.file = file;
  }
}

/** Formats a "how to fix" block: one command or instruction per line. */
export function fixes(lines: string[]): string {
  return `\nTo fix:\n${lines.map((line) => `  ${line}`).join('\n')}`;
}
