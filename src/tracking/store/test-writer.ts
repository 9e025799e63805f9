/**
 * tracking/store/test-writer — a child process for the SQLite crash and concurrency tests.
 *
 *   node dist/src/tracking/store/test-writer.js <store-uri> <batches> <points-per-batch>
 *
 * Creates a run in experiment "0", prints `run <id>`, then logs `batches` batches of metric
 * `m` (steps batch*size .. batch*size+size-1) and prints `ack <batch>` after each logBatch
 * resolves, then `done`. A negative `batches` logs forever (until killed).
 */
import { openStore } from './index.js';

async function main(): Promise<void> {
  const [uri, batchesText, sizeText] = process.argv.slice(2);
  const batches = Number(batchesText);
  const size = Number(sizeText);
  const store = await openStore(uri, { artifactRoot: '/tmp/kiln-test-artifacts' });
  const run = await store.createRun({ experiment_id: '0', run_name: `writer-${process.pid}` });
  process.stdout.write(`run ${run.info.run_id}\n`);
  for (let b = 0; batches < 0 || b < batches; b++) {
    const metrics = Array.from({ length: size }, (_, i) => ({ key: 'm', value: b + i / size, timestamp: Date.now(), step: b * size + i }));
    await store.logBatch(run.info.run_id, { metrics, params: b === 0 ? [{ key: 'writer', value: String(process.pid) }] : [] });
    process.stdout.write(`ack ${b}\n`);
  }
  await store.close();
  process.stdout.write('done\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`test-writer failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
