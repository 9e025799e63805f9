import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig, PROFILES, validateConfig } from './config.js';

describe('pipeline configuration', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('every built-in profile is valid; quick is the default', async () => {
    for (const profile of Object.values(PROFILES)) assert.deepEqual(validateConfig(profile), profile);
    assert.equal((await loadConfig({ env: {} })).profile, 'quick');
  });

  test("the seed profile is exactly the seed's space and budget", () => {
    const seed = PROFILES.seed;
    assert.deepEqual(seed.search_space, { model: 'mlp', n_layers: { low: 1, high: 3 }, units: { low: 4, high: 128, log: true }, dropout: { low: 0.2, high: 0.5 } });
    assert.deepEqual([seed.training.epochs, seed.training.batch_size, seed.study.n_trials, seed.study.timeout_s], [2, 128, 3, 600]);
  });

  test('a YAML file overrides the profile, the environment overrides the file, flags override both', async () => {
    const file = join(dir, 'kiln.yml');
    await writeFile(file, 'profile: seed\nstudy:\n  n_trials: 5\n  workers: 2\ntraining:\n  epochs: 3\n');
    const fromFile = await loadConfig({ file, env: {} });
    assert.deepEqual([fromFile.profile, fromFile.study.n_trials, fromFile.study.workers, fromFile.training.epochs, fromFile.study.timeout_s], ['seed', 5, 2, 3, 600]);
    const fromEnv = await loadConfig({ file, env: { KILN_N_TRIALS: '7', KILN_EPOCHS: '1' } });
    assert.deepEqual([fromEnv.study.n_trials, fromEnv.training.epochs], [7, 1]);
    const fromFlags = await loadConfig({ file, env: { KILN_N_TRIALS: '7' }, overrides: { study: { n_trials: 9 } } });
    assert.equal(fromFlags.study.n_trials, 9);
  });

  test('a profile defined in the file can be selected', async () => {
    const file = join(dir, 'profiles.yml');
    await writeFile(file, 'profiles:\n  tiny:\n    study: { name: tiny, n_trials: 1 }\n    training: { epochs: 1 }\n');
    const config = await loadConfig({ file, profile: 'tiny', env: {} });
    assert.deepEqual([config.profile, config.study.name, config.study.n_trials, config.training.epochs], ['tiny', 'tiny', 1, 1]);
  });

  const bad: [string, string, RegExp][] = [
    ['an unknown key', 'study:\n  n_trails: 3\n', /invalid config key "study.n_trails": unknown key/],
    ['a value out of range', 'study:\n  workers: 0\n', /invalid config key "study.workers": expected an integer in \[1, 64\], got 0/],
    ['an inverted range', 'search_space:\n  units: { low: 100, high: 10 }\n', /"search_space.units": low \(100\) is above high \(10\)/],
    ['a log range from zero', 'search_space:\n  dropout: { low: 0, high: 0.5, log: true }\n', /"search_space.dropout.low": must be > 0 on a log scale/],
    ['an unknown sampler', 'study:\n  sampler: cmaes\n', /"study.sampler": expected one of tpe, random, got "cmaes"/],
    ['a list where a mapping belongs', '- 1\n- 2\n', /must hold a mapping/],
    ['a flip probability above 1', 'training:\n  augment_flip: 1.5\n', /"training.augment_flip": expected a number in \[0, 1\], got 1.5/],
    ['an unknown timeout mode', 'study:\n  timeout_mode: strict\n', /"study.timeout_mode": expected one of soft, hard, got "strict"/],
    ['too much label smoothing', 'training:\n  label_smoothing: 0.7\n', /"training.label_smoothing": expected a number in \[0, 0.5\], got 0.7/],
  ];
  for (const [what, yaml, message] of bad) {
    test(`${what} is refused with the key named`, async () => {
      const file = join(dir, `bad-${what.replace(/\W+/g, '-')}.yml`);
      await writeFile(file, yaml);
      await assert.rejects(loadConfig({ file, env: {} }), (error: Error & { code?: string }) => error.code === 'KILN_ERR_CONFIG' && message.test(error.message));
    });
  }

  test('an unknown profile lists the known ones; a bad environment value names its variable', async () => {
    await assert.rejects(loadConfig({ profile: 'fastest', env: {} }), /unknown profile "fastest" \(built in: seed, quick, best\)/);
    await assert.rejects(loadConfig({ env: { KILN_WORKERS: 'two' } }), /KILN_WORKERS=two is not a number/);
  });
});
