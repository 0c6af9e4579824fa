// WebDAV (RFC 4918 class 1 and 2, RFC 4331 quota) over a user's file tree and the content
// store. Protocol only: the HTTP layer (http/dav.routes.ts) authenticates, builds a DavRequest
// and writes the DavResponse out. This class dispatches each method to its part:
// dav-reading.ts, dav-writing.ts and dav-locking.ts, over the shared dav-resources.ts.
import { DavLocking } from './dav-locking.js';
import { DavReading } from './dav-reading.js';
import { type DavDeps, type DavRequest, type DavResponse, DavResources, empty } from './dav-resources.js';
import { DavWriting } from './dav-writing.js';

export type { DavDeps, DavRequest, DavResponse } from './dav-resources.js';

export const DAV_METHODS = ['OPTIONS', 'GET', 'HEAD', 'PUT', 'DELETE', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK'] as const;

export class DavService {
  readonly #res: DavResources;
  readonly #reading: DavReading;
  readonly #writing: DavWriting;
  readonly #locking: DavLocking;

  constructor(deps: DavDeps) {
    this.#res = new DavResources(deps);
    this.#reading = new DavReading(this.#res);
    this.#writing = new DavWriting(this.#res);
    this.#locking = new DavLocking(this.#res, this.#writing);
  }

  /** The href of a tree path: each segment percent-encoded, collections with a trailing slash. */
  href(path: string, collection: boolean): string {
    return this.#res.href(path, collection);
  }

  /** The tree path a URL or absolute path names, or null when it is not below the WebDAV root. */
  pathOfUrl(url: string): string | null {
    return this.#res.pathOfUrl(url);
  }

  async handle(req: DavRequest): Promise<DavResponse> {
    switch (req.method) {
      case 'OPTIONS':
        return this.options();
      case 'GET':
      case 'HEAD':
        return this.#reading.get(req);
      case 'PROPFIND':
        return this.#reading.propfind(req);
      case 'PROPPATCH':
        return this.#writing.proppatch(req);
      case 'PUT':
        return this.#writing.put(req);
      case 'DELETE':
        return this.#writing.delete(req);
      case 'MKCOL':
        return this.#writing.mkcol(req);
      case 'COPY':
      case 'MOVE':
        return this.#writing.copyOrMove(req);
      case 'LOCK':
        return this.#locking.lock(req);
      case 'UNLOCK':
        return this.#locking.unlock(req);
      default:
        return empty(405, { Allow: DAV_METHODS.join(', ') });
    }
  }

  options(): DavResponse {
    return empty(200, {
      DAV: '1, 2',
      Allow: DAV_METHODS.join(', '),
      // Windows' Mini-Redirector looks for this before it offers to write.
      'MS-Author-Via': 'DAV',
      'Accept-Ranges': 'bytes',
    });
  }
}
