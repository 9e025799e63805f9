/**
 * serve/metrics — Prometheus metrics of the inference API (base units: seconds), on a registry
 * of their own so that several servers in one process (tests) do not collide.
 *
 * `kiln_serve_predictions_total{class}` is labelled with the served model's class names, never
 * with anything a client sends: its label values are exactly the current model's classes (each
 * present from the start, at 0), and a swap to a model with other classes starts the counter
 * afresh with the new names (a counter reset, which rate() and increase() handle), so the series
 * neither grow with swaps nor mix two models' classes.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export function createServeMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const metrics = {
    registry,
    requests: new Counter({ name: 'kiln_serve_requests_total', help: 'HTTP requests by route, method and status', labelNames: ['route', 'method', 'status'], registers: [registry] }),
    duration: new Histogram({ name: 'kiln_serve_request_duration_seconds', help: 'HTTP request duration', labelNames: ['route', 'method'], buckets: LATENCY_BUCKETS, registers: [registry] }),
    preprocess: new Histogram({ name: 'kiln_serve_preprocess_duration_seconds', help: 'Image decoding and normalisation time per request', buckets: LATENCY_BUCKETS, registers: [registry] }),
    inference: new Histogram({ name: 'kiln_serve_inference_duration_seconds', help: 'Inference call duration per batch, by engine and device (cpu or gpu)', labelNames: ['engine', 'device'], buckets: LATENCY_BUCKETS, registers: [registry] }),
    batchSize: new Histogram({ name: 'kiln_serve_batch_size', help: 'Examples per inference call', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256], registers: [registry] }),
    confidence: new Histogram({ name: 'kiln_serve_prediction_confidence', help: 'Probability of the predicted class', buckets: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99], registers: [registry] }),
    predictions: new Counter({ name: 'kiln_serve_predictions_total', help: 'Predictions by class', labelNames: ['class'], registers: [registry] }),
    inFlight: new Gauge({ name: 'kiln_serve_in_flight_requests', help: 'Requests being served', registers: [registry] }),
    modelInfo: new Gauge({ name: 'kiln_serve_model_info', help: 'The model being served (value 1)', labelNames: ['name', 'version', 'engine', 'source'], registers: [registry] }),
    modelLoadedAt: new Gauge({ name: 'kiln_serve_model_loaded_timestamp_seconds', help: 'When the served model was loaded', registers: [registry] }),
  };
  let classes: ReadonlySet<string> = new Set();
  return {
    ...metrics,
    /** Makes `names` (the served model's classes, in output order) the label values of the predictions counter. */
    useClasses(names: readonly string[]): void {
      if (names.length === classes.size && names.every((name) => classes.has(name))) return;
      metrics.predictions.reset();
      classes = new Set(names);
      for (const name of classes) metrics.predictions.inc({ class: name }, 0);
    },
    /** Counts one prediction and its confidence; a class of a model swapped out meanwhile is not counted. */
    observePrediction(className: string, confidence: number): void {
      metrics.confidence.observe(confidence);
      if (classes.has(className)) metrics.predictions.inc({ class: className });
    },
  };
}

export type ServeMetrics = ReturnType<typeof createServeMetrics>;
