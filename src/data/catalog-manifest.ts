/**
 * data/catalog-manifest — a CSV or JSONL manifest of labelled image files, listed as a Catalog.
 *
 *   CSV:   a header naming the columns `path,label[,split]` (any order; other columns ignored),
 *          RFC 4180 quoting ("a, b.png", "say ""hi""", newlines inside quotes), CRLF or LF, BOM ok.
 *   JSONL: one object per line, {"path": "...", "label": "..." | 3, "split"?: "train"|"val"|"test"}.
 * Paths are relative to the manifest's folder, which is the dataset root: a row may not lead
 * outside it (`..` or a symlink). Classes are the distinct labels, sorted; items keep row order
 * (so a manifest can reproduce another source's order exactly). Every malformed row and every row
 * naming a missing file is reported at once, with its line number.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, resolve, relative, sep } from 'node:path';
import { DataError, fixes } from './errors.js';
import type { Catalog, CatalogItem, SplitName } from './labelled.js';
import { checkClasses, isInside, notImageError, outsideRootError, probeFile, RealPaths, realpathOrNull, skippedWarning } from './catalog-checks.js';
import { sourceName } from './data-spec.js';

/** One manifest row as written, with the line it starts on (1-based). */
export interface ManifestRow {
  line: number;
  path: string;
  label: string;
  split?: string;
}

const SPLIT_VALUES: Readonly<Record<string, SplitName>> = {
  train: 'train', val: 'validation', valid: 'validation', validation: 'validation', test: 'test',
};

/**
 * Parses CSV text into records, each with the line number it starts on. RFC 4180 quoting.
 * A record with no quote in it is split at its commas in one call; only records holding a quote
 * are walked character by character (a cached load parses the manifest every time).
 */
export function parseCsv(text: string): { line: number; fields: string[] }[] {
  const records: { line: number; fields: string[] }[] = [];
  const special = /["\r\n]/g;
  let line = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (i < text.length) {
    special.lastIndex = i;
    const found = special.exec(text);
    const end = found ? found.index : text.length;
    let fields: string[];
    let next: number;
    let lines: number;
    if (found && text[end] === '"') ({ fields, next, lines } = quotedRecord(text, i));
    else {
      fields = text.slice(i, end).split(',');
      next = end + (text[end] === '\r' && text[end + 1] === '\n' ? 2 : 1);
      lines = 1;
    }
    if (!(fields.length === 1 && fields[0] === '')) records.push({ line, fields });
    line += lines;
    i = next;
  }
  return records;
}

/** One record from `i` that holds a quote: its fields, where the next record starts, and the lines it spans. */
function quotedRecord(text: string, i: number): { fields: string[]; next: number; lines: number } {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  let lines = 0;
  for (; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else {
        if (ch === '\n') lines++;
        field += ch;
      }
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      fields.push(field);
      return { fields, next: i + 1, lines: lines + 1 };
    } else field += ch;
  }
  fields.push(field);
  return { fields, next: i, lines };
}

/** CSV manifest rows; problems (missing columns, wrong field counts) are collected into `errors`. */
export function csvRows(text: string, file: string, errors: string[]): ManifestRow[] {
  const [header, ...records] = parseCsv(text);
  const names = (header?.fields ?? []).map((f) => f.trim().toLowerCase());
  const col = { path: names.indexOf('path'), label: names.indexOf('label'), split: names.indexOf('split') };
  if (col.path < 0 || col.label < 0) {
    throw new DataError('KILN_ERR_DATA_MANIFEST', file, `${file}: line 1 must be a header naming the columns path,label[,split]; found ${JSON.stringify(header?.fields.join(',') ?? '')}.` +
      fixes(['make the first line: path,label        (or path,label,split)']));
  }
  const rows: ManifestRow[] = [];
  for (const { line, fields } of records) {
    if (fields.length !== names.length) {
      errors.push(`line ${line}: ${fields.length} field(s), expected ${names.length} (${names.join(',')}); quote fields that hold commas`);
      continue;
    }
    const split = col.split >= 0 ? fields[col.split].trim() : '';
    rows.push({ line, path: fields[col.path].trim(), label: fields[col.label].trim(), ...(split ? { split } : {}) });
  }
  return rows;
}

