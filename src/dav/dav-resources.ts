// What every part of the WebDAV service shares: the request and response shapes, the
// dependencies, paths and hrefs, the resources at a path and the If header and lock checks.
import type { Readable } from 'node:stream';
import { isAppError } from '../errors.js';
import { FILE, type FileObject } from '../files/file-object.js';
import type { FilesService } from '../files/files.service.js';
import { pathSegments } from '../names/file-names.js';
import type { BlobStore } from '../store/blob-store.js';
import type { ContentLock } from '../store/content-lock.js';
import { DavError } from './errors.js';
import { parseIfHeader, submittedTokens, type IfList } from './if-header.js';
import type { DavLock, DavLocks } from './locks.js';
import type { DavPropertiesRepo } from './properties.repo.js';
import { DAV_NS, escapeXml } from './xml.js';

export interface DavRequest {
  method: string;
  userId: number;
  /** The path below the WebDAV root, percent-decoded ("/", "/a/b.txt", "/dir/"). */
  path: string;
  /** Request headers, lower-case names. */
  headers: Readonly<Record<string, string | undefined>>;
  body: AsyncIterable<Uint8Array>;
}

export interface DavResponse {
  status: number;
  headers: Record<string, string | number>;
  body?: string | Readable;
}

export interface DavDeps {
  files: FilesService;
  store: BlobStore;
  lock: ContentLock;
  properties: DavPropertiesRepo;
  locks: DavLocks;
  /** Content stored that no file took: handed to the collector (upload.repo.ts). */
  adoptUnreferenced: (etag: string, size: number) => Promise<void>;
  /** Bytes of the user's unfinished block uploads waiting on the server: a PUT must fit beside them. */
  pendingUploadBytes: (userId: number) => number;
  /** The ETag header of stored content (the one /dl answers for it). */
  entityTag: (storeId: string) => string;
  /** Where WebDAV is mounted, e.g. "/dav". */
  prefix: string;
}

/** Request bodies other than PUT's (XML) are read whole, up to this. */
export const MAX_XML_BODY = 1024 * 1024;
/** A PUT's bytes go to the store in slices of about this size: fewer writes per GiB. */
export const WRITE_SLICE = 1024 * 1024;
/** Children read per page of a Depth 1 listing. */
export const LIST_PAGE = 999;

export const XML_TYPE = 'application/xml; charset=utf-8';

/** Live properties the server computes; a PROPPATCH cannot set or remove them. */
export const LIVE_PROPS = [
  'resourcetype',
  'displayname',
  'getcontentlength',
  'getcontenttype',
  'getetag',
  'getlastmodified',
  'creationdate',
  'supportedlock',
  'lockdiscovery',
  'quota-available-bytes',
  'quota-used-bytes',
] as const;
/** RFC 4331: quota properties are answered when asked for by name, never for allprop. */
export const ALLPROP_LIVE = LIVE_PROPS.filter((p) => !p.startsWith('quota-'));

export interface PropName {
  ns: string;
  name: string;
}

export type PropfindAsk = { kind: 'allprop'; include: PropName[] } | { kind: 'propname' } | { kind: 'prop'; names: PropName[] };

const REASONS: Record<number, string> = {
  200: 'OK',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  423: 'Locked',
  424: 'Failed Dependency',
};

export function statusLine(status: number): string {
  return `HTTP/1.1 ${status} ${REASONS[status] ?? ''}`.trimEnd();
}

export function propTag(p: PropName, inner = ''): string {
  if (p.ns === DAV_NS) return inner === '' ? `<D:${p.name}/>` : `<D:${p.name}>${inner}</D:${p.name}>`;
  return inner === '' ? `<${p.name} xmlns="${escapeXml(p.ns)}"/>` : `<${p.name} xmlns="${escapeXml(p.ns)}">${inner}</${p.name}>`;
}

export function multistatus(responses: string[]): DavResponse {
  const body = `<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus xmlns:D="DAV:">${responses.join('')}</D:multistatus>`;
  return { status: 207, headers: { 'Content-Type': XML_TYPE }, body };
}

export function empty(status: number, headers: Record<string, string | number> = {}): DavResponse {
  return { status, headers: { 'Content-Length': 0, ...headers } };
}

