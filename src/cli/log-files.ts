/**
 * cli/log-files — reading Kiln's log files line by line for `kiln logs`: the dated backups a
 * RotatingFile leaves (`app_combined.log.2026-11-25`, `….2026-11-26.1`, oldest first) and the
 * active file, which can then be followed as `tail -F` does: through appends, a rotation (the
 * name points at a new file) and a truncation.
 */
import { closeSync, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

const CHUNK = 64 * 1024;

/** The rotated backups of `file` in `dir` from `fromDay` (YYYY-MM-DD, UTC) on, oldest first. */
export function backupsSince(dir: string, file: string, fromDay: string): string[] {
  const prefix = `${file}.`;
  const suffixes = readdirSync(dir)
    .filter((name) => name.startsWith(prefix))
    .map((name) => name.slice(prefix.length))
    .filter((suffix) => /^\d{4}-\d{2}-\d{2}(\.\d+)?$/.test(suffix) && suffix.slice(0, 10) >= fromDay);
  const key = (suffix: string): [string, number] => [suffix.slice(0, 10), Number(suffix.slice(11) || '0')];
  suffixes.sort((a, b) => {
    const [dayA, nA] = key(a);
    const [dayB, nB] = key(b);
    return dayA === dayB ? nA - nB : dayA < dayB ? -1 : 1;
  });
  return suffixes.map((suffix) => join(dir, prefix + suffix));
}

/** An open file read forward from an offset, handing out whole lines (a torn last line waits for its end). */
export class LineReader {
  private fd: number | null;
  private offset = 0;
  private inode: number;
  private rest = '';
  private decoder = new StringDecoder('utf8');

  constructor(readonly path: string) {
    this.fd = openSync(path, 'r');
    this.inode = fstatSync(this.fd).ino;
  }

  /** Every complete line added since the last call. */
  read(): string[] {
    if (this.fd === null) return [];
    const buffer = Buffer.allocUnsafe(CHUNK);
    let text = '';
    for (;;) {
      const bytes = readSync(this.fd, buffer, 0, CHUNK, this.offset);
      if (bytes === 0) break;
      this.offset += bytes;
      text += this.decoder.write(buffer.subarray(0, bytes));
    }
    const lines = (this.rest + text).split('\n');
    this.rest = lines.pop() ?? '';
    return lines.filter((line) => line !== '');
  }

  /**
   * Catches up with the file behind the name: a rotated-away file is read to its end and the new
   * one opened from its start; a truncated file is read again from its start.
   */
  follow(): string[] {
    const lines = this.read();
    let current: { ino: number; size: number };
    try {
      current = statSync(this.path);
    } catch {
      return lines; // rotated away and not created again yet
    }
    if (current.ino !== this.inode) {
      this.close();
      this.fd = openSync(this.path, 'r');
      this.inode = fstatSync(this.fd).ino;
      this.restart();
      return [...lines, ...this.read()];
    }
    if (current.size < this.offset) {
      this.restart();
      return [...lines, ...this.read()];
    }
    return lines;
  }

  private restart(): void {
    this.offset = 0;
    this.rest = '';
    this.decoder = new StringDecoder('utf8');
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
