import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { decodeProgress } from './progress.js';

/** A stream that keeps what is written to it; `isTTY` marks it as a terminal, as process.stderr on one is. */
class Collect extends Writable {
  text = '';
  constructor(readonly isTTY: boolean) {
    super();
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

test('on a terminal the first decode draws a bar in place, then clears it and logs one summary line', () => {
  const terminal = new Collect(true);
  const lines: string[] = [];
  const progress = decodeProgress('shoes', 1000, terminal, (l) => lines.push(l));
  progress.update(500);
  progress.update(1000);
  progress.finish(1000);
  assert.match(terminal.text, /\rdata: decoding shoes \[#{15}\.{15}\] 500\/1000/);
  assert.match(terminal.text, /\[#{30}\] 1000\/1000/);
  assert.ok(terminal.text.endsWith('\r\x1b[2K'), 'the bar is cleared');
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /^data: decoded 1,000 images of shoes in [\d.]+ s \([\d,]+ images\/s\)$/);
});

test('anywhere else (a pipe, a log file, no stream) nothing is drawn: one line at the start, one at the end', () => {
  for (const stream of [new Collect(false), null]) {
    const lines: string[] = [];
    const progress = decodeProgress('shoes', 1000, stream, (l) => lines.push(l));
    progress.update(500);
    progress.finish(1000);
    if (stream) assert.equal(stream.text, '');
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /decoding 1,000 images of shoes \(first load; later loads read the cache\)/);
    assert.match(lines[1]!, /decoded 1,000 images of shoes/);
  }
});
