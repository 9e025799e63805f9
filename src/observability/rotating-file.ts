/**
 * observability/rotating-file — an append-only log file that rotates daily and by size, and
 * keeps a bounded history (the seed's TimedRotatingFileHandler: midnight, 30 backups).
 *
 * The active file keeps its plain name (`api_log.log`); a finished day becomes
 * `api_log.log.2026-11-25` and a file that outgrew `maxBytes` within a day becomes
 * `api_log.log.2026-11-26.1`, `.2`, … Days are UTC days, so the names do not depend on the
 * machine's time zone. After each rotation, backups older than `retentionDays` days and any beyond
 * the newest `maxBackups` are deleted.
 *
 * Writes are synchronous appends: a log line is on disk before the call returns (so nothing is
 * lost when the process exits or crashes), and lines from several processes appending to the same
 * file interleave whole (O_APPEND). Only the process that owns the file should rotate it; others
 * can append with `rotate: false`. The clock is injectable, so rotation and retention are tested by
 * moving time forward instead of waiting a day.
 */
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface RotatingFileOptions {
  dir: string;
  /** File name of the active log, e.g. `api_log.log`. */
  file: string;
  /** Days of backups kept (default 30). */
  retentionDays?: number;
  /** Backups kept at most, whatever their age (default 60: a month of daily and size rotations). */
  maxBackups?: number;
  /** The active file is rotated before it would grow past this many bytes (default 50 MiB). */
  maxBytes?: number;
  /** Rotate at all (default true); false only appends (a second process sharing the file). */
  rotate?: boolean;
  /** The clock (default Date.now); tests move it forward. */
  now?: () => number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export class RotatingFile {
  readonly path: string;
  private readonly options: Required<Omit<RotatingFileOptions, 'now'>> & { now: () => number };
  private fd: number | null = null;
  private size = 0;
  private day = '';

  constructor(options: RotatingFileOptions) {
    this.options = {
      retentionDays: 30,
      maxBackups: 60,
      maxBytes: 50 * 1024 * 1024,
      rotate: true,
      now: Date.now,
      ...options,
    };
    this.path = join(options.dir, options.file);
    mkdirSync(options.dir, { recursive: true });
    // A file left by an earlier run on an earlier day is that day's log: rotate it first.
    if (this.options.rotate && existsSync(this.path)) {
      const stats = statSync(this.path);
      const fileDay = utcDay(stats.mtimeMs);
      if (stats.size > 0 && fileDay < utcDay(this.options.now())) this.rotateTo(fileDay);
    }
    this.open();
  }

  /** Appends `line` (which should end with a newline), rotating first when the day or size says so. */
  write(line: string): boolean {
    if (this.fd === null) this.open();
    const bytes = Buffer.byteLength(line);
    if (this.options.rotate) {
      const today = utcDay(this.options.now());
      if (today !== this.day) {
        if (this.size > 0) this.rotateTo(this.day);
        this.day = today;
      } else if (this.size > 0 && this.size + bytes > this.options.maxBytes) {
        this.rotateTo(this.day);
      }
    }
    writeSync(this.fd!, line);
    this.size += bytes;
    return true;
  }

  /** The rotated files of this log, oldest first. */
  backups(): string[] {
    const prefix = `${this.options.file}.`;
    return readdirSync(this.options.dir)
      .filter((name) => name.startsWith(prefix) && /^\d{4}-\d{2}-\d{2}(\.\d+)?$/.test(name.slice(prefix.length)))
      .sort((a, b) => backupOrder(a.slice(prefix.length), b.slice(prefix.length)));
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private open(): void {
    this.fd = openSync(this.path, 'a');
    this.size = fstatSync(this.fd).size;
    this.day = utcDay(this.options.now());
  }

  /** Moves the active file to its dated backup name, reopens an empty one and applies retention. */
  private rotateTo(day: string): void {
    this.close();
    // Numbers only grow within a day (never reusing a pruned one), so names sort chronologically.
    const base = `${this.options.file}.${day}`;
    const taken = this.backups().filter((name) => name === base || name.startsWith(`${base}.`));
    const last = taken.length === 0 ? -1 : Math.max(...taken.map((name) => (name === base ? 0 : Number(name.slice(base.length + 1)))));
    const target = join(this.options.dir, last < 0 ? base : `${base}.${last + 1}`);
    try {
      renameSync(this.path, target);
    } catch (error) {
      // Another process rotated it first: append to the new file.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    this.open();
    this.prune();
  }

  private prune(): void {
    const prefix = `${this.options.file}.`;
    const oldest = utcDay(this.options.now() - this.options.retentionDays * DAY_MS);
    const backups = this.backups();
    const excess = Math.max(0, backups.length - this.options.maxBackups);
    backups.forEach((name, i) => {
      if (i < excess || name.slice(prefix.length, prefix.length + 10) < oldest) {
        try {
          unlinkSync(join(this.options.dir, name));
        } catch {
          // already gone (another process pruned it)
        }
      }
    });
  }
}

function backupOrder(a: string, b: string): number {
  const [dayA = '', nA = '0'] = a.split(/\.(?=\d+$)/);
  const [dayB = '', nB = '0'] = b.split(/\.(?=\d+$)/);
  return dayA === dayB ? Number(nA) - Number(nB) : dayA < dayB ? -1 : 1;
}
