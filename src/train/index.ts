/**
 * train — the training loop (Trainer: fit / validate / test), its callbacks (early stopping,
 * top-k checkpoints, the pruner's epoch-end hook, progress) and the MetricSink interface the
 * tracking client implements.
 */
export * from './metrics.js';
export * from './callbacks.js';
export * from './trainer.js';
export * from './config.js';
export * from './run-training.js';
export * from './optimizer.js';
export * from './loss.js';
