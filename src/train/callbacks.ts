/**
 * train/callbacks — Lightning-style hooks into the training loop.
 *
 * A callback sees the loop at fixed points (fit start, batch end, epoch end, fit end) through
 * a TrainingContext and may stop training by calling `context.stop(reason)`. The four that
 * ship here are the ones the seed relies on: early stopping, top-k checkpointing, an epoch-end
 * hook for pruners, and a progress display.
 */
import * as tf from '@tensorflow/tfjs';

export interface EpochMetrics {
  /** 1-based epoch number. */
  epoch: number;
  train_loss: number;
  /** Accuracy on the training batches as seen during the epoch (dropout on, weights moving). */
  train_acc: number;
  val_loss: number;
  val_acc: number;
  epoch_seconds: number;
  samples_per_second: number;
}

export type StopReason = 'max_epochs' | 'early_stopping' | 'pruned' | 'deadline' | 'callback';

export interface TrainingContext {
  readonly model: tf.LayersModel;
  readonly maxEpochs: number;
  readonly stepsPerEpoch: number;
  readonly samplesPerEpoch: number;
  /** Per-epoch metrics so far. */
  readonly history: readonly EpochMetrics[];
  /** Ends training after the current epoch (or batch) with the given reason. */
  stop(reason: StopReason, detail?: string): void;
}

export interface BatchEnd {
  epoch: number;
  /** 1-based step within the epoch. */
  step: number;
  globalStep: number;
  loss: number;
  /** Running training accuracy over the epoch so far. */
  accuracy: number;
  /** Samples in this batch. */
  size?: number;
  /** Learning rate used for this step. */
  learningRate?: number;
  samplesSeen: number;
  epochElapsedSeconds: number;
  /** On the GPU (tfjs webgpu) only: this step's duration, and the part spent awaiting its results from the GPU. */
  stepSeconds?: number;
  deviceWaitSeconds?: number;
}

export interface Callback {
  onFitStart?(context: TrainingContext): void | Promise<void>;
  onBatchEnd?(context: TrainingContext, batch: BatchEnd): void;
  onEpochEnd?(context: TrainingContext, metrics: EpochMetrics): void | Promise<void>;
  onFitEnd?(context: TrainingContext): void | Promise<void>;
}

type Monitored = 'val_acc' | 'val_loss' | 'train_loss' | 'train_acc';

function improves(mode: 'max' | 'min', value: number, best: number, minDelta: number): boolean {
  return mode === 'max' ? value > best + minDelta : value < best - minDelta;
}

/**
 * Stops when the monitored metric has not improved for `patience` epochs.
 *
 * @example
 * new Trainer({ callbacks: [new EarlyStopping({ monitor: 'val_acc', patience: 3 })] });
 */
export class EarlyStopping implements Callback {
  readonly monitor: Monitored;
  readonly patience: number;
  readonly mode: 'max' | 'min';
  readonly minDelta: number;
  private best = Number.NaN;
  private wait = 0;

  constructor(options: { monitor?: Monitored; patience?: number; mode?: 'max' | 'min'; minDelta?: number } = {}) {
    this.monitor = options.monitor ?? 'val_acc';
    this.patience = options.patience ?? 3;
    this.mode = options.mode ?? (this.monitor.endsWith('_acc') ? 'max' : 'min');
    this.minDelta = options.minDelta ?? 0;
  }

  onFitStart(): void {
    this.best = Number.NaN;
    this.wait = 0;
  }

  onEpochEnd(context: TrainingContext, metrics: EpochMetrics): void {
    const value = metrics[this.monitor];
    if (Number.isNaN(this.best) || improves(this.mode, value, this.best, this.minDelta)) {
      this.best = value;
      this.wait = 0;
      return;
    }
    this.wait += 1;
    if (this.wait >= this.patience) {
      context.stop('early_stopping', `${this.monitor} did not improve for ${this.patience} epochs (best ${this.best.toFixed(4)})`);
    }
  }
}

interface Snapshot {
  epoch: number;
  score: number;
  weights: tf.Tensor[];
}

/**
 * Keeps the weights of the `topK` best epochs by the monitored metric (in memory) so the
 * best can be restored before testing, as Lightning's ModelCheckpoint + `ckpt_path="best"`.
 */
export class ModelCheckpoint implements Callback {
  readonly monitor: Monitored;
  readonly topK: number;
  readonly mode: 'max' | 'min';
  private snapshots: Snapshot[] = [];

  constructor(options: { monitor?: Monitored; topK?: number; mode?: 'max' | 'min' } = {}) {
    this.monitor = options.monitor ?? 'val_acc';
    this.topK = options.topK ?? 1;
    this.mode = options.mode ?? (this.monitor.endsWith('_acc') ? 'max' : 'min');
    if (!Number.isInteger(this.topK) || this.topK < 1) throw new RangeError(`topK must be a positive integer, got ${this.topK}`);
  }

