// An S3-compatible server (s3rver) on 127.0.0.1, a free port and a temporary directory, for the
// S3 store's tests: it speaks the SDK's multipart uploads, ranged GETs and signed URLs.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { s3ClientFor } from '../../src/store/s3.js';
import type { S3Location } from '../../src/store/store-config.js';

export const S3_TEST_KEY = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
export const S3_TEST_REGION = 'us-east-1';

export interface TestS3 {
  endpoint: string;
  bucket: string;
  /** Where to reach the bucket, as the server's configuration would say. */
  location(prefix?: string): S3Location;
  /** The environment that points openpan at the bucket (OPENPAN_STORE and the SDK's variables). */
  env(prefix?: string): Record<string, string>;
  close(): Promise<void>;
}

export async function startS3(bucket = 'openpan'): Promise<TestS3> {
  const directory = await mkdtemp(join(tmpdir(), 'openpan-s3-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, configureBuckets: [{ name: bucket, configs: [] }] });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    location: (prefix = '') => ({ bucket, prefix, endpoint, region: S3_TEST_REGION, credentials: S3_TEST_KEY, forcePathStyle: true }),
    env: (prefix = '') => ({
      OPENPAN_STORE: `s3://${bucket}${prefix === '' ? '' : `/${prefix}`}`,
      OPENPAN_S3_FORCE_PATH_STYLE: '1',
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_REGION: S3_TEST_REGION,
      AWS_ACCESS_KEY_ID: S3_TEST_KEY.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3_TEST_KEY.secretAccessKey,
    }),
    async close() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** A client for looking into the bucket behind the store's back. */
export function testS3Client(s3: TestS3) {
  return s3ClientFor(s3.location());
}
