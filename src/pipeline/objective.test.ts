import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateSpecForInput } from '../models/spec.js';
import { createStudy } from '../tune/study.js';
import { RandomSampler } from '../tune/samplers/random.js';
import { PROFILES } from './config.js';
import { sampleTrainingChoice } from './objective.js';

describe('sampling a trial', () => {
  test("on small inputs every sampled CNN can be built: the trial's conv_channels are the scaled choices", async () => {
    const config = { ...PROFILES.best, search_space: { ...PROFILES.best.search_space, conv_channels: { choices: ['16,32,64,64', '32,64,128', '32,64'] } } };
    const input = { height: 6, width: 9, channels: 3, classes: 4 };
    const study = await createStudy({ direction: 'maximize', sampler: new RandomSampler({ seed: 3 }) });
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const trial = await study.ask();
      const { spec } = sampleTrainingChoice(trial, config, input);
      assert.doesNotThrow(() => validateSpecForInput(spec, input));
      assert.equal(spec.kind === 'cnn' ? spec.convChannels.join(',') : '', trial.params.conv_channels, 'the recorded param is the model built');
      seen.add(String(trial.params.conv_channels));
      await study.tell(trial, 0.5);
    }
    assert.deepEqual([...seen].sort(), ['16,32', '32,64']);
  });

  test("at 28x28 a trial samples exactly what it did before (Fashion-MNIST's studies unchanged)", async () => {
    const draw = async (input?: { height: number; width: number }): Promise<unknown[]> => {
      const study = await createStudy({ direction: 'maximize', sampler: new RandomSampler({ seed: 5 }) });
      const out: unknown[] = [];
      for (let i = 0; i < 8; i++) {
        const trial = await study.ask();
        out.push(sampleTrainingChoice(trial, PROFILES.best, input));
        await study.tell(trial, i / 8);
      }
      return out;
    };
    assert.deepEqual(await draw({ height: 28, width: 28 }), await draw());
  });
});
