// Where content is kept, as the configuration says (src/config reads it): no SDK is loaded here,
// so a server on local disk never loads it.

export type StoreConfig = { kind: 'local' } | { kind: 's3'; location: S3Location; presign: boolean };

/** Where an S3 store lives and how to reach it (OPENPAN_STORE, the SDK's AWS_* variables). */
export interface S3Location {
  bucket: string;
  /** '' or a path ending in '/'. */
  prefix: string;
  /** AWS_ENDPOINT_URL_S3: MinIO, R2, Ceph RGW, B2… Unset: AWS itself. */
  endpoint?: string;
  region: string;
  /** Both or neither; neither: the SDK's default chain (profile files, instance roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** `https://endpoint/bucket/key` rather than `https://bucket.endpoint/key` (MinIO, most self-hosted servers). */
  forcePathStyle: boolean;
}

/** Parses `s3://BUCKET[/prefix]`; null for anything else. */
export function parseS3Url(url: string): { bucket: string; prefix: string } | null {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url.trim());
  if (m === null) return null;
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  return { bucket: m[1], prefix: prefix === '' ? '' : `${prefix}/` };
}
