import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Random } from '../common/random.js';
import { initEngine, tf } from './index.js';
import { parity, spec, TOLERANCE, withGrads } from './test-util.js';

describe('Tile as block copies vs cpu', () => {
  before(async () => {
    await initEngine({ quiet: true });
  });

  const cases: Array<[number[], number[]]> = [
    [[1, 1, 1, 16], [32, 14, 14, 1]], // batch-norm statistics tiled to an activation's shape
    [[3], [4]],
    [[2, 3], [3, 2]],
    [[2, 1, 3], [1, 5, 2]],
    [[2, 3, 4, 5], [1, 1, 1, 1]],
    [[2, 3, 2, 2], [2, 1, 3, 2]],
    [[1, 4], [0, 2]], // an empty output
  ];
  for (const [shape, reps] of cases) {
    test(`tile ${JSON.stringify(shape)} by ${JSON.stringify(reps)}: forward and grad`, async () => {
      const rng = new Random(shape.length * 7 + reps[0]!);
      const err = await parity([spec(rng, shape)], withGrads(rng, (x: tf.Tensor) => tf.tile(x, reps)));
      assert.ok(err <= TOLERANCE, `max rel error ${err}`);
    });
  }

  test('int32 tiles bit for bit', () => {
    const x = tf.tensor2d([1, -2, 2147483647, -2147483648], [2, 2], 'int32');
    const t = tf.tile(x, [2, 3]);
    assert.equal(t.dtype, 'int32');
    assert.deepEqual(t.shape, [4, 6]);
    assert.deepEqual(Array.from(t.dataSync()).slice(0, 6), [1, -2, 1, -2, 1, -2]);
    assert.deepEqual(Array.from(t.dataSync()).slice(18, 24), [2147483647, -2147483648, 2147483647, -2147483648, 2147483647, -2147483648]);
    tf.dispose([x, t]);
  });
});
