import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { effectiveValues, loadConfig, PROFILES, resolveConfig, searchSpaceFor, validateConfig } from './config.js';

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

  test("a user's own data names the study and the registered model after it, unless a name was chosen", async () => {
    const own = await loadConfig({ env: { KILN_DATA: '/data/pets/' } });
    assert.deepEqual([own.data?.source, own.study.name, own.registry.model_name], ['/data/pets/', 'pets-quick', 'pets']);
    const manifest = await loadConfig({ env: {}, overrides: { data: { source: './labels/shoes.csv', image_size: '32x48', color: 'rgb' } } });
    assert.deepEqual([manifest.study.name, manifest.registry.model_name, manifest.data?.image_size], ['shoes-quick', 'shoes', '32x48']);
    const idx = await loadConfig({ env: {}, overrides: { data: { source: 'idx:./digits/train-images.gz,./digits/train-labels.gz,./digits/classes.txt' } } });
    assert.deepEqual([idx.study.name, idx.registry.model_name], ['digits-quick', 'digits'], 'named like the loader names it: the images file\'s folder');
    const file = join(dir, 'named.yml');
    await writeFile(file, 'data:\n  source: ./pets\nstudy:\n  name: my-study\nregistry:\n  model_name: my-model\n  alias: champion\n  metric: test_acc\n');
    const named = await loadConfig({ file, env: {} });
    assert.deepEqual([named.study.name, named.registry.model_name], ['my-study', 'my-model']);
    const builtin = await loadConfig({ env: {} });
    assert.deepEqual([builtin.data, builtin.study.name, builtin.registry.model_name], [undefined, 'fashion-mnist-quick', 'fashion-mnist']);
  });

  test('a bad data setting is refused naming the key and its flag', async () => {
    await assert.rejects(loadConfig({ env: {}, overrides: { data: { source: './pets', color: 'purple' } } }), /data\.color.*--color/s);
    await assert.rejects(loadConfig({ env: {}, overrides: { data: { source: './pets', image_size: '32 by 32' } } }), /data\.image_size.*--image-size/s);
    await assert.rejects(loadConfig({ env: {}, overrides: { data: { source: './pets', max_memory: 'lots' } } }), /data\.max_memory.*--max-memory/s);
    await assert.rejects(loadConfig({ env: {}, overrides: { data: { source: './pets', cache: 'trust' } } }), /data\.cache.*--data-cache/s);
  });

  test('a profile defined in the file can be selected', async () => {
    const file = join(dir, 'profiles.yml');
    await writeFile(file, 'profiles:\n  tiny:\n    study: { name: tiny, n_trials: 1 }\n    training: { epochs: 1 }\n');
    const config = await loadConfig({ file, profile: 'tiny', env: {} });
    assert.deepEqual([config.profile, config.study.name, config.study.n_trials, config.training.epochs], ['tiny', 'tiny', 1, 1]);
  });

  const writeYaml = async (name: string, text: string): Promise<string> => {
    const file = join(dir, name);
    await writeFile(file, text);
    return file;
  };

  // The README's kiln.yml: top-level keys and a small profile of its own.
  const README_FILE =
    'profile: quick\n' +
    'study:       { name: my-study, sampler: tpe, pruner: median, seed: 42, n_trials: 20, timeout_s: 600, timeout_mode: soft, workers: 2 }\n' +
    'search_space: { model: mlp, n_layers: { low: 1, high: 3 }, units: { low: 32, high: 512, log: true }, dropout: { low: 0.1, high: 0.5 } }\n' +
    'training:    { epochs: 8, batch_size: 128, lr: { low: 0.0005, high: 0.005, log: true }, patience: 3, validation_size: 5000,\n' +
    '               label_smoothing: 0, augment_flip: 0, augment_rotation: 0 }\n' +
    'registry:    { model_name: fashion-mnist, alias: champion, metric: test_acc }\n' +
    'profiles:\n' +
    '  tiny: { study: { name: tiny, n_trials: 2 }, training: { epochs: 1 } }\n';

  test("a named profile wins over the file's top-level keys, with a warning naming each conflict; flags win over both", async () => {
    const file = join(dir, 'readme.yml');
    await writeFile(file, README_FILE);
    const tiny = await resolveConfig({ file, profile: 'tiny', env: {} });
    assert.deepEqual([tiny.config.study.name, tiny.config.study.n_trials, tiny.config.training.epochs], ['tiny', 2, 1]);
    assert.equal(tiny.config.study.workers, 2, "what the profile leaves alone comes from the file's top level");
    assert.equal(tiny.warnings.length, 1);
    assert.match(tiny.warnings[0], /profile tiny overrides .*readme\.yml's top-level study\.name \("my-study" → "tiny"\), study\.n_trials \(20 → 2\), training\.epochs \(8 → 1\)/);
    const flagged = await loadConfig({ file, profile: 'tiny', env: {}, overrides: { study: { n_trials: 3 } } });
    assert.equal(flagged.study.n_trials, 3);
    const selectedByEnv = await loadConfig({ file, env: { KILN_PROFILE: 'tiny' } });
    assert.equal(selectedByEnv.study.n_trials, 2);
  });

  test("a built-in profile named at run time wins over the file too: --profile best runs best's CNN, not the file's MLP", async () => {
    const file = join(dir, 'readme-best.yml');
    await writeFile(file, README_FILE);
    const best = await resolveConfig({ file, profile: 'best', env: {} });
    assert.deepEqual(best.config.search_space, PROFILES.best.search_space);
    assert.deepEqual([best.config.study.n_trials, best.config.training.epochs], [6, 15]);
    assert.match(best.warnings[0] ?? '', /search_space \(model mlp → model cnn\)/);
    assert.equal(best.config.registry.model_name, 'fashion-mnist');
  });

  test("the file's own choice of a built-in profile is customised by its top-level keys, without a warning", async () => {
    const file = join(dir, 'readme-default.yml');
    await writeFile(file, README_FILE);
    const resolved = await resolveConfig({ file, env: {} });
    assert.deepEqual([resolved.config.profile, resolved.config.study.n_trials, resolved.config.training.epochs, resolved.config.study.name], ['quick', 20, 8, 'my-study']);
    assert.deepEqual(resolved.warnings, []);
  });

  test('every value keeps its origin: flag, env, profile, file or default', async () => {
    const file = join(dir, 'origins.yml');
    await writeFile(file, 'study:\n  workers: 2\nprofiles:\n  small:\n    study: { n_trials: 4, timeout_s: 30 }\n');
    const resolved = await resolveConfig({ file, profile: 'small', env: { KILN_EPOCHS: '2' }, overrides: { study: { timeout_s: 40 } } });
    const origin = (key: string): string => {
      const row = effectiveValues(resolved).find(([k]) => k === key);
      assert.ok(row, key);
      return row[2].map((o) => `${o.kind} ${o.name}`).join(' + ');
    };
    assert.equal(origin('profile'), 'flag --profile');
    assert.equal(origin('study.timeout_s'), 'flag --timeout');
    assert.equal(origin('training.epochs'), 'env KILN_EPOCHS');
    assert.equal(origin('study.n_trials'), 'profile small');
    assert.equal(origin('study.workers'), `file ${file}`);
    assert.equal(origin('study.sampler'), 'default built-in', "a file's own profile starts from quick's values");
    assert.equal(origin('registry.model_name'), 'default built-in');
    assert.equal(origin('search_space.units'), 'default built-in');
    const mixed = await resolveConfig({ file: await writeYaml('mixed-range.yml', 'training:\n  lr: { high: 0.01 }\n'), env: {} });
    const lr = effectiveValues(mixed).find(([key]) => key === 'training.lr');
    assert.deepEqual(lr?.[1], { low: 5e-4, high: 0.01, log: true });
    assert.deepEqual(lr?.[2].map((o) => o.kind), ['profile', 'file'], "a range's ends may come from two layers");
    const keys = effectiveValues(resolved).map(([key]) => key);
    assert.deepEqual(keys.slice(0, 3), ['profile', 'device', 'study.name']);
    assert.equal(origin('device'), 'default built-in');
    assert.ok(keys.includes('search_space.units') && !keys.includes('search_space.units.low'), 'a range is one value');
  });

  test('an error about a range names the layer of each end; one about a missing key, where its mapping came from', async () => {
    const inverted = await writeYaml('inverted-lr.yml', 'training:\n  lr: { low: 0.1 }\n');
    await assert.rejects(loadConfig({ file: inverted, env: {} }), {
      message: `invalid config key "training.lr": low (0.1) is above high (0.005) (high set by profile quick, log set by profile quick, low set in ${inverted})`,
    });
    const cnn = await writeYaml('bare-cnn.yml', 'search_space: { model: cnn }\n');
    await assert.rejects(loadConfig({ file: cnn, env: {} }), /"search_space.conv_channels": missing: expected .* \(search_space set in .*bare-cnn.yml\)/);
  });

  test('an error says where the bad value was set and which flag sets the key', async () => {
    const file = join(dir, 'workers-zero.yml');
    await writeFile(file, 'study:\n  workers: 0\n');
    await assert.rejects(loadConfig({ file, env: {} }), { message: `invalid config key "study.workers": expected an integer in [1, 64], got 0 (set in ${file}; flag --workers)` });
    await assert.rejects(loadConfig({ env: {}, overrides: { study: { workers: 65 } } }), { message: 'invalid config key "study.workers": expected an integer in [1, 64], got 65 (set by flag --workers)' });
    await assert.rejects(loadConfig({ env: { KILN_N_TRIALS: '0' } }), { message: 'invalid config key "study.n_trials": expected an integer in [1, 100000], got 0 (set by env KILN_N_TRIALS; flag --n-trials)' });
    await assert.rejects(loadConfig({ env: {}, overrides: { study: { sampler: 'cmaes' } } }), { message: 'invalid config key "study.sampler": expected one of tpe, random, got "cmaes" (set by flag --sampler)' });
  });

  test('device: auto by default, set by kiln.yml, KILN_DEVICE or --device (flag wins), and checked', async () => {
    assert.equal((await loadConfig({ env: {} })).device, 'auto');
    const file = join(dir, 'device.yml');
    await writeFile(file, 'device: cpu\n');
    assert.equal((await loadConfig({ file, env: {} })).device, 'cpu');
    assert.equal((await loadConfig({ file, env: {}, profile: 'best' })).device, 'cpu', 'a built-in profile leaves the device alone');
    assert.equal((await loadConfig({ file, env: { KILN_DEVICE: 'gpu' } })).device, 'gpu');
    assert.equal((await loadConfig({ file, env: { KILN_DEVICE: 'gpu' }, overrides: { device: 'auto' } })).device, 'auto');
    const bad = join(dir, 'device-bad.yml');
    await writeFile(bad, 'device: tpu\n');
    await assert.rejects(loadConfig({ file: bad, env: {} }), { message: `invalid config key "device": expected one of auto, cpu, gpu, got "tpu" (set in ${bad}; flag --device)` });
  });

  test('a typo in a profile of the file is found even when another profile is used', async () => {
    const file = join(dir, 'typo-in-profile.yml');
    await writeFile(file, 'profiles:\n  tiny:\n    study: { n_trails: 1 }\n');
    await assert.rejects(loadConfig({ file, env: {} }), /invalid config key "profiles.tiny.study.n_trails": unknown key \(allowed: name, sampler, pruner, seed, n_trials, timeout_s, timeout_mode, workers\)/);
  });

  test('a search space is checked against the schema of its own model', async () => {
    const cases: [string, RegExp][] = [
      ['search_space: { model: rnn }\n', /"search_space.model": expected one of mlp, cnn, got "rnn"/],
      ['profile: best\nsearch_space: { kernel: 4 }\n', /"search_space.kernel": expected an odd kernel size 1-7, got 4/],
      ['profile: best\nsearch_space: { conv_channels: { choices: ["32,64", "wide"] } }\n', /"search_space.conv_channels.choices.1": expected a comma-separated channel list like "32,64", got "wide"/],
      ['search_space: { dropout: high }\n', /"search_space.dropout": expected a number in \[0, 0.9\] or \{low, high, log\?, step\?\}, got "high"/],
      ['search_space: { units: { low: 8, high: 64, log: true, step: 8 } }\n', /"search_space.units.step": cannot be combined with log/],
      ['training: { patience: 0 }\n', /"training.patience": expected an integer in \[1, 1000\], got 0/],
    ];
    for (const [yaml, message] of cases) {
      const file = join(dir, 'space.yml');
      await writeFile(file, yaml);
      await assert.rejects(loadConfig({ file, env: {} }), (error: Error & { code?: string }) => error.code === 'KILN_ERR_CONFIG' && message.test(error.message), yaml);
    }
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

  describe('search spaces scale with the input', () => {
    test("on Fashion-MNIST's 28x28 (and any larger input) every built-in profile's space is exactly as written", () => {
      for (const profile of Object.values(PROFILES)) {
        for (const input of [{ height: 28, width: 28 }, { height: 16, width: 16 }, { height: 64, width: 48 }]) {
          assert.equal(searchSpaceFor(profile.search_space, input), profile.search_space, `${profile.profile} at ${input.height}x${input.width}`);
        }
      }
    });

    test('conv blocks are limited by the spatial size; choices that become equal merge', () => {
      const space = { ...PROFILES.best.search_space, conv_channels: { choices: ['16,32,64,64', '32,64,64', '32,64', '64'] } };
      assert.deepEqual(searchSpaceFor(space, { height: 8, width: 12 }), { ...space, conv_channels: { choices: ['16,32,64', '32,64,64', '32,64', '64'] } });
      assert.deepEqual(searchSpaceFor(space, { height: 3, width: 40 }), { ...space, conv_channels: { choices: ['16', '32', '64'] } });
      assert.deepEqual(searchSpaceFor(PROFILES.best.search_space, { height: 2, width: 2 }), { ...PROFILES.best.search_space, conv_channels: { choices: ['32', '48', '64'] } });
      const fixed = { ...space, conv_channels: '8,16,32' };
      assert.deepEqual(searchSpaceFor(fixed, { height: 5, width: 5 }), { ...space, conv_channels: '8,16' });
    });

    test('an MLP space does not depend on the input', () => {
      assert.equal(searchSpaceFor(PROFILES.quick.search_space, { height: 2, width: 2 }), PROFILES.quick.search_space);
    });
  });
});
