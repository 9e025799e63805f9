import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { initEngine } from '../engine/index.js';
import { firstJsonLine, KILN_BIN } from '../cli/test-helpers.js';
import { TEST_CNN_BN, writeTestModelFolder } from '../models/onnx/test-helpers.js';

let dir = '';
let folder = '';

before(async () => {
  await initEngine({ quiet: true });
  dir = await mkdtemp(join(tmpdir(), 'kiln-shutdown-'));
  folder = join(dir, 'model');
  (await writeTestModelFolder(folder, TEST_CNN_BN)).dispose();
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('SIGTERM under load: every request already being handled is answered, then kiln serve exits 0', async () => {
  const child = spawn(process.execPath, [KILN_BIN, 'serve', '--model-uri', folder, '--port', '0', '--home', dir, '--json'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const { url } = (await firstJsonLine(child)) as { url: string };
  assert.ok(url, 'kiln serve became ready');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Batches of 64 images keep every request busy for a while, so the signal lands mid-request.
  const body = JSON.stringify({ images: Array.from({ length: 64 }, (_, k) => Array.from({ length: 784 }, (_, i) => (i * (k + 3)) % 256)) });
  const outcomes = { ok: 0, closing503: 0, refused: 0, other: [] as string[] };
  let signalled = false;
  const client = async (): Promise<void> => {
    while (true) {
      try {
        const response = await fetch(`${url}/predict/batch`, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, body });
        const text = await response.text();
        if (response.status === 200 && (JSON.parse(text) as { predictions: unknown[] }).predictions.length === 64) outcomes.ok++;
        else if (response.status === 503 && signalled) {
          // Told the server is going away: a well-behaved client (or load balancer) goes elsewhere.
          assert.equal(response.headers.get('connection'), 'close');
          assert.match(text, /SHUTTING_DOWN/);
          outcomes.closing503++;
          return;
        }
        else outcomes.other.push(`HTTP ${response.status}: ${text.slice(0, 100)}`);
      } catch (error) {
        const code = ((error as { cause?: { code?: string } }).cause?.code ?? String(error));
        // A connection refused after the listener closed is the expected end of the line; a reset
        // of an accepted request would be a dropped request.
        if (code === 'ECONNREFUSED' && signalled) outcomes.refused++;
        else outcomes.other.push(code);
        return;
      }
    }
  };
  const clients = Array.from({ length: 8 }, () => client());
  await new Promise((resolve) => setTimeout(resolve, 400));
  signalled = true;
  child.kill('SIGTERM');
  await Promise.all(clients);
  assert.equal(await exited, 0);
  assert.deepEqual(outcomes.other, [], 'no request was dropped or failed');
  assert.ok(outcomes.ok >= 8, `requests were answered before the signal (${outcomes.ok})`);
});
