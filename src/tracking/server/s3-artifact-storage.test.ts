import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseS3Destination, s3ClientConfig } from './s3-artifact-storage.js';

describe('S3 artifact destinations', () => {
  test('s3://bucket/prefix is split into a bucket and a clean key prefix', () => {
    assert.deepEqual(parseS3Destination('s3://kiln-artifacts'), { bucket: 'kiln-artifacts', prefix: '' });
    assert.deepEqual(parseS3Destination('s3://kiln-artifacts/'), { bucket: 'kiln-artifacts', prefix: '' });
    assert.deepEqual(parseS3Destination('s3://kiln-artifacts/team/mlflow/'), { bucket: 'kiln-artifacts', prefix: 'team/mlflow' });
  });

  test('bad buckets and prefixes that would leave or blur the prefix are refused', () => {
    for (const uri of ['s3://', 's3://ab/x', 's3://Upper/x', 's3://under_score/x', 's3://kiln/a/../b', 's3://kiln/a//b', 's3://kiln/a\\b', 's3:/kiln/x']) {
      assert.throws(() => parseS3Destination(uri), { code: 'KILN_ERR_CONFIG' }, uri);
    }
  });

  test('MLFLOW_S3_ENDPOINT_URL selects an S3-compatible server: path-style, a default region, checksums only where required', () => {
    assert.deepEqual(s3ClientConfig({}), { followRegionRedirects: true });
    assert.deepEqual(s3ClientConfig({ MLFLOW_S3_ENDPOINT_URL: 'http://minio:9000' }), {
      endpoint: 'http://minio:9000',
      forcePathStyle: true,
      region: 'us-east-1',
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    // The SDK's own variables win over Kiln's defaults.
    assert.deepEqual(s3ClientConfig({ MLFLOW_S3_ENDPOINT_URL: 'http://minio:9000', AWS_REGION: 'eu-west-1', AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_SUPPORTED', AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_SUPPORTED' }), {
      endpoint: 'http://minio:9000',
      forcePathStyle: true,
    });
  });
});
