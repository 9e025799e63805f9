import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_MLP } from '../models/spec.js';
import { DEFAULT_TRAINING, type TrainingConfig, validateTrainingConfig } from './config.js';

const base: TrainingConfig = { ...DEFAULT_TRAINING, spec: DEFAULT_MLP, home: '/tmp/kiln' };

test('the default training configuration is valid', () => {
  assert.doesNotThrow(() => validateTrainingConfig(base));
  assert.doesNotThrow(() => validateTrainingConfig({ ...base, patience: null, trainLimit: 500, augmentation: { rotationDegrees: 10, flipProbability: 0.5 } }));
});

test('a setting outside its range is refused naming its flag, the range and the value', () => {
  const cases: [Partial<TrainingConfig>, string][] = [
    [{ epochs: 0 }, 'invalid epochs: expected an integer in [1, 1000], got 0'],
    [{ batchSize: 1.5 }, 'invalid batch-size: expected an integer in [1, 8192], got 1.5'],
    [{ learningRate: 0 }, 'invalid lr: expected a number in (0, 1], got 0'],
    [{ learningRate: Number.NaN }, 'invalid lr: expected a number in (0, 1], got NaN'],
    [{ lrSchedule: 'step' as TrainingConfig['lrSchedule'] }, 'invalid lr-schedule: expected one of cosine, constant, got "step"'],
    [{ labelSmoothing: 0.7 }, 'invalid label-smoothing: expected a number in [0, 0.5], got 0.7'],
    [{ seed: -1 }, 'invalid seed: expected an integer in [0, 4294967295], got -1'],
    [{ validationSize: 0 }, 'invalid validation-size: expected an integer in [1, 30000], got 0'],
    [{ patience: 0 }, 'invalid patience: expected an integer in [1, 1000], got 0'],
    [{ trainLimit: 0 }, 'invalid train-limit: expected an integer of at least 1, got 0'],
    [{ checkpointTopK: 101 }, 'invalid checkpoint-top-k: expected an integer in [1, 100], got 101'],
    [{ augmentation: { rotationDegrees: 200, flipProbability: 0 } }, 'invalid augment-rotation: expected a number in [0, 180], got 200'],
    [{ augmentation: { rotationDegrees: 0, flipProbability: 2 } }, 'invalid augment-flip: expected a number in [0, 1], got 2'],
  ];
  for (const [change, message] of cases) {
    assert.throws(() => validateTrainingConfig({ ...base, ...change }), { code: 'KILN_ERR_INVALID_HYPERPARAMETER', message }, JSON.stringify(change));
  }
});
