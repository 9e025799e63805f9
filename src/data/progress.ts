/**
 * data/progress — how the first decode of a dataset shows its progress: a one-line bar redrawn
 * in place on a TTY (at most ten times a second), or, on anything else (a log file, CI), one line
 * at the start and one at the end, so logs are not flooded with carriage returns.
 */
import type { WriteStream } from 'node:tty';

export interface Progress {
  update(done: number): void;
  /** Clears the bar (TTY) and logs the summary line. */
  finish(done: number): void;
}

const WIDTH = 30;

function isTty(stream: NodeJS.WritableStream | null | undefined): stream is WriteStream {
  return Boolean(stream && (stream as WriteStream).isTTY);
}

/** Progress of decoding `total` images of `name`. */
export function decodeProgress(name: string, total: number, stream: NodeJS.WritableStream | null | undefined, log: (line: string) => void): Progress {
  const started = performance.now();
  let lastDraw = 0;
  const rate = (done: number): string => `${Math.round(done / Math.max(1e-3, (performance.now() - started) / 1000)).toLocaleString('en-US')} images/s`;
  const tty = isTty(stream) ? stream : null;
  if (!tty) log(`data: decoding ${total.toLocaleString('en-US')} images of ${name} (first load; later loads read the cache)`);
  return {
    update(done) {
      const now = performance.now();
      if (!tty || (now - lastDraw < 100 && done < total)) return;
      lastDraw = now;
      const filled = total === 0 ? WIDTH : Math.round((done / total) * WIDTH);
      tty.write(`\rdata: decoding ${name} [${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${done}/${total} ${rate(done)}`);
    },
    finish(done) {
      if (tty) tty.write('\r\x1b[2K');
      log(`data: decoded ${done.toLocaleString('en-US')} images of ${name} in ${((performance.now() - started) / 1000).toFixed(1)} s (${rate(done)})`);
    },
  };
}
