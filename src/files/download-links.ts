import type { FileObject } from './file-object.js';
import { downloadAddress, signDownload } from './download-url.js';

export interface DownloadLink {
  downloadAddress: string;
  expires: number;
}

/** Issues signed, expiring download addresses for files (the answer of /v1/files/download). */
export class DownloadLinks {
  constructor(private readonly options: { secret: string; ttlMs: number; publicUrl: () => string }) {}

  forFile(file: FileObject, now = Date.now()): DownloadLink {
    const expires = now + this.options.ttlMs;
    const path = signDownload(this.options.secret, {
      etag: file.storeId,
      name: file.name,
      size: file.size,
      userId: file.userId,
      fileUuid: file.uuid,
      expires,
    });
    return { downloadAddress: downloadAddress(this.options.publicUrl(), path), expires };
  }
}
