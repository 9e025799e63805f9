/**
 * train/metrics — where training metrics go.
 *
 * The trainer knows nothing of tracking servers: it hands every metric to the MetricSink
 * interface (the tracking client implements it; tests use MemorySink). Keys follow the
 * seed's names: train_loss (per step and per epoch), val_loss, val_acc, test_loss,
 * test_acc, epoch_seconds, samples_per_second, lr.
 */
export interface MetricPoint {
  key: string;
  value: number;
  /** Global step for per-step metrics, epoch index (1-based) for per-epoch metrics. */
  step: number;
  /** Milliseconds since the Unix epoch. */
  timestamp: number;
}

export interface MetricSink {
  /** Receives points in the order they were produced; may return a promise the trainer awaits. */
  log(points: MetricPoint[]): void | Promise<void>;
  /** Called once when training (or testing) is over, to flush buffers. */
  flush?(): void | Promise<void>;
}

/** Keeps every point in memory; handy for tests and for summaries. */
export class MemorySink implements MetricSink {
  readonly points: MetricPoint[] = [];

  log(points: MetricPoint[]): void {
    this.points.push(...points);
  }

  /** The history of one key, in logging order. */
  history(key: string): MetricPoint[] {
    return this.points.filter((point) => point.key === key);
  }

  /** The last value logged for `key`, or undefined. */
  latest(key: string): number | undefined {
    for (let i = this.points.length - 1; i >= 0; i--) if (this.points[i].key === key) return this.points[i].value;
    return undefined;
  }
}
