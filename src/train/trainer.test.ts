import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { Random } from '../common/random.js';
import { initEngine } from '../engine/index.js';
import { buildModel, DEFAULT_CNN, FASHION_MNIST_INPUT, type ModelSpec } from '../models/index.js';
import { Deadline, EarlyStopping, EpochEndHook, type EpochMetrics, ModelCheckpoint, type TrainingContext } from './callbacks.js';
import { MemorySink } from './metrics.js';
import { syntheticImageSet } from './synthetic.js';
import { scheduledLearningRate, Trainer } from './trainer.js';

const MLP: ModelSpec = { kind: 'mlp', hiddenUnits: [32, 16], dropout: 0.2 };
const train = syntheticImageSet(600, 1);
const validation = syntheticImageSet(200, 2);

async function fitOnce(seed: number, spec: ModelSpec = MLP, epochs = 3) {
  const model = buildModel(spec, FASHION_MNIST_INPUT, new Random(seed));
  const sink = new MemorySink();
  // A constant rate: with 40 steps in all, a cosine schedule spends half of them at a small rate.
  const trainer = new Trainer({ maxEpochs: epochs, batchSize: 64, seed, sinks: [sink], logEveryNSteps: 5, lrSchedule: 'constant' });
  const result = await trainer.fit(model, train, validation);
  const test = await trainer.test(model, validation);
  const weights = model.getWeights().map((w) => Array.from(w.dataSync()));
  model.dispose();
  return { result, test, sink, weights };
}

function fakeContext(): TrainingContext & { stopped: string | null } {
  const context = {
    stopped: null as string | null,
    model: tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] }),
    maxEpochs: 100,
    stepsPerEpoch: 1,
    samplesPerEpoch: 1,
    history: [],
    stop(reason: string) {
      context.stopped = reason;
    },
  };
  return context;
}

function epoch(n: number, valAcc: number): EpochMetrics {
  return { epoch: n, train_loss: 1, train_acc: 0.5, val_loss: 1, val_acc: valAcc, epoch_seconds: 1, samples_per_second: 1 };
}

describe('Trainer', () => {
  before(async () => {
    await initEngine({ quiet: true });
  });

  test('learns a separable problem: val_acc rises well above chance', async () => {
    const { result, test: evaluation } = await fitOnce(7, MLP, 4);
    assert.equal(result.epochs, 4);
    assert.equal(result.stoppedBy, 'max_epochs');
    assert.ok(result.history[3].val_acc > 0.8, `val_acc ${result.history[3].val_acc}`);
    assert.ok(result.history[3].train_loss < result.history[0].train_loss);
    assert.equal(evaluation.count, 200);
  });

  test('same seed on the same machine gives identical metrics and weights', async () => {
    const a = await fitOnce(42);
    const b = await fitOnce(42);
    assert.deepEqual(
      a.result.history.map(({ train_loss, val_loss, val_acc }) => ({ train_loss, val_loss, val_acc })),
      b.result.history.map(({ train_loss, val_loss, val_acc }) => ({ train_loss, val_loss, val_acc })),
    );
    assert.deepEqual(a.weights, b.weights);
    assert.equal(a.test.loss, b.test.loss);
  });

  test('a different seed gives different training', async () => {
    const a = await fitOnce(1, MLP, 1);
    const b = await fitOnce(2, MLP, 1);
    assert.notEqual(a.result.history[0].train_loss, b.result.history[0].train_loss);
  });

  test('the CNN trains too (conv, pooling and their gradients), deterministically', async () => {
    const spec: ModelSpec = { ...DEFAULT_CNN, convChannels: [8, 16], denseUnits: [32] };
    const first = await fitOnce(3, spec, 2);
    const second = await fitOnce(3, spec, 2);
    assert.ok(first.result.history[1].val_acc > 0.5, `val_acc ${first.result.history[1].val_acc}`);
    assert.deepEqual(first.weights, second.weights);
  });

  test('the event loop gets turns during fit(), so timers and I/O (metric flushes, /metrics, Ctrl-C) are not held until it ends', async () => {
    const model = buildModel(MLP, FASHION_MNIST_INPUT, new Random(1));
    let step = 0;
    let timerRanAtStep: number | null = null;
    const trainer = new Trainer({ maxEpochs: 1, batchSize: 64, seed: 1, yieldEveryMs: 0, callbacks: [{ onBatchEnd: (_context, info) => void (step = info.globalStep) }] });
    setTimeout(() => (timerRanAtStep = step), 0);
    await trainer.fit(model, train, validation);
    model.dispose();
    assert.ok(step >= 5, `${step} steps`);
    assert.ok(timerRanAtStep !== null && timerRanAtStep < step, `a timer set before fit() ran at step ${String(timerRanAtStep)} of ${step}`);
  });

  test('a Deadline stops training mid-epoch; the partial epoch is validated and the run reports why it stopped', async () => {
    const model = buildModel(MLP, FASHION_MNIST_INPUT, new Random(2));
    let steps = 0;
    const trainer = new Trainer({ maxEpochs: 50, batchSize: 64, seed: 2, callbacks: [{ onBatchEnd: () => void steps++ }, new Deadline(Date.now())] });
    const result = await trainer.fit(model, train, validation);
    model.dispose();
    assert.equal(result.stoppedBy, 'deadline');
    assert.equal(result.epochs, 1);
    assert.equal(steps, 1, 'stopped after the first batch, not at the end of the epoch');
    assert.ok(result.history[0]!.val_acc >= 0 && result.history[0]!.val_acc <= 1);
  });

  test('metrics reach the sink: per-step train loss, per-epoch metrics, test metrics', async () => {
    const { sink } = await fitOnce(5, MLP, 2);
    assert.deepEqual(sink.history('val_acc').map((p) => p.step), [1, 2]);
    assert.deepEqual(sink.history('train_loss').map((p) => p.step), [1, 2]);
    // 600 samples / 64 = 10 steps per epoch, logged every 5 steps.
    assert.deepEqual(sink.history('train_loss_step').map((p) => p.step), [5, 10, 15, 20]);
    for (const key of ['train_acc', 'val_loss', 'epoch_seconds', 'samples_per_second', 'test_acc', 'test_loss', 'lr']) {
      assert.ok(sink.latest(key) !== undefined, `missing ${key}`);
    }
  });

  test('an epoch-end hook that answers true prunes the run after that epoch', async () => {
    const model = buildModel(MLP, FASHION_MNIST_INPUT, new Random(1));
    const seen: number[] = [];
    const trainer = new Trainer({
      maxEpochs: 5,
      batchSize: 100,
      callbacks: [new EpochEndHook((m) => (seen.push(m.epoch), m.epoch === 2))],
    });
    const result = await trainer.fit(model, train, validation);
    model.dispose();
    assert.equal(result.stoppedBy, 'pruned');
    assert.equal(result.epochs, 2);
    assert.deepEqual(seen, [1, 2]);
  });
});