export async function readText(body: AsyncIterable<Uint8Array>, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) throw new DavError(413, `The request body is larger than ${limit} bytes.`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The path as the file tree spells it ("/" for the root); PATH_INVALID (400) for a bad one. */
export function treePath(path: string): string {
  return '/' + pathSegments(path).join('/');
}

export function parentOf(path: string): string {
  const at = path.lastIndexOf('/');
  return at <= 0 ? '/' : path.slice(0, at);
}

export function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export async function* emptyBody(): AsyncGenerator<Uint8Array> {}

/** The resources at WebDAV paths and the checks every method makes before it changes one. */
export class DavResources {
  constructor(readonly deps: DavDeps) {}

  /** The href of a tree path: each segment percent-encoded, collections with a trailing slash. */
  href(path: string, collection: boolean): string {
    const encoded = path === '/' ? '' : path.split('/').map(encodeURIComponent).join('/');
    return `${this.deps.prefix}${encoded}${collection ? '/' : ''}`;
  }

  /** The tree path a URL or absolute path names, or null when it is not below the WebDAV root. */
  pathOfUrl(url: string): string | null {
    let pathname: string;
    try {
      pathname = new URL(url, 'http://localhost').pathname;
    } catch {
      return null;
    }
    const prefix = this.deps.prefix;
    if (pathname !== prefix && !pathname.startsWith(prefix + '/')) return null;
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname.slice(prefix.length));
    } catch {
      return null;
    }
    return treePath(decoded);
  }

  /** The entry at a tree path, or null when there is none. */
  async entry(userId: number, path: string): Promise<FileObject | null> {
    try {
      return await this.deps.files.get(userId, { path });
    } catch (err) {
      if (isAppError(err) && err.code === 'FILE_NOT_FOUND') return null;
      throw err;
    }
  }

  async existing(userId: number, path: string): Promise<FileObject> {
    const entry = await this.entry(userId, path);
    if (!entry) throw new DavError(404, `Nothing is at "${path}".`);
    return entry;
  }

  etagOf(entry: FileObject): string | null {
    return entry.type === FILE ? this.deps.entityTag(entry.storeId) : null;
  }

  async children(userId: number, dir: FileObject): Promise<FileObject[]> {
    const out: FileObject[] = [];
    for (let start = 0; ; start += LIST_PAGE) {
      const page = await this.deps.files.list(userId, { path: dir.path }, { start, size: LIST_PAGE });
      out.push(...page.list);
      if (page.list.length === 0 || out.length >= page.totalCount) return out;
    }
  }

  ifLists(req: DavRequest): IfList[] {
    const header = req.headers.if;
    return header === undefined ? [] : parseIfHeader(header);
  }

  /** 412 when the request's If header is not satisfied (RFC 4918 §10.4). */
  async checkIf(req: DavRequest, path: string, lists: readonly IfList[]): Promise<void> {
    if (lists.length === 0) return;
    const etags = new Map<string, string | null>();
    const etagAt = async (p: string) => {
      if (!etags.has(p)) {
        const entry = await this.entry(req.userId, p);
        etags.set(p, entry ? this.etagOf(entry) : null);
      }
      return etags.get(p) ?? null;
    };
    for (const list of lists) {
      const at = list.resource === null ? path : this.pathOfUrl(list.resource);
      if (at === null) continue;
      let holds = true;
      for (const c of list.conditions) {
        let value: boolean;
        if (c.kind === 'token') value = this.deps.locks.covering(req.userId, at).some((l) => l.token === c.value);
        else value = (await etagAt(at)) === c.value;
        if (value === c.not) {
          holds = false;
          break;
        }
      }
      if (holds) return;
    }
    throw new DavError(412, 'The If header does not match the current state of the resource.');
  }

  /** 423 when `path` (or with `subtree` anything under it) is locked and the request does not submit the lock's token. */
  checkUnlocked(userId: number, path: string, submitted: ReadonlySet<string>, subtree = false): void {
    const locked = this.deps.locks.blocked(userId, path, submitted, subtree);
    if (locked !== null) throw new DavError(423, `"${locked}" is locked; submit its lock token in an If header.`, 'lock-token-submitted');
  }

  /** The If header checked and the tokens it submits, for a method that changes `path`. */
  async preconditions(req: DavRequest, path: string): Promise<Set<string>> {
    const lists = this.ifLists(req);
    await this.checkIf(req, path, lists);
    return submittedTokens(lists);
  }

  activeLock(lock: DavLock): string {
    const seconds = Math.max(0, Math.round((lock.expiresAt - Date.now()) / 1000));
    return (
      `<D:activelock><D:locktype><D:write/></D:locktype><D:lockscope><D:${lock.scope}/></D:lockscope>` +
      `<D:depth>${lock.depth === 0 ? '0' : 'infinity'}</D:depth>` +
      (lock.owner ? `<D:owner>${lock.owner}</D:owner>` : '') +
      `<D:timeout>Second-${seconds}</D:timeout>` +
      `<D:locktoken><D:href>${escapeXml(lock.token)}</D:href></D:locktoken>` +
      `<D:lockroot><D:href>${escapeXml(this.href(lock.root, false))}</D:href></D:lockroot></D:activelock>`
    );
  }
}
