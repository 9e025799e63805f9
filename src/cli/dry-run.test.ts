import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runKiln } from './test-helpers.js';

// The README's kiln.yml: top-level defaults (20 trials x 8 epochs) and a 2-trial profile.
const README_FILE = `profile: quick
study:       { name: my-study, sampler: tpe, pruner: median, seed: 42, n_trials: 20, timeout_s: 600, timeout_mode: soft, workers: 2 }
search_space: { model: mlp, n_layers: { low: 1, high: 3 }, units: { low: 32, high: 512, log: true }, dropout: { low: 0.1, high: 0.5 } }
training:    { epochs: 8, batch_size: 128, lr: { low: 0.0005, high: 0.005, log: true }, patience: 3, validation_size: 5000 }
registry:    { model_name: fashion-mnist, alias: champion, metric: test_acc }
profiles:
  tiny: { study: { name: tiny, n_trials: 2 }, training: { epochs: 1 } }
`;

describe('kiln tune / kiln start --dry-run: the effective configuration and where each value came from', () => {
  let dir = '';
  let file = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-dry-run-'));
    file = join(dir, 'kiln.yml');
    await writeFile(file, README_FILE);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a named profile wins over the file, a flag over both; each value shows its origin and the conflict is warned about', async () => {
    const run = await runKiln(['tune', '--config', file, '--profile', 'tiny', '--epochs', '3', '--dry-run']);
    assert.equal(run.code, 0, run.stderr);
    const line = (key: string): string => run.stdout.split('\n').find((l) => l.trim().startsWith(`${key} `))?.trim().replace(/\s+/g, ' ') ?? '';
    assert.equal(line('profile'), 'profile tiny flag --profile');
    assert.equal(line('study.n_trials'), 'study.n_trials 2 profile tiny');
    assert.equal(line('training.epochs'), 'training.epochs 3 flag --epochs');
    assert.equal(line('study.workers'), `study.workers 2 file ${file}`);
    assert.match(run.stderr, /warning: profile tiny overrides .*study\.n_trials \(20 → 2\)/);
    assert.doesNotMatch(run.stderr, /training\.epochs \(8 → 1\)/, 'the flag decided epochs, not the profile');
  });

  test('kiln start --dry-run --json prints the configuration and origins as one JSON object and starts nothing', async () => {
    const run = await runKiln(['start', '--config', file, '--profile', 'tiny', '--dry-run', '--json'], { KILN_WORKERS: '1' });
    assert.equal(run.code, 0, run.stderr);
    const result = run.json as { dry_run: boolean; config: { study: { n_trials: number; workers: number } }; origins: Record<string, { kind: string; name: string }> };
    assert.equal(result.dry_run, true);
    assert.deepEqual([result.config.study.n_trials, result.config.study.workers], [2, 1]);
    assert.deepEqual(result.origins['study.workers'], { kind: 'env', name: 'KILN_WORKERS' });
    assert.deepEqual(result.origins['registry.model_name'], { kind: 'file', name: file });
    assert.deepEqual(result.origins['search_space.units.low'], { kind: 'file', name: file }, "a range's ends are listed apart");
    assert.doesNotMatch(run.stdout + run.stderr, /Server listening/);
  });

  test('an invalid config value is a usage error: exit 2, the key, where it was set and its flag', async () => {
    const bad = join(dir, 'bad.yml');
    await writeFile(bad, 'study:\n  workers: 0\n');
    const run = await runKiln(['tune', '--config', bad, '--dry-run']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, new RegExp(`KILN_ERR_CONFIG.*invalid config key "study.workers": expected an integer in \\[1, 64\\], got 0 \\(set in ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}; flag --workers\\)`));
    const flagged = await runKiln(['tune', '--sampler', 'cmaes', '--dry-run']);
    assert.equal(flagged.code, 2);
    assert.match(flagged.stderr, /invalid config key "study.sampler": expected one of tpe, random, got "cmaes" \(set by flag --sampler\)/);
  });
});