  /** Best-first list of the kept epochs and their scores. */
  get kept(): { epoch: number; score: number }[] {
    return this.snapshots.map(({ epoch, score }) => ({ epoch, score }));
  }

  get best(): { epoch: number; score: number } | undefined {
    return this.kept[0];
  }

  onFitStart(): void {
    this.release(this.snapshots);
    this.snapshots = [];
  }

  async onEpochEnd(context: TrainingContext, metrics: EpochMetrics): Promise<void> {
    const score = metrics[this.monitor];
    const worst = this.snapshots[this.snapshots.length - 1];
    if (this.snapshots.length >= this.topK && !improves(this.mode, score, worst.score, 0)) return;
    // Copies, not clones: an optimiser that updated weights in place must not change a checkpoint.
    // Read asynchronously: on the GPU a synchronous read throws.
    const weights = await Promise.all(context.model.getWeights().map(async (w) => tf.tensor((await w.data()).slice(), w.shape, w.dtype)));
    this.snapshots.push({ epoch: metrics.epoch, score, weights });
    this.snapshots.sort((a, b) => (this.mode === 'max' ? b.score - a.score : a.score - b.score) || a.epoch - b.epoch);
    this.release(this.snapshots.splice(this.topK));
  }

  /** Loads the best kept weights into `model`; returns the epoch restored, if any. */
  restoreBest(model: tf.LayersModel): number | undefined {
    const best = this.snapshots[0];
    if (!best) return undefined;
    model.setWeights(best.weights);
    return best.epoch;
  }

  dispose(): void {
    this.release(this.snapshots);
    this.snapshots = [];
  }

  private release(snapshots: Snapshot[]): void {
    for (const snapshot of snapshots) tf.dispose(snapshot.weights);
  }
}

/**
 * Calls `hook` at every epoch end; when it answers true the trial is pruned. This is the seam
 * through which the tuner's pruners stop unpromising trials.
 */
export class EpochEndHook implements Callback {
  constructor(private readonly hook: (metrics: EpochMetrics) => boolean | Promise<boolean>) {}

  async onEpochEnd(context: TrainingContext, metrics: EpochMetrics): Promise<void> {
    if (await this.hook(metrics)) context.stop('pruned', `pruned after epoch ${metrics.epoch}`);
  }
}

/**
 * Stops training mid-epoch once the wall clock passes `deadline` (ms since the epoch, as
 * Date.now()); the partial epoch is still validated, and the best epoch is what is kept. This is
 * how a study with a hard time budget ends its running trial on time.
 */
export class Deadline implements Callback {
  constructor(private readonly deadline: number) {}

  onBatchEnd(context: TrainingContext): void {
    if (Date.now() >= this.deadline) context.stop('deadline', `the time budget ended at ${new Date(this.deadline).toISOString()}`);
  }
}

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

function formatRate(samplesPerSecond: number): string {
  return samplesPerSecond >= 1000 ? `${(samplesPerSecond / 1000).toFixed(1)}k/s` : `${samplesPerSecond.toFixed(0)}/s`;
}

/**
 * Shows progress: on a terminal a live line (step, loss, samples/s) redrawn at most ten times a
 * second; elsewhere (CI, files, pipes) one plain line per epoch.
 */
export class ProgressBar implements Callback {
  private lastDraw = 0;
  private readonly live: boolean;

  constructor(private readonly stream: ProgressStream = process.stderr) {
    this.live = Boolean(stream.isTTY);
  }

  onBatchEnd(context: TrainingContext, batch: BatchEnd): void {
    if (!this.live) return;
    const now = Date.now();
    if (now - this.lastDraw < 100 && batch.step !== context.stepsPerEpoch) return;
    this.lastDraw = now;
    const width = 24;
    const filled = Math.round((batch.step / context.stepsPerEpoch) * width);
    const rate = batch.samplesSeen / Math.max(batch.epochElapsedSeconds, 1e-9);
    this.stream.write(
      `\r\x1b[2Kepoch ${batch.epoch}/${context.maxEpochs} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ` +
        `${batch.step}/${context.stepsPerEpoch} loss ${batch.loss.toFixed(4)} acc ${batch.accuracy.toFixed(4)} ${formatRate(rate)}`,
    );
  }

  onEpochEnd(context: TrainingContext, m: EpochMetrics): void {
    const line =
      `epoch ${m.epoch}/${context.maxEpochs}  train_loss ${m.train_loss.toFixed(4)}  train_acc ${m.train_acc.toFixed(4)}  val_loss ${m.val_loss.toFixed(4)}  ` +
      `val_acc ${m.val_acc.toFixed(4)}  ${m.epoch_seconds.toFixed(1)}s  ${formatRate(m.samples_per_second)}`;
    this.stream.write(this.live ? `\r\x1b[2K${line}\n` : `${line}\n`);
  }
}
