/**
 * bench/tracking-client — one logging client process for `npm run bench:tracking`: creates its
 * run, prints "ready", waits for "go" on stdin, sends BATCHES log-batch calls of 1000 points
 * over REST, and prints the number of points it stored.
 */
import { createInterface } from 'node:readline';
import { RestStore } from '../src/tracking/client/rest-store.js';

const [url, batchesText] = process.argv.slice(2);
const batches = Number(batchesText);
const store = new RestStore({ url });
const run = await store.createRun({ experiment_id: '0', run_name: `bench-client-${process.pid}` });
const payloads = Array.from({ length: batches }, (_, b) =>
  Array.from({ length: 1000 }, (_, i) => ({ key: `m${i % 20}`, value: Math.sin(b * 1000 + i), step: b * 50 + Math.floor(i / 20), timestamp: 1_700_000_000_000 + b })),
);
console.log('ready');
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === 'go') break;
}
for (const metrics of payloads) await store.logBatch(run.info.run_id, { metrics });
console.log(`done ${batches * 1000}`);
process.exit(0);
