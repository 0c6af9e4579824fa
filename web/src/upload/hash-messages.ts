// Messages between the page and the etag worker.
export interface HashRequest {
  id: number;
  file: Blob;
}

export type HashResponse =
  | { id: number; kind: 'progress'; hashedBytes: number }
  | { id: number; kind: 'done'; etag: string }
  | { id: number; kind: 'error'; message: string };
