/**
 * tracking/client/run-logger — logs one run without ever making training wait.
 *
 * `log()` only appends to a buffer (it is the trainer's MetricSink); batches of at most 1000
 * points go out in the background when the buffer is full or a second has passed, in order,
 * one request at a time, each retried with jittered backoff. `flush()` waits until everything handed
 * over so far is stored; `end()` flushes and sets the run's final status; a process that exits
 * without either still sends what is buffered.
 */
import { withRetry } from '../../common/retry.js';
import type { MetricPoint, MetricSink } from '../../train/metrics.js';
import { TrackingError } from '../store/errors.js';
import { LOG_BATCH_LIMITS, type Metric, type Param, type RunStatus, type Tag, type TrackingStore } from '../store/types.js';

export interface RunLoggerOptions {
  /** Points per request (MLflow caps log-batch at 1000). */
  maxBatch?: number;
  /** Longest a point waits in the buffer. Default 1000 ms. */
  flushIntervalMs?: number;
  /** Retries of a failed batch before it is reported and dropped. Default 5. */
  retries?: number;
  /** Bound of the first retry's jittered wait (doubling). Default 200 ms. */
  retryDelayMs?: number;
  /** Largest bound of a retry's wait. Default 30 s. */
  retryMaxDelayMs?: number;
  /** Told about a batch that could not be stored after all retries. */
  onError?: (error: unknown, lost: number) => void;
}

export class RunLogger implements MetricSink {
  private buffer: Metric[] = [];
  private sending: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private readonly maxBatch: number;
  /** Points stored so far, and points dropped after exhausting retries. */
  stored = 0;
  lost = 0;

  constructor(
    readonly store: TrackingStore,
    readonly runId: string,
    private readonly options: RunLoggerOptions = {},
  ) {
    this.maxBatch = Math.min(options.maxBatch ?? LOG_BATCH_LIMITS.metrics, LOG_BATCH_LIMITS.metrics);
    // A program that ends without calling flush() or end() still gets its points stored: when
    // the event loop drains, the buffer is sent (which keeps the process alive until it is).
    process.on('beforeExit', this.flushOnExit);
  }

  private readonly flushOnExit = (): void => {
    if (this.buffer.length > 0) this.dispatch();
  };

  log(points: MetricPoint[]): void {
    for (const point of points) this.buffer.push({ key: point.key, value: point.value, step: point.step, timestamp: point.timestamp });
    if (this.buffer.length >= this.maxBatch) this.dispatch();
    else if (this.timer === null && this.buffer.length > 0) {
      this.timer = setTimeout(() => this.dispatch(), this.options.flushIntervalMs ?? 1000);
      this.timer.unref();
    }
  }

  /** Resolves when every point logged so far has been stored (or reported lost). */
  async flush(): Promise<void> {
    this.dispatch();
    await this.sending;
  }

  async logParams(params: Record<string, string>): Promise<void> {
    const list: Param[] = Object.entries(params).map(([key, value]) => ({ key, value }));
    for (let i = 0; i < list.length; i += LOG_BATCH_LIMITS.params) {
      await this.store.logBatch(this.runId, { params: list.slice(i, i + LOG_BATCH_LIMITS.params) });
    }
  }

  async setTags(tags: Record<string, string>): Promise<void> {
    const list: Tag[] = Object.entries(tags).map(([key, value]) => ({ key, value }));
    for (let i = 0; i < list.length; i += LOG_BATCH_LIMITS.tags) {
      await this.store.logBatch(this.runId, { tags: list.slice(i, i + LOG_BATCH_LIMITS.tags) });
    }
  }

  /** Flushes, then marks the run finished (or failed/killed) with its end time. */
  async end(status: RunStatus = 'FINISHED'): Promise<void> {
    process.removeListener('beforeExit', this.flushOnExit);
    await this.flush();
    await this.store.updateRun(this.runId, { status, end_time: Date.now() });
  }

  private dispatch(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, this.maxBatch);
      this.sending = this.sending.then(() => this.send(batch));
    }
  }

  private async send(metrics: Metric[]): Promise<void> {
    try {
      await withRetry(() => this.store.logBatch(this.runId, { metrics }), {
        retries: this.options.retries ?? 5,
        baseDelayMs: this.options.retryDelayMs ?? 200,
        maxDelayMs: this.options.retryMaxDelayMs,
        // A rejected batch (bad value, deleted run) will be rejected again: report it at once.
        retryable: (error) => !(error instanceof TrackingError && error.httpStatus < 500),
      });
      this.stored += metrics.length;
    } catch (error) {
      this.lost += metrics.length;
      this.options.onError?.(error, metrics.length);
    }
  }
}