/** JSONL manifest rows; unparsable lines and missing keys are collected into `errors`. */
export function jsonlRows(text: string, errors: string[]): ManifestRow[] {
  const rows: ManifestRow[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      errors.push(`line ${line}: not JSON (${error instanceof Error ? error.message : String(error)})`);
      return;
    }
    const obj = (value !== null && typeof value === 'object' && !Array.isArray(value) ? value : {}) as Record<string, unknown>;
    const label = typeof obj.label === 'number' && Number.isFinite(obj.label) ? String(obj.label) : obj.label;
    if (typeof obj.path !== 'string' || typeof label !== 'string') {
      errors.push(`line ${line}: expected {"path": "<file>", "label": "<class>"}, found ${raw.trim().slice(0, 120)}`);
      return;
    }
    const split = typeof obj.split === 'string' ? obj.split.trim() : '';
    rows.push({ line, path: obj.path.trim(), label: label.trim(), ...(split ? { split } : {}) });
  });
  return rows;
}

/**
 * A manifest's rows, parsed and checked as rows (fields, splits, duplicates), with no image file
 * opened; throws for bad rows exactly as catalogManifest does. `sha256` is the manifest's own
 * content hash: data/source-listing fingerprints the manifest by it.
 */
export async function listManifest(file: string, format: 'csv' | 'jsonl'): Promise<ManifestListing> {
  const source = resolve(file);
  const bytes = await readFile(source);
  const text = bytes.toString('utf8');
  const errors: string[] = [];
  const rows = format === 'csv' ? csvRows(text, source, errors) : jsonlRows(text, errors);
  const root = dirname(source);
  const checked = checkRows(rows, root, errors);
  if (errors.length > 0) {
    throw new DataError('KILN_ERR_DATA_MANIFEST', source, `${source}: ${errors.length} bad row(s):\n${errors.map((e) => `  ${e}`).join('\n')}` +
      fixes(['CSV: a header path,label[,split], then one row per image; quote fields with commas ("a, b.png")', 'JSONL: one {"path": ..., "label": ..., "split"?: ...} per line', 'split is train, val or test (or empty)']));
  }
  const classNames = [...new Set(checked.map((r) => r.label))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const label = new Map(classNames.map((name, i) => [name, i]));
  const items: CatalogItem[] = checked.map((r) => ({ path: r.abs, relPath: r.relPath, label: label.get(r.label)!, ...(r.split ? { split: r.split } : {}) }));
  return { source, root, sha256: createHash('sha256').update(bytes).digest('hex'), classNames, items, rows: checked };
}

/** What listManifest found: the rows as catalog items (row order), not yet checked on disk. */
export interface ManifestListing {
  source: string;
  /** The manifest's folder: paths are relative to it. */
  root: string;
  /** sha256 of the manifest file's bytes. */
  sha256: string;
  classNames: string[];
  /** One per row, in row order. */
  items: CatalogItem[];
  rows: CheckedRow[];
}

/**
 * Lists a manifest as a Catalog (see the header). `skipBadImages` turns non-images into a warning.
 * `listing` is listManifest's result when the caller has it already (the manifest is not read again).
 */
export async function catalogManifest(file: string, format: 'csv' | 'jsonl', options: { skipBadImages?: boolean } = {}, listing?: ManifestListing): Promise<Catalog> {
  const { source, root, classNames, items, rows } = listing ?? (await listManifest(file, format));
  const formats = await checkFiles(source, root, rows);
  const warnings: string[] = [];
  const kept = dropNonImages(source, items, rows, formats, options.skipBadImages === true, warnings);
  const catalog: Catalog = { name: sourceName(source), source, root, sourceType: 'manifest', classNames, items: kept, warnings };
  checkClasses(source, classNames, kept);
  return catalog;
}

export interface CheckedRow {
  line: number;
  abs: string;
  relPath: string;
  label: string;
  split?: SplitName;
}

/**
 * A POSIX relative path that resolve() and relative() would give back unchanged (no leading or
 * doubled '/', no '.' or '..' segment, no trailing '/'): most manifest rows, which then skip both.
 */
function isPlainRelative(path: string): boolean {
  return sep === '/' && path !== '' && path[0] !== '/' && path[path.length - 1] !== '/' && !path.includes('//') && !/(?:^|\/)\.\.?(?:\/|$)/.test(path);
}

/** Empty fields, unknown splits and duplicate paths, collected into `errors`; the rest resolved. */
function checkRows(rows: ManifestRow[], root: string, errors: string[]): CheckedRow[] {
  const seen = new Map<string, number>();
  const out: CheckedRow[] = [];
  for (const row of rows) {
    if (row.path === '' || row.label === '') {
      errors.push(`line ${row.line}: empty ${row.path === '' ? 'path' : 'label'}`);
      continue;
    }
    const split = row.split === undefined ? undefined : SPLIT_VALUES[row.split.toLowerCase()];
    if (row.split !== undefined && split === undefined) {
      errors.push(`line ${row.line}: split ${JSON.stringify(row.split)} is not train, val or test`);
      continue;
    }
    const plain = isPlainRelative(row.path);
    const abs = plain ? (root.endsWith(sep) ? root + row.path : root + sep + row.path) : resolve(root, row.path);
    const relPath = plain ? row.path : relative(root, abs).split(sep).join('/');
    const first = seen.get(relPath);
    if (first !== undefined) {
      errors.push(`line ${row.line}: ${row.path} is listed again (first on line ${first})`);
      continue;
    }
    seen.set(relPath, row.line);
    out.push({ line: row.line, abs, relPath, label: row.label, ...(split ? { split } : {}) });
  }
  return out;
}

/**
 * Rows leading outside the root (`..` or a symlink), rows naming missing files, and the sniffed
 * format of the rest; throws for the first two, naming every row. One open and read per file,
 * synchronous in batches (as catalog-checks' sniffFiles: fs/promises costs ~20x more per file).
 */
async function checkFiles(source: string, root: string, rows: CheckedRow[]): Promise<(string | null)[]> {
  const rootReal = (await realpathOrNull(root)) ?? root;
  const realPaths = new RealPaths();
  const outside: string[] = [];
  const missing: string[] = [];
  const formats = new Array<string | null>(rows.length).fill(null);
  const head = new Uint8Array(16);
  for (let from = 0; from < rows.length; from += 2000) {
    if (from > 0) await new Promise<void>((done) => setImmediate(done));
    for (let i = from; i < Math.min(rows.length, from + 2000); i++) {
      const row = rows[i];
      if (!isInside(root, row.abs)) {
        outside.push(`line ${row.line}: ${row.relPath}`);
        continue;
      }
      const real = realPaths.of(row.abs); // null: its folder (or the link it is) leads nowhere
      if (real === null) {
        missing.push(`line ${row.line}: ${row.relPath}`);
        continue;
      }
      if (!isInside(rootReal, real)) {
        outside.push(`line ${row.line}: ${row.relPath} -> ${real}`);
        continue;
      }
      const probe = probeFile(row.abs, head);
      if (probe.kind !== 'file') missing.push(`line ${row.line}: ${row.relPath}${probe.kind === 'folder' ? ' (a folder, not a file)' : ''}`);
      formats[i] = probe.format;
    }
  }
  if (outside.length > 0) throw outsideRootError(source, root, outside);
  if (missing.length > 0) {
    throw new DataError('KILN_ERR_DATA_MISSING_FILE', source, `${source}: ${missing.length} row(s) name files that do not exist (paths are relative to ${root}):\n${missing.map((m) => `  ${m}`).join('\n')}` +
      fixes(['correct the paths, or delete these rows']));
  }
  return formats;
}

function dropNonImages(source: string, items: CatalogItem[], rows: CheckedRow[], formats: (string | null)[], skip: boolean, warnings: string[]): CatalogItem[] {
  const bad = rows.filter((_, i) => formats[i] === null).map((r) => `line ${r.line}: ${r.relPath}`);
  if (bad.length > 0 && !skip) throw notImageError(source, bad);
  if (bad.length > 0) warnings.push(skippedWarning(`row(s) naming files that are not images in ${source}`, bad));
  return items.filter((_, i) => formats[i] !== null);
}
