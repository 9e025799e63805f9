/**
 * tracking/client — what Kiln's commands use to track: a session over a server (RestStore)
 * or the embedded store, a non-blocking RunLogger (the trainer's MetricSink), artifact upload,
 * the training-run lifecycle, and the registry rules (register, promote-if-better).
 */
export * from './artifacts.js';
export * from './dataset-input.js';
export * from './fluent.js';
export * from './registry.js';
export * from './rest-store.js';
export * from './run-logger.js';
export * from './s3-artifacts.js';
export * from './session.js';
export * from './training-run.js';
