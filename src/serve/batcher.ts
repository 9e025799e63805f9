/**
 * serve/batcher — micro-batching: requests that arrive while an inference runs (or within
 * `maxWaitMs` of each other) are coalesced into one Predictor call of at most `maxBatch`
 * examples. One call runs at a time; with `maxWaitMs` 0 (default) a lone request never waits.
 */
import type { Predictor } from './predictor.js';

export interface BatcherOptions {
  /** Largest coalesced batch, in examples (default 64); a bigger single request runs alone. */
  maxBatch?: number;
  /** How long the first queued request waits for company when the engine is idle (default 0). */
  maxWaitMs?: number;
}

export interface BatchResult {
  probabilities: Float32Array;
  /** Wall time of the inference call this request rode in, milliseconds. */
  inferenceMs: number;
  /** Examples in that call. */
  batchSize: number;
}

interface Pending {
  input: Float32Array;
  n: number;
  resolve: (result: BatchResult) => void;
  reject: (error: unknown) => void;
}

export class MicroBatcher {
  readonly maxBatch: number;
  readonly maxWaitMs: number;
  private queue: Pending[] = [];
  private queued = 0;
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  /** Called after each inference call with (batchSize, seconds). */
  onBatch: ((size: number, seconds: number) => void) | null = null;

  constructor(
    private readonly predictor: Predictor,
    options: BatcherOptions = {},
  ) {
    this.maxBatch = Math.max(1, options.maxBatch ?? 64);
    this.maxWaitMs = Math.max(0, options.maxWaitMs ?? 0);
  }

  submit(input: Float32Array, n: number): Promise<BatchResult> {
    return new Promise<BatchResult>((resolve, reject) => {
      this.queue.push({ input, n, resolve, reject });
      this.queued += n;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running) return;
    if (this.queued >= this.maxBatch || this.maxWaitMs === 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.running = true;
      setImmediate(() => void this.flush());
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.running = true;
        void this.flush();
      }, this.maxWaitMs);
    }
  }

  private async flush(): Promise<void> {
    const items: Pending[] = [];
    let n = 0;
    while (this.queue.length > 0 && (items.length === 0 || n + this.queue[0]!.n <= this.maxBatch)) {
      const item = this.queue.shift()!;
      items.push(item);
      n += item.n;
    }
    this.queued -= n;
    try {
      const size = this.predictor.inputSize;
      let input: Float32Array;
      if (items.length === 1) input = items[0]!.input;
      else {
        input = new Float32Array(n * size);
        let offset = 0;
        for (const item of items) {
          input.set(item.input.subarray(0, item.n * size), offset);
          offset += item.n * size;
        }
      }
      const start = performance.now();
      const output = await this.predictor.predict(input, n);
      const ms = performance.now() - start;
      this.onBatch?.(n, ms / 1000);
      const classes = this.predictor.classes;
      let row = 0;
      for (const item of items) {
        item.resolve({ probabilities: output.subarray(row * classes, (row + item.n) * classes), inferenceMs: ms, batchSize: n });
        row += item.n;
      }
    } catch (error) {
      for (const item of items) item.reject(error);
    } finally {
      this.running = false;
      if (this.queue.length > 0) {
        // Whatever queued during the call goes next, without waiting.
        this.running = true;
        setImmediate(() => void this.flush());
      }
    }
  }

  /** Resolves once nothing is queued or running. */
  async drain(): Promise<void> {
    while (this.running || this.queue.length > 0) await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
