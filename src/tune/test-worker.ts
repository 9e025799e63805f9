/**
 * tune/test-worker — a study worker process for the multi-process tests (not used by Kiln
 * itself): `node test-worker.js <sqlite-uri> <study> <nTrials> <sleepMs>` runs its trials,
 * each recording the worker's pid, and prints "trial <n>" as each starts.
 */
import { openStudyStorage } from './storage/open.js';
import { RandomSampler } from './samplers/random.js';
import { createStudy } from './study.js';

const [uri, studyName, nTrials, sleepMs] = process.argv.slice(2);
const storage = await openStudyStorage(uri);
const study = await createStudy({
  studyName,
  storage,
  loadIfExists: true,
  sampler: new RandomSampler({ seed: process.pid }),
  heartbeatIntervalMs: 100,
  gracePeriodMs: 400,
});
await study.optimize(
  async (trial) => {
    const x = trial.suggestFloat('x', -10, 10);
    trial.setUserAttr('pid', process.pid);
    console.log(`trial ${trial.number}`);
    await new Promise((resolve) => setTimeout(resolve, Number(sleepMs)));
    return x * x;
  },
  { nTrials: Number(nTrials) },
);
await storage.close();
