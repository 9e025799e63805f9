import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { TrainingContext } from '../train/callbacks.js';
import { serveMetrics, TrainingMetrics } from './trainer-metrics.js';

const context: TrainingContext = {
  model: tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] }),
  maxEpochs: 3,
  stepsPerEpoch: 10,
  samplesPerEpoch: 1280,
  history: [],
  stop: () => undefined,
};

function value(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  assert.ok(line, `${name} missing from /metrics`);
  return Number(line.split(' ').pop());
}

describe('trainer metrics endpoint', () => {
  test('batches, epochs and the study show up on GET /metrics in base units', async () => {
    const metrics = new TrainingMetrics();
    metrics.onBatchEnd(context, { epoch: 2, step: 5, globalStep: 15, loss: 0.42, accuracy: 0.8, size: 128, learningRate: 0.001, samplesSeen: 640, epochElapsedSeconds: 0.5 });
    metrics.onEpochEnd(context, { epoch: 2, train_loss: 0.4, train_acc: 0.85, val_loss: 0.35, val_acc: 0.88, epoch_seconds: 1, samples_per_second: 1280 });
    metrics.setStudy({ running: 1, complete: 3, pruned: 2, failed: 0 }, 0.9);
    const endpoint = await serveMetrics(metrics, { port: 0 });
    try {
      const response = await fetch(endpoint.url);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
      const text = await response.text();
      assert.equal(value(text, 'kiln_train_batch_loss'), 0.42);
      assert.equal(value(text, 'kiln_train_epoch_progress_ratio'), 0.5);
      assert.equal(value(text, 'kiln_train_learning_rate'), 0.001);
      assert.equal(value(text, 'kiln_validation_accuracy_ratio'), 0.88);
      assert.equal(value(text, 'kiln_train_samples_per_second'), 1280);
      assert.equal(value(text, 'kiln_train_epochs_total'), 1);
      assert.equal(value(text, 'kiln_train_samples_total'), 128);
      assert.match(text, /kiln_tune_trials\{state="pruned"\} 2/);
      assert.equal(value(text, 'kiln_tune_best_value'), 0.9);
      assert.match(text, /kiln_trainer_process_cpu_seconds_total/);
      assert.equal((await fetch(endpoint.url.replace('/metrics', '/nope'))).status, 404);
    } finally {
      await endpoint.close();
    }
  });
});
