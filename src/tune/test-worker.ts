/**
 * tune/test-worker — a study worker process for the multi-process tests (not used by Kiln
 * itself): `node test-worker.js <storage-uri> <study> <nTrials> <sleepMs> [shared]` runs its
 * trials, each recording the worker's pid, and prints "trial <n>" as each starts.
 *
 * Without `shared`: `nTrials` trials of its own, sampler seeded with its pid. With `shared`: as
 * `kiln tune` does (tune/shared-study), seed 42 when it created the study and a mixed one when it
 * joined, and `nTrials` counted for the study as a whole (the round target).
 */
import { openStudyStorage } from './storage/open.js';
import { RandomSampler } from './samplers/random.js';
import { createStudyIfAbsent, processSeed, roundTarget } from './shared-study.js';
import { createStudy } from './study.js';

const [uri, studyName, nTrials, sleepMs, mode] = process.argv.slice(2);
const shared = mode === 'shared';
const storage = await openStudyStorage(uri);
const seed = shared ? processSeed(42, !(await createStudyIfAbsent(storage, studyName, 'minimize'))) : process.pid;
const study = await createStudy({
  studyName,
  storage,
  loadIfExists: true,
  sampler: new RandomSampler({ seed }),
  heartbeatIntervalMs: 100,
  // Shared mode waits for the killed worker's trial to go stale: a longer grace keeps a live but
  // CPU-starved worker (tests share a loaded machine) from being taken for dead.
  gracePeriodMs: shared ? 1000 : 400,
});
const count = shared ? { studyTarget: await roundTarget(storage, study.studyId, Number(nTrials)) } : { nTrials: Number(nTrials) };
await study.optimize(async (trial) => {
  const x = trial.suggestFloat('x', -10, 10);
  trial.setUserAttr('pid', process.pid);
  console.log(`trial ${trial.number}`);
  await new Promise((resolve) => setTimeout(resolve, Number(sleepMs)));
  return x * x;
}, count);
await storage.close();
