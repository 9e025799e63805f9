import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backoffCeiling, backoffDelay, withRetry } from './retry.js';

describe('retry with exponential backoff and full jitter', () => {
  test('the bound of the wait doubles with every retry up to maxDelayMs', () => {
    const options = { baseDelayMs: 100, maxDelayMs: 1000 };
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((retry) => backoffCeiling(retry, options)), [100, 200, 400, 800, 1000, 1000]);
    assert.equal(backoffCeiling(40, { baseDelayMs: 200 }), 30_000, 'the default cap is 30 s');
  });

  test('the wait is the bound scaled by a uniform draw: anywhere from 0 to the whole bound', () => {
    assert.equal(backoffDelay(3, { baseDelayMs: 100, random: () => 0 }), 0);
    assert.equal(backoffDelay(3, { baseDelayMs: 100, random: () => 0.5 }), 200);
    assert.equal(backoffDelay(3, { baseDelayMs: 100, random: () => 0.999 }), 399.6);
    const draws = Array.from({ length: 200 }, () => backoffDelay(2, { baseDelayMs: 100 }));
    assert.ok(draws.every((d) => d >= 0 && d <= 200));
    assert.ok(new Set(draws).size > 100, 'Math.random jitters the waits by default');
  });

  test('a transient failure is attempted again until it succeeds, each wait reported', async () => {
    const waits: Array<[number, number]> = [];
    let calls = 0;
    const value = await withRetry(
      async (n) => {
        calls++;
        if (n < 2) throw new Error(`flaky ${n}`);
        return 'done';
      },
      { retries: 5, baseDelayMs: 8, random: () => 0.5, onRetry: ({ retry, delayMs }) => waits.push([retry, delayMs]) },
    );
    assert.equal(value, 'done');
    assert.equal(calls, 3);
    assert.deepEqual(waits, [
      [1, 4],
      [2, 8],
    ]);
  });

  test('when the retries are spent the last error is thrown as it was', async () => {
    let calls = 0;
    const last = new Error('still down');
    await assert.rejects(
      withRetry(
        async () => {
          calls++;
          throw calls === 3 ? last : new Error('down');
        },
        { retries: 2, baseDelayMs: 1 },
      ),
      (error) => error === last,
    );
    assert.equal(calls, 3);
  });

  test('an error that is not retryable is thrown at once; retries: 0 is one attempt', async () => {
    let calls = 0;
    const permanent = new TypeError('bad request');
    await assert.rejects(
      withRetry(
        async () => {
          calls++;
          throw permanent;
        },
        { retries: 5, baseDelayMs: 1, retryable: (error) => !(error instanceof TypeError) },
      ),
      TypeError,
    );
    assert.equal(calls, 1);
    calls = 0;
    await assert.rejects(withRetry(async () => (calls++, Promise.reject(new Error('x'))), { retries: 0, baseDelayMs: 1 }));
    assert.equal(calls, 1);
  });
});
