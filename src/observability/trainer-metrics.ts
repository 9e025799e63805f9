/**
 * observability/trainer-metrics — the trainer's and tuner's Prometheus endpoint (port 8001 by
 * default while `kiln start` / `kiln tune` runs).
 *
 * A TrainingMetrics is a trainer Callback (so it sees every batch and epoch at no extra cost)
 * plus study-level gauges (trials by state, best value so far). Base units, bounded labels: the
 * only label is a trial state. The same endpoint carries the built-in host collector
 * (kiln_host_*, for runs without node-exporter) and, when nvidia-smi finds a GPU, kiln_gpu_*;
 * when training runs on tfjs's WebGPU backend, what it sees of that GPU (observability/webgpu-metrics).
 */
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { BatchEnd, Callback, EpochMetrics, TrainingContext } from '../train/callbacks.js';
import { type NvidiaSmiRunner, registerGpuMetrics } from './gpu-metrics.js';
import { registerHostMetrics } from './host-metrics.js';
import { registerWebGpuMetrics, type WebGpuMetrics, type WebGpuSource } from './webgpu-metrics.js';

const TRIAL_STATES = ['running', 'complete', 'pruned', 'failed'] as const;
export type TrialStateLabel = (typeof TRIAL_STATES)[number];

export class TrainingMetrics implements Callback {
  readonly registry = new Registry();
  private readonly batchLoss: Gauge;
  private readonly trainLoss: Gauge;
  private readonly trainAccuracy: Gauge;
  private readonly validationLoss: Gauge;
  private readonly validationAccuracy: Gauge;
  private readonly epoch: Gauge;
  private readonly epochProgress: Gauge;
  private readonly samplesPerSecond: Gauge;
  private readonly learningRate: Gauge;
  private readonly epochs: Counter;
  private readonly samples: Counter;
  private readonly trials: Gauge<'state'>;
  private readonly bestValue: Gauge;
  private webgpu: WebGpuMetrics | null = null;

  /** `hostMetrics: false` leaves out the kiln_host_* collector (default: on unless $KILN_HOST_METRICS is 0). */
  constructor(options: { hostMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.batchLoss = new Gauge({ name: 'kiln_train_batch_loss', help: 'Loss of the latest training batch', registers });
    this.trainLoss = new Gauge({ name: 'kiln_train_loss', help: 'Mean training loss of the latest epoch', registers });
    this.trainAccuracy = new Gauge({ name: 'kiln_train_accuracy_ratio', help: 'Training accuracy of the latest epoch (0-1)', registers });
    this.validationLoss = new Gauge({ name: 'kiln_validation_loss', help: 'Validation loss after the latest epoch', registers });
    this.validationAccuracy = new Gauge({ name: 'kiln_validation_accuracy_ratio', help: 'Validation accuracy after the latest epoch (0-1)', registers });
    this.epoch = new Gauge({ name: 'kiln_train_epoch', help: 'Epoch in progress (1-based)', registers });
    this.epochProgress = new Gauge({ name: 'kiln_train_epoch_progress_ratio', help: 'Fraction of the current epoch done (0-1)', registers });
    this.samplesPerSecond = new Gauge({ name: 'kiln_train_samples_per_second', help: 'Training throughput of the current epoch', registers });
    this.learningRate = new Gauge({ name: 'kiln_train_learning_rate', help: 'Learning rate of the latest step', registers });
    this.epochs = new Counter({ name: 'kiln_train_epochs_total', help: 'Epochs finished by this process', registers });
    this.samples = new Counter({ name: 'kiln_train_samples_total', help: 'Training samples processed by this process', registers });
    this.trials = new Gauge({ name: 'kiln_tune_trials', help: 'Trials of the current study by state', labelNames: ['state'], registers });
    this.bestValue = new Gauge({ name: 'kiln_tune_best_value', help: 'Best objective value of the current study so far (val accuracy)', registers });
    for (const state of TRIAL_STATES) this.trials.set({ state }, 0);
    collectDefaultMetrics({ register: this.registry, prefix: 'kiln_trainer_' });
    if (options.hostMetrics ?? process.env.KILN_HOST_METRICS !== '0') registerHostMetrics(this.registry, { paths: [process.cwd()] });
  }

  /** Adds the kiln_gpu_* gauges when nvidia-smi lists a GPU; true if it did. Absent (no error) otherwise. */
  async addGpuMetrics(run?: NvidiaSmiRunner): Promise<boolean> {
    return (await registerGpuMetrics(this.registry, run ? { run } : {})) !== null;
  }

  /**
   * Adds the kiln_gpu_adapter_info, kiln_gpu_tfjs_memory_* and kiln_gpu_step_wait_* metrics, for
   * training on tfjs's WebGPU backend (once; later calls are ignored).
   */
  addWebGpuMetrics(source: WebGpuSource): void {
    this.webgpu ??= registerWebGpuMetrics(this.registry, source);
  }

  onBatchEnd(context: TrainingContext, batch: BatchEnd): void {
    if (this.webgpu && batch.stepSeconds !== undefined && batch.deviceWaitSeconds !== undefined) this.webgpu.observeStep(batch.stepSeconds, batch.deviceWaitSeconds);
    this.batchLoss.set(batch.loss);
    this.epoch.set(batch.epoch);
    this.epochProgress.set(batch.step / context.stepsPerEpoch);
    if (batch.epochElapsedSeconds > 0) this.samplesPerSecond.set(batch.samplesSeen / batch.epochElapsedSeconds);
    if (batch.learningRate !== undefined) this.learningRate.set(batch.learningRate);
    this.samples.inc(batch.size ?? 0);
  }

  onEpochEnd(_context: TrainingContext, metrics: EpochMetrics): void {
    this.trainLoss.set(metrics.train_loss);
    this.trainAccuracy.set(metrics.train_acc);
    this.validationLoss.set(metrics.val_loss);
    this.validationAccuracy.set(metrics.val_acc);
    this.samplesPerSecond.set(metrics.samples_per_second);
    this.epochs.inc();
  }

  /** Trials of the study by state, and its best value so far (null: none complete yet). */
  setStudy(counts: Record<TrialStateLabel, number>, best: number | null): void {
    for (const state of TRIAL_STATES) this.trials.set({ state }, counts[state]);
    if (best !== null) this.bestValue.set(best);
  }
}

export interface MetricsEndpoint {
  url: string;
  close(): Promise<void>;
}

/** Serves `GET /metrics` (and `/health`) for `metrics` on host:port (port 0 picks a free one). */
export async function serveMetrics(metrics: TrainingMetrics, options: { host?: string; port?: number } = {}): Promise<MetricsEndpoint> {
  const host = options.host ?? '127.0.0.1';
  const server: Server = createServer((request, response) => {
    if (request.method === 'GET' && request.url?.split('?')[0] === '/metrics') {
      metrics.registry.metrics().then(
        (text) => {
          response.writeHead(200, { 'content-type': metrics.registry.contentType });
          response.end(text);
        },
        (error: unknown) => {
          response.writeHead(500, { 'content-type': 'text/plain' });
          response.end(`metrics unavailable: ${String(error)}`);
        },
      );
      return;
    }
    if (request.method === 'GET' && request.url === '/health') {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end('OK');
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('not found: the trainer serves GET /metrics and GET /health');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8001, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return {
    url: `http://${host}:${String(port)}/metrics`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
