import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  categoricalDistribution,
  checkDistributionCompatibility,
  contains,
  distributionsEqual,
  floatDistribution,
  intDistribution,
  isSingle,
  toExternal,
  toInternal,
} from './distributions.js';
import { IncompatibleDistributionError, InvalidDistributionError } from './errors.js';

describe('distributions', () => {
  test('external values round-trip through their internal representation', () => {
    const f = floatDistribution(0.5, 2.5);
    assert.equal(toExternal(f, toInternal(f, 1.25)), 1.25);
    const i = intDistribution(1, 9, { step: 2 });
    assert.equal(toExternal(i, toInternal(i, 7)), 7);
    const c = categoricalDistribution(['relu', 3, true, null, Number.NaN]);
    for (const choice of c.choices) {
      const internal = toInternal(c, choice);
      assert.ok(Number.isInteger(internal));
      assert.ok(Object.is(toExternal(c, internal), choice));
    }
    assert.equal(toInternal(c, null), 3);
    assert.equal(toInternal(c, Number.NaN), 4, 'NaN matches a NaN choice');
    assert.throws(() => toInternal(c, 'tanh'), InvalidDistributionError);
  });

  test('construction validates bounds, log and step as Optuna does', () => {
    assert.throws(() => floatDistribution(2, 1), /low.*smaller than or equal/);
    assert.throws(() => floatDistribution(0, 1, { log: true }), /larger than 0 for a log/);
    assert.throws(() => floatDistribution(1, 2, { log: true, step: 0.1 }), /step.*not supported when `log`/);
    assert.throws(() => floatDistribution(0, 1, { step: 0 }), /positive/);
    assert.throws(() => floatDistribution(0, Number.POSITIVE_INFINITY), /finite/);
    assert.throws(() => intDistribution(0, 10, { log: true }), /greater than or equal to 1|equal to or greater than 1/);
    assert.throws(() => intDistribution(1, 10, { log: true, step: 2 }), /step/);
    assert.throws(() => intDistribution(1.5, 10), /integer/);
    assert.throws(() => intDistribution(5, 1), /smaller than or equal/);
    assert.throws(() => categoricalDistribution([]), /one or more/);
    assert.throws(() => categoricalDistribution([{}] as unknown as string[]), /choices must be/);
  });

  test('high is lowered onto the step grid', () => {
    assert.equal(intDistribution(0, 10, { step: 3 }).high, 9);
    assert.equal(floatDistribution(0, 1, { step: 0.3 }).high, 0.9);
    assert.equal(floatDistribution(0, 1, { step: 0.1 }).high, 1, 'floating-point noise does not lower high');
  });

  test('contains respects bounds and step grids', () => {
    const f = floatDistribution(0, 1, { step: 0.25 });
    assert.ok(contains(f, 0.75));
    assert.ok(!contains(f, 0.7));
    assert.ok(!contains(f, 1.25));
    const i = intDistribution(2, 10, { step: 2 });
    assert.ok(contains(i, 4));
    assert.ok(!contains(i, 5));
    assert.ok(!contains(i, 12));
    const c = categoricalDistribution(['a', 'b']);
    assert.ok(contains(c, 1));
    assert.ok(!contains(c, 2));
    assert.ok(!contains(c, 0.5));
    assert.ok(!contains(floatDistribution(0, 1), Number.NaN));
  });

  test('isSingle: one possible value', () => {
    assert.ok(isSingle(floatDistribution(1, 1)));
    assert.ok(isSingle(floatDistribution(0, 0.05, { step: 0.1 })));
    assert.ok(!isSingle(floatDistribution(0, 1)));
    assert.ok(isSingle(intDistribution(3, 4, { step: 2 })));
    assert.ok(!isSingle(intDistribution(3, 5, { step: 2 })));
    assert.ok(isSingle(categoricalDistribution(['only'])));
    assert.ok(!isSingle(categoricalDistribution(['a', 'b'])));
  });

  test('compatibility: another kind, log setting or choices is an error naming the parameter; new bounds are fine', () => {
    const check = (a: Parameters<typeof checkDistributionCompatibility>[1], b: Parameters<typeof checkDistributionCompatibility>[2]) =>
      checkDistributionCompatibility('lr', a, b);
    assert.throws(() => check(floatDistribution(0, 1), intDistribution(0, 1)), (error: unknown) => {
      assert.ok(error instanceof IncompatibleDistributionError);
      assert.equal(error.param, 'lr');
      assert.match(error.message, /"lr"/);
      return true;
    });
    assert.throws(() => check(floatDistribution(1, 2), floatDistribution(1, 2, { log: true })), /log/);
    assert.throws(() => check(categoricalDistribution(['a']), categoricalDistribution(['a', 'b'])), /dynamic value space/);
    check(floatDistribution(0, 1), floatDistribution(0, 5, { step: 0.5 }));
    check(intDistribution(0, 1), intDistribution(0, 9));
    assert.ok(distributionsEqual(categoricalDistribution(['a', Number.NaN]), categoricalDistribution(['a', Number.NaN])));
    assert.ok(!distributionsEqual(intDistribution(0, 9), intDistribution(0, 8)));
  });
});
