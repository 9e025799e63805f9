import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readDataset } from './dataset-json.js';

test("an input logged by MLflow's own NumPy dataset: the uri is read, its schema and profile are not Kiln's and are left out", () => {
  const read = readDataset({
    name: 'dataset',
    digest: '5d9ffcd3',
    source_type: 's3',
    source: '{"uri": "s3://bucket/train.npy"}',
    schema: JSON.stringify({ mlflow_tensorspec: { features: '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 4]}}]', targets: null } }),
    profile: '{"features_shape": [150, 4]}',
  });
  assert.deepEqual(read, { name: 'dataset', digest: '5d9ffcd3', source: 's3://bucket/train.npy', sourceType: 's3', schema: undefined, profile: undefined });
});

test('a source that is not JSON, and schema or profile that are not JSON, never throw', () => {
  const read = readDataset({ name: 'd', digest: 'x', source_type: 'local', source: '/data/plain path', schema: '{broken', profile: '' });
  assert.equal(read.source, '/data/plain path');
  assert.equal(read.schema, undefined);
  assert.equal(read.profile, undefined);
});

test("Kiln's profile whose split lacks per-class counts is refused, not half-read", () => {
  const read = readDataset({ name: 'd', digest: 'x', source_type: 'local', source: '{}', profile: '{"digest": "x", "num_items": 3, "splits": {"train": {"num_items": 3}}}' });
  assert.equal(read.profile, undefined);
});
