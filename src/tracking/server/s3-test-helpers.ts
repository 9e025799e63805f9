/**
 * tracking/server/s3-test-helpers — a real S3-compatible server (s3rver) on a loopback port for
 * the S3 tests, with the environment a Kiln process needs to reach it. Not used by Kiln itself.
 */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { s3ClientConfig } from './s3-artifact-storage.js';

export interface TestS3 {
  endpoint: string;
  bucket: string;
  /** What a Kiln process needs to reach this server: MLFLOW_S3_ENDPOINT_URL and s3rver's fixed keys. */
  env: Record<string, string>;
  /** A client of its own, to look at the bucket independently of the code under test. */
  client: S3Client;
  /** s3rver's notifications, `<eventName> <key>`: `ObjectCreated:Post` is a completed multipart upload, `ObjectCreated:Put` a single PUT. */
  events: string[];
  /** Every key in the bucket, sorted. */
  keys(): Promise<string[]>;
  close(): Promise<void>;
}

export async function startTestS3(bucket = 'kiln-artifacts'): Promise<TestS3> {
  const directory = await mkdtemp(join(tmpdir(), 'kiln-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  const events: string[] = [];
  // s3rver is a Koa app, so an EventEmitter, though its typings do not say so.
  (server as unknown as EventEmitter).on('event', (event: { Records: { eventName: string; s3: { object: { key: string } } }[] }) => {
    for (const record of event.Records) events.push(`${record.eventName} ${record.s3.object.key}`);
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  // s3rver checks signatures made with its one built-in key pair.
  const env = { MLFLOW_S3_ENDPOINT_URL: endpoint, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  const client = new S3Client({ ...s3ClientConfig(env), credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  let closed = false;
  return {
    endpoint,
    bucket,
    env,
    client,
    events,
    async keys() {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
        for (const object of page.Contents ?? []) keys.push(object.Key ?? '');
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
      return keys.sort();
    },
    async close() {
      if (closed) return;
      closed = true;
      client.destroy();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