describe('EarlyStopping', () => {
  test('stops after `patience` epochs without improvement of val_acc', () => {
    const stopper = new EarlyStopping({ monitor: 'val_acc', patience: 3 });
    const context = fakeContext();
    stopper.onFitStart();
    const accs = [0.5, 0.6, 0.59, 0.6, 0.58];
    accs.forEach((acc, i) => stopper.onEpochEnd(context, epoch(i + 1, acc)));
    assert.equal(context.stopped, 'early_stopping');
  });

  test('keeps going while the metric improves within patience', () => {
    const stopper = new EarlyStopping({ patience: 3 });
    const context = fakeContext();
    stopper.onFitStart();
    [0.5, 0.49, 0.48, 0.51, 0.5, 0.5].forEach((acc, i) => stopper.onEpochEnd(context, epoch(i + 1, acc)));
    assert.equal(context.stopped, null);
  });
});

describe('ModelCheckpoint', () => {
  test('keeps the top-k epochs by val_acc and restores the best weights', async () => {
    const context = fakeContext();
    const checkpoint = new ModelCheckpoint({ topK: 2 });
    checkpoint.onFitStart();
    const dense = context.model.layers[0];
    const setWeight = (value: number) => dense.setWeights([tf.tensor2d([[value]]), tf.tensor1d([0])]);
    const scores = [0.7, 0.9, 0.8, 0.6];
    for (const [i, acc] of scores.entries()) {
      setWeight(i + 1);
      await checkpoint.onEpochEnd(context, epoch(i + 1, acc));
    }
    assert.deepEqual(checkpoint.kept, [
      { epoch: 2, score: 0.9 },
      { epoch: 3, score: 0.8 },
    ]);
    assert.equal(checkpoint.restoreBest(context.model), 2);
    assert.equal(dense.getWeights()[0].dataSync()[0], 2);
    checkpoint.dispose();
  });
});

describe('learning-rate schedule', () => {
  test('cosine starts at the peak, halves mid-way and ends at 1 % of the peak', () => {
    assert.equal(scheduledLearningRate('cosine', 0.1, 0, 100), 0.1);
    assert.ok(Math.abs(scheduledLearningRate('cosine', 0.1, 50, 100) - (0.001 + 0.5 * 0.099)) < 1e-12);
    assert.ok(Math.abs(scheduledLearningRate('cosine', 0.1, 100, 100) - 0.001) < 1e-12);
  });

  test('constant stays at the peak', () => {
    assert.equal(scheduledLearningRate('constant', 0.1, 77, 100), 0.1);
  });
});
