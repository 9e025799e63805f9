import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REAL_DATA, runKiln, SKIP_WITHOUT_DATA } from './test-helpers.js';


describe('kiln train: bad input', () => {
  test('a hyperparameter out of range names the field and range, exits 2, and --json ends with the error object', async () => {
    const run = await runKiln(['train', '--layers', '128,0', '--json']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /KILN_ERR_INVALID_HYPERPARAMETER.*invalid layers\[1\]: expected an integer in \[1, 4096\], got 0/);
    assert.deepEqual(run.json, {
      error: { code: 'KILN_ERR_INVALID_HYPERPARAMETER', message: 'invalid layers[1]: expected an integer in [1, 4096], got 0' },
    });
  });

  test('a value that is not a number names the flag', async () => {
    const run = await runKiln(['train', '--epochs', 'ten']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /invalid epochs: expected a number, got "ten"/);
  });

  test('an unknown model family is refused with the choices', async () => {
    const run = await runKiln(['train', '--model', 'rnn']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /invalid model: expected mlp or cnn, got "rnn"/);
  });

  test('ranges of training options are checked before any data is read', async () => {
    const run = await runKiln(['train', '--lr', '0', '--data-dir', '/nonexistent']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /invalid lr: expected a number in \(0, 1\], got 0/);
  });
});

describe('kiln train on the real Fashion-MNIST', { skip: SKIP_WITHOUT_DATA }, () => {
  let home = '';
  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'kiln-cli-'));
  });
  after(async () => {
    await rm(home, { recursive: true, force: true });
  });

  test('same seed, same machine: identical metrics; --json ends with the result; the model folder is written', async () => {
    const args = ['train', '--epochs', '1', '--seed', '7', '--home', home, '--json', '--data-dir', REAL_DATA ?? ''];
    const first = await runKiln([...args, '--out', join(home, 'a')]);
    const second = await runKiln([...args, '--out', join(home, 'b')]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(second.code, 0, second.stderr);
    for (const key of ['test_acc', 'test_loss', 'val_acc', 'val_loss', 'epochs']) assert.equal(first.json[key], second.json[key], key);
    assert.ok((first.json.test_acc as number) > 0.8, `test_acc ${String(first.json.test_acc)}`);
    assert.equal(first.json.model_path, join(home, 'a'));
    assert.equal(typeof first.json.seconds, 'number');
    const metadata = JSON.parse(await readFile(join(home, 'a', 'kiln-model.json'), 'utf8')) as {
      metrics: Record<string, number>;
      dataset: { sha256: Record<string, string> };
    };
    assert.equal(metadata.metrics.test_acc, first.json.test_acc);
    assert.equal(Object.keys(metadata.dataset.sha256).length, 4);
    assert.ok(existsSync(join(home, 'a', 'weights.bin')));
  });

  // The seed's 3x128 lands at 0.880–0.887 by seed on this split; a wider MLP clears the bar with margin.
  test('an MLP reaches test accuracy >= 0.885 in 10 epochs', async () => {
    const run = await runKiln([
      'train', '--model', 'mlp', '--layers', '512,256,128', '--dropout', '0.2', '--epochs', '10', '--seed', '42', '--home', home, '--json',
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.ok((run.json.test_acc as number) >= 0.885, `test_acc ${String(run.json.test_acc)}`);
  });
});
