/**
 * examples/track-and-tune — Kiln from TypeScript: a study whose trials are tracked as child runs
 * of one parent run, with the study's summary logged on the parent.
 *
 * Tracks into $KILN_TRACKING_URI (e.g. http://127.0.0.1:5000, postgresql://…, sqlite:///runs.db),
 * else ./kiln-data/tracking.db, which `kiln server` shows at http://127.0.0.1:5000.
 *
 *   npm install kiln-ml
 *   npx tsc --strict --module nodenext --target es2022 --skipLibCheck --types node examples/track-and-tune.ts
 *   node examples/track-and-tune.js
 *
 * Prints one JSON line: the parent run, the best trial's params and value.
 */
import { closeTracking, createStudy, logMetric, logParams, mlflowCallback, RandomSampler, setExperiment, setTag, startRun, TrialPruned } from 'kiln-ml';

setExperiment('track-and-tune');

const study = await createStudy({ studyName: `quadratic-${Date.now()}`, direction: 'minimize', sampler: new RandomSampler({ seed: 42 }) });

const parent = await startRun({ runName: 'quadratic-study' }, async (run) => {
  await logParams({ sampler: 'random', seed: 42, n_trials: 12 });
  await study.optimize(
    async (trial) => {
      const x = trial.suggestFloat('x', -10, 10);
      const shift = trial.suggestInt('shift', 0, 3);
      // A stand-in for training: five "epochs" converging on the trial's final loss.
      let loss = Number.POSITIVE_INFINITY;
      for (let epoch = 0; epoch < 5; epoch++) {
        loss = (x - 2) ** 2 + shift + 10 / (epoch + 1);
        trial.report(loss, epoch);
        if (await trial.shouldPrune()) throw new TrialPruned();
      }
      return loss;
    },
    { nTrials: 12, timeout: 60, callbacks: [mlflowCallback({ metricName: 'loss' })] },
  );
  const best = await study.bestTrial();
  await logMetric('best_loss', best.value ?? Number.NaN);
  await setTag('best_trial', best.number);
  return run;
});

console.log(JSON.stringify({ parent_run_id: parent.runId, experiment_id: parent.experimentId, best_params: await study.bestParams(), best_value: await study.bestValue() }));
await closeTracking();
