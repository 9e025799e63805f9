/**
 * common/retry — one way to retry a transient failure: exponential backoff with full jitter.
 *
 * The k-th retry waits a uniformly random time in [0, min(maxDelayMs, baseDelayMs · 2^(k-1))]
 * ("full jitter", as AWS's architecture blog recommends): clients that failed together — every
 * worker of a study when the tracking server restarts — do not come back together. The tracking
 * client (REST store, run logger) and the data downloads use it. The wait is not seeded: Kiln's
 * reproducibility contract covers what is trained, not when a request is sent again.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface RetryOptions {
  /** Attempts after the first one; 0 means one attempt only. */
  retries: number;
  /** Upper bound of the first retry's wait in ms; the bound doubles with every retry. */
  baseDelayMs: number;
  /** Largest bound of a wait. Default 30 000 ms. */
  maxDelayMs?: number;
  /** Whether an error is worth another attempt (default: every one). Others are thrown at once. */
  retryable?: (error: unknown) => boolean;
  /** Told before each wait: the error, which retry comes next (1-based), and the wait chosen. */
  onRetry?: (event: { error: unknown; retry: number; delayMs: number }) => void;
  /** Uniform source in [0, 1). Default Math.random. */
  random?: () => number;
}

/** Upper bound of the wait before retry number `retry` (1-based). */
export function backoffCeiling(retry: number, options: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs'>): number {
  return Math.min(options.maxDelayMs ?? 30_000, Math.max(0, options.baseDelayMs) * 2 ** (retry - 1));
}

/** The wait before retry number `retry` (1-based): uniform in [0, backoffCeiling(retry)]. */
export function backoffDelay(retry: number, options: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs' | 'random'>): number {
  return (options.random ?? Math.random)() * backoffCeiling(retry, options);
}

/**
 * Runs `attempt(n)` (n = 0 for the first try) until it resolves, its error is not retryable, or
 * the retries are spent; then the last error is thrown as it was.
 */
export async function withRetry<T>(attempt: (n: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const retries = Math.max(0, Math.floor(options.retries));
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (n >= retries || !(options.retryable?.(error) ?? true)) throw error;
      const delayMs = backoffDelay(n + 1, options);
      options.onRetry?.({ error, retry: n + 1, delayMs });
      await sleep(delayMs);
    }
  }
}
