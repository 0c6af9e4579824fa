import type { Readable } from 'node:stream';
import { AppError, isAppError } from '../errors.js';
import { contentTypeFor, ifMatchHolds, ifNoneMatchHolds, parseRange, rangeStillValid } from '../files/byte-ranges.js';
import { DIRECTORY, FILE, type FileObject } from '../files/file-object.js';
import type { FilesService } from '../files/files.service.js';
import { pathSegments } from '../names/file-names.js';
import type { BlobInfo, BlobStore, BlobWriter } from '../store/blob-store.js';
import type { ContentLock } from '../store/content-lock.js';
import { DavError, asDav } from './errors.js';
import { parseIfHeader, submittedTokens, type IfList } from './if-header.js';
import { isUnder, parseTimeout, type DavLock, type DavLocks, type LockScope } from './locks.js';
import type { DavPropertiesRepo, DeadProperty, PropertyChange } from './properties.repo.js';
import { DAV_NS, elements, escapeXml, firstElement, isElement, parseXml, serializeElement, type XmlElement } from './xml.js';

// WebDAV (RFC 4918 class 1 and 2, RFC 4331 quota) over a user's file tree and the content
// store. Protocol only: the HTTP layer (http/dav.routes.ts) authenticates, builds a DavRequest
// and writes the DavResponse out.

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
const MAX_XML_BODY = 1024 * 1024;
/** A PUT's bytes go to the store in slices of about this size: fewer writes per GiB. */
const WRITE_SLICE = 1024 * 1024;
/** Children read per page of a Depth 1 listing. */
const LIST_PAGE = 999;

export const DAV_METHODS = ['OPTIONS', 'GET', 'HEAD', 'PUT', 'DELETE', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK'] as const;

const XML_TYPE = 'application/xml; charset=utf-8';

/** Live properties the server computes; a PROPPATCH cannot set or remove them. */
const LIVE_PROPS = [
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
const ALLPROP_LIVE = LIVE_PROPS.filter((p) => !p.startsWith('quota-'));

interface PropName {
  ns: string;
  name: string;
}

type PropfindAsk = { kind: 'allprop'; include: PropName[] } | { kind: 'propname' } | { kind: 'prop'; names: PropName[] };

const REASONS: Record<number, string> = {
  200: 'OK',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  423: 'Locked',
  424: 'Failed Dependency',
};

function statusLine(status: number): string {
  return `HTTP/1.1 ${status} ${REASONS[status] ?? ''}`.trimEnd();
}

function propTag(p: PropName, inner = ''): string {
  if (p.ns === DAV_NS) return inner === '' ? `<D:${p.name}/>` : `<D:${p.name}>${inner}</D:${p.name}>`;
  return inner === '' ? `<${p.name} xmlns="${escapeXml(p.ns)}"/>` : `<${p.name} xmlns="${escapeXml(p.ns)}">${inner}</${p.name}>`;
}

function multistatus(responses: string[]): DavResponse {
  const body = `<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus xmlns:D="DAV:">${responses.join('')}</D:multistatus>`;
  return { status: 207, headers: { 'Content-Type': XML_TYPE }, body };
}

function empty(status: number, headers: Record<string, string | number> = {}): DavResponse {
  return { status, headers: { 'Content-Length': 0, ...headers } };
}

async function readText(body: AsyncIterable<Uint8Array>, limit: number): Promise<string> {
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
function treePath(path: string): string {
  return '/' + pathSegments(path).join('/');
}

function parentOf(path: string): string {
  const at = path.lastIndexOf('/');
  return at <= 0 ? '/' : path.slice(0, at);
}

function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export class DavService {
  constructor(private readonly deps: DavDeps) {}

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

  async handle(req: DavRequest): Promise<DavResponse> {
    switch (req.method) {
      case 'OPTIONS':
        return this.options();
      case 'GET':
      case 'HEAD':
        return this.get(req);
      case 'PROPFIND':
        return this.propfind(req);
      case 'PROPPATCH':
        return this.proppatch(req);
      case 'PUT':
        return this.put(req);
      case 'DELETE':
        return this.delete(req);
      case 'MKCOL':
        return this.mkcol(req);
      case 'COPY':
      case 'MOVE':
        return this.copyOrMove(req);
      case 'LOCK':
        return this.lock(req);
      case 'UNLOCK':
        return this.unlock(req);
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

  // ---- resources ----------------------------------------------------------------------------

  /** The entry at a tree path, or null when there is none. */
  private async entry(userId: number, path: string): Promise<FileObject | null> {
    try {
      return await this.deps.files.get(userId, { path });
    } catch (err) {
      if (isAppError(err) && err.code === 'FILE_NOT_FOUND') return null;
      throw err;
    }
  }

  private async existing(userId: number, path: string): Promise<FileObject> {
    const entry = await this.entry(userId, path);
    if (!entry) throw new DavError(404, `Nothing is at "${path}".`);
    return entry;
  }

  private etagOf(entry: FileObject): string | null {
    return entry.type === FILE ? this.deps.entityTag(entry.storeId) : null;
  }

  private async children(userId: number, dir: FileObject): Promise<FileObject[]> {
    const out: FileObject[] = [];
    for (let start = 0; ; start += LIST_PAGE) {
      const page = await this.deps.files.list(userId, { path: dir.path }, { start, size: LIST_PAGE });
      out.push(...page.list);
      if (page.list.length === 0 || out.length >= page.totalCount) return out;
    }
  }

  // ---- If header and locks ------------------------------------------------------------------

  private ifLists(req: DavRequest): IfList[] {
    const header = req.headers.if;
    return header === undefined ? [] : parseIfHeader(header);
  }

  /** 412 when the request's If header is not satisfied (RFC 4918 §10.4). */
  private async checkIf(req: DavRequest, path: string, lists: readonly IfList[]): Promise<void> {
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
  private checkUnlocked(userId: number, path: string, submitted: ReadonlySet<string>, subtree = false): void {
    const locked = this.deps.locks.blocked(userId, path, submitted, subtree);
    if (locked !== null) throw new DavError(423, `"${locked}" is locked; submit its lock token in an If header.`, 'lock-token-submitted');
  }

  /** The If header checked and the tokens it submits, for a method that changes `path`. */
  private async preconditions(req: DavRequest, path: string): Promise<Set<string>> {
    const lists = this.ifLists(req);
    await this.checkIf(req, path, lists);
    return submittedTokens(lists);
  }

  // ---- reading ------------------------------------------------------------------------------

  private async get(req: DavRequest): Promise<DavResponse> {
    const path = treePath(req.path);
    const entry = await this.existing(req.userId, path);
    if (entry.type === DIRECTORY) return this.listingPage(req, entry);
    const size = await this.deps.store.size(entry.storeId);
    if (size === null) throw new AppError('FILE_NOT_FOUND', 'The file content is no longer stored on this server.');
    const etag = this.deps.entityTag(entry.storeId);
    const headers: Record<string, string | number> = {
      ETag: etag,
      'Last-Modified': new Date(entry.mtime).toUTCString(),
      'Accept-Ranges': 'bytes',
      'Content-Type': entry.mime && !entry.mime.startsWith('text/') ? entry.mime : contentTypeFor(entry.name),
    };
    if (!ifMatchHolds(req.headers['if-match'], etag)) throw new DavError(412, 'If-Match names another version of this file.');
    if (ifNoneMatchHolds(req.headers['if-none-match'], etag)) return empty(304, { ETag: etag });
    const range = rangeStillValid(req.headers['if-range'], etag) ? parseRange(req.headers.range, size) : ({ kind: 'whole' } as const);
    if (range.kind === 'unsatisfiable') return empty(416, { 'Content-Range': `bytes */${size}` });
    const partial = range.kind === 'partial' ? { start: range.start, end: range.end } : undefined;
    headers['Content-Length'] = partial ? partial.end - partial.start + 1 : size;
    if (partial) headers['Content-Range'] = `bytes ${partial.start}-${partial.end}/${size}`;
    const body = req.method === 'HEAD' ? undefined : await this.deps.store.read(entry.storeId, partial);
    return { status: partial ? 206 : 200, headers, body };
  }

  /** GET of a collection: a plain page listing it, for a browser pointed at the address. */
  private async listingPage(req: DavRequest, dir: FileObject): Promise<DavResponse> {
    const items = await this.children(req.userId, dir);
    const rows = items.map(
      (c) => `<li><a href="${escapeXml(this.href(c.path, c.type === DIRECTORY))}">${escapeXml(c.name)}${c.type === DIRECTORY ? '/' : ''}</a></li>`,
    );
    const title = escapeXml(dir.path);
    const page = `<!doctype html>\n<html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><ul>${rows.join('')}</ul></body></html>\n`;
    return {
      status: 200,
      headers: { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(page), 'Content-Security-Policy': "default-src 'none'" },
      body: req.method === 'HEAD' ? undefined : page,
    };
  }

  private async propfind(req: DavRequest): Promise<DavResponse> {
    const depth = req.headers.depth?.trim().toLowerCase() ?? 'infinity';
    if (depth !== '0' && depth !== '1') {
      throw new DavError(403, 'PROPFIND with Depth: infinity is not served: ask with Depth: 0 or 1.', 'propfind-finite-depth');
    }
    const path = treePath(req.path);
    const text = await readText(req.body, MAX_XML_BODY);
    const ask = parsePropfind(text);
    const target = await this.existing(req.userId, path);
    const entries = depth === '1' && target.type === DIRECTORY ? [target, ...(await this.children(req.userId, target))] : [target];
    const dead =
      ask.kind === 'prop' && ask.names.every((n) => n.ns === DAV_NS)
        ? new Map<string, DeadProperty[]>()
        : await this.deps.properties.of(
            req.userId,
            entries.map((e) => e.uuid),
          );
    const wantsQuota = ask.kind === 'prop' && ask.names.some((n) => n.ns === DAV_NS && n.name.startsWith('quota-'));
    const space = wantsQuota ? await this.deps.files.space(req.userId) : null;
    const responses = entries.map((entry) => this.propResponse(req.userId, entry, ask, dead.get(entry.uuid) ?? [], space));
    return multistatus(responses);
  }

  /** A live property's value as XML, or null when the entry does not have it. */
  private liveValue(userId: number, entry: FileObject, name: string, space: { used: number; capacity: number } | null): string | null {
    const file = entry.type === FILE;
    switch (name) {
      case 'resourcetype':
        return file ? '' : '<D:collection/>';
      case 'displayname':
        return entry.path === '/' ? null : escapeXml(entry.name);
      case 'getcontentlength':
        return file ? String(entry.size) : null;
      case 'getcontenttype':
        return file ? escapeXml(entry.mime || contentTypeFor(entry.name)) : null;
      case 'getetag':
        return file ? escapeXml(this.deps.entityTag(entry.storeId)) : null;
      case 'getlastmodified':
        return new Date(entry.mtime).toUTCString();
      case 'creationdate':
        return new Date(entry.ctime).toISOString().replace(/\.\d{3}Z$/, 'Z');
      case 'supportedlock':
        return (
          '<D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>' +
          '<D:lockentry><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>'
        );
      case 'lockdiscovery':
        return this.deps.locks
          .covering(userId, entry.path)
          .map((l) => this.activeLock(l))
          .join('');
      case 'quota-available-bytes':
        return space ? String(Math.max(0, space.capacity - space.used)) : null;
      case 'quota-used-bytes':
        return space ? String(space.used) : null;
      default:
        return null;
    }
  }

  private propResponse(userId: number, entry: FileObject, ask: PropfindAsk, dead: DeadProperty[], space: { used: number; capacity: number } | null): string {
    const found: string[] = [];
    const missing: string[] = [];
    const live = (name: string) => this.liveValue(userId, entry, name, space);
    if (ask.kind === 'propname') {
      for (const name of ALLPROP_LIVE) if (live(name) !== null) found.push(propTag({ ns: DAV_NS, name }));
      for (const p of dead) found.push(propTag({ ns: p.namespace, name: p.name }));
    } else {
      const names: PropName[] = ask.kind === 'prop' ? ask.names : [...ALLPROP_LIVE.map((name) => ({ ns: DAV_NS, name })), ...ask.include];
      const seen = new Set<string>();
      for (const n of names) {
        const key = `${n.ns} ${n.name}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const value = n.ns === DAV_NS ? live(n.name) : null;
        if (value !== null) {
          found.push(propTag(n, value));
          continue;
        }
        const stored = dead.find((p) => p.namespace === n.ns && p.name === n.name);
        if (stored) found.push(stored.xml);
        else if (ask.kind === 'prop' || !ALLPROP_LIVE.some((l) => n.ns === DAV_NS && l === n.name)) missing.push(propTag(n));
      }
      if (ask.kind === 'allprop') {
        for (const p of dead) if (!seen.has(`${p.namespace} ${p.name}`)) found.push(p.xml);
      }
    }
    let out = `<D:response><D:href>${escapeXml(this.href(entry.path, entry.type === DIRECTORY))}</D:href>`;
    if (found.length > 0) out += `<D:propstat><D:prop>${found.join('')}</D:prop><D:status>${statusLine(200)}</D:status></D:propstat>`;
    if (missing.length > 0) out += `<D:propstat><D:prop>${missing.join('')}</D:prop><D:status>${statusLine(404)}</D:status></D:propstat>`;
    return out + '</D:response>';
  }

  private activeLock(lock: DavLock): string {
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

  // ---- writing ------------------------------------------------------------------------------

  private async proppatch(req: DavRequest): Promise<DavResponse> {
    const path = treePath(req.path);
    const submitted = await this.preconditions(req, path);
    const entry = await this.existing(req.userId, path);
    this.checkUnlocked(req.userId, path, submitted);
    const root = parseXml(await readText(req.body, MAX_XML_BODY));
    if (!isElement(root, DAV_NS, 'propertyupdate')) throw new DavError(400, 'A PROPPATCH body is a DAV:propertyupdate element.');
    const changes: PropertyChange[] = [];
    const names: PropName[] = [];
    let refused = false;
    const statuses = new Map<string, number>();
    for (const op of elements(root)) {
      if (op.ns !== DAV_NS || (op.name !== 'set' && op.name !== 'remove')) continue;
      for (const prop of elements(op, DAV_NS, 'prop')) {
        for (const p of elements(prop)) {
          const key = `${p.ns} ${p.name}`;
          names.push({ ns: p.ns, name: p.name });
          if (p.ns === DAV_NS && (LIVE_PROPS as readonly string[]).includes(p.name)) {
            statuses.set(key, 403);
            refused = true;
            continue;
          }
          if (op.name === 'set') changes.push({ op: 'set', prop: { namespace: p.ns, name: p.name, xml: serializeElement(p) } });
          else changes.push({ op: 'remove', namespace: p.ns, name: p.name });
        }
      }
    }
    if (!refused) await this.deps.properties.apply(req.userId, entry.uuid, changes);
    const byStatus = new Map<number, string[]>();
    const seen = new Set<string>();
    for (const n of names) {
      const key = `${n.ns} ${n.name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const status = statuses.get(key) ?? (refused ? 424 : 200);
      byStatus.set(status, [...(byStatus.get(status) ?? []), propTag(n)]);
    }
    let out = `<D:response><D:href>${escapeXml(this.href(entry.path, entry.type === DIRECTORY))}</D:href>`;
    for (const [status, tags] of byStatus) out += `<D:propstat><D:prop>${tags.join('')}</D:prop><D:status>${statusLine(status)}</D:status></D:propstat>`;
    return multistatus([out + '</D:response>']);
  }

  private async put(req: DavRequest): Promise<DavResponse> {
    const path = treePath(req.path);
    if (path === '/') throw new DavError(405, 'The root is a collection: PUT a file below it.');
    const submitted = await this.preconditions(req, path);
    const existing = await this.entry(req.userId, path);
    if (existing?.type === DIRECTORY) throw new DavError(405, `"${path}" is a collection.`);
    this.checkUnlocked(req.userId, path, submitted);
    if (!existing) this.checkUnlocked(req.userId, parentOf(path), submitted);
    const stored = await this.receive(req, path, existing);
    return empty(existing ? 204 : 201, { ETag: this.deps.entityTag(stored.storeId) });
  }

  /**
   * Streams a PUT's body into the store — hashed as it arrives, within the user's space — and
   * makes it the file at `path` (replacing `existing`). Same bytes stored before: one copy.
   */
  private async receive(req: DavRequest, path: string, existing: FileObject | null): Promise<FileObject> {
    const { files, store } = this.deps;
    const dir = await files.resolveDir(req.userId, { path: parentOf(path) }, 'PARENT_NOT_FOUND').catch((err: unknown) => {
      throw asDav(asDav(err, 'PARENT_NOT_FOUND', 409), 'NOT_A_DIRECTORY', 409);
    });
    const room = (await files.freeSpace(req.userId)) + (existing?.type === FILE ? existing.size : 0) - this.deps.pendingUploadBytes(req.userId);
    // Finder sends its PUTs chunked and names the size in X-Expected-Entity-Length.
    const declared = Number(req.headers['content-length'] ?? req.headers['x-expected-entity-length'] ?? Number.NaN);
    const noRoom = (size: number) => new DavError(507, `Not enough space left: the file needs ${size} bytes and ${Math.max(0, room)} are free.`);
    if (Number.isFinite(declared) && declared > room) throw noRoom(declared);
    let writer: BlobWriter | null = await store.createWriter();
    try {
      let received = 0;
      let slice: Buffer[] = [];
      let sliceBytes = 0;
      for await (const chunk of req.body) {
        received += chunk.length;
        if (received > room) throw noRoom(received);
        slice.push(chunk as Buffer);
        sliceBytes += chunk.length;
        if (sliceBytes >= WRITE_SLICE) {
          await writer.write(slice.length === 1 ? slice[0] : Buffer.concat(slice, sliceBytes));
          slice = [];
          sliceBytes = 0;
        }
      }
      if (sliceBytes > 0) await writer.write(Buffer.concat(slice, sliceBytes));
      if (Number.isFinite(declared) && req.headers['content-length'] !== undefined && received !== declared) {
        throw new DavError(400, `The body has ${received} bytes where Content-Length said ${declared}.`);
      }
      const done = writer;
      writer = null;
      return await this.deps.lock.shared(async () => {
        const info: BlobInfo = await done.commit();
        try {
          const { file } = await files.createFile(req.userId, { dir, name: nameOf(path), etag: info.etag, size: info.size, onConflict: 'overwrite' });
          return file;
        } catch (err) {
          await this.deps.adoptUnreferenced(info.etag, info.size).catch(() => undefined);
          throw err;
        }
      });
    } finally {
      await writer?.abort();
    }
  }

  private async delete(req: DavRequest): Promise<DavResponse> {
    const path = treePath(req.path);
    if (path === '/') throw new DavError(403, 'The root cannot be deleted.');
    const submitted = await this.preconditions(req, path);
    await this.existing(req.userId, path);
    this.checkUnlocked(req.userId, path, submitted, true);
    this.checkUnlocked(req.userId, parentOf(path), submitted);
    await this.remove(req.userId, path);
    return empty(204);
  }

  private async remove(userId: number, path: string): Promise<void> {
    await this.deps.files.remove(userId, { paths: [path] }).catch((err: unknown) => {
      throw asDav(err, 'BAD_REQUEST', 403);
    });
    this.deps.locks.removeTree(userId, path);
    await this.deps.properties.dropOrphans(userId);
  }

  private async mkcol(req: DavRequest): Promise<DavResponse> {
    const path = treePath(req.path);
    const body = await readText(req.body, MAX_XML_BODY);
    if (body.length > 0) throw new DavError(415, 'MKCOL takes no body.');
    const submitted = await this.preconditions(req, path);
    if (path === '/' || (await this.entry(req.userId, path))) throw new DavError(405, `"${path}" already exists.`);
    this.checkUnlocked(req.userId, parentOf(path), submitted);
    const parent = await this.entry(req.userId, parentOf(path));
    if (!parent || parent.type !== DIRECTORY) throw new DavError(409, `The parent of "${path}" is not a collection.`);
    await this.deps.files.createDirectory(req.userId, { path: parent.path, name: nameOf(path) });
    return empty(201);
  }

  private async copyOrMove(req: DavRequest): Promise<DavResponse> {
    const move = req.method === 'MOVE';
    const from = treePath(req.path);
    const destination = req.headers.destination;
    if (!destination) throw new DavError(400, 'A Destination header is required.');
    const to = this.pathOfUrl(destination);
    if (to === null) throw new DavError(502, 'The Destination is not on this WebDAV server.');
    const overwrite = (req.headers.overwrite ?? 'T').trim().toUpperCase() !== 'F';
    const depth = req.headers.depth?.trim().toLowerCase() ?? 'infinity';
    if (depth !== 'infinity' && (move || depth !== '0')) throw new DavError(400, `Depth ${depth} is not allowed for ${req.method}.`);
    const submitted = await this.preconditions(req, from);
    const source = await this.existing(req.userId, from);
    if (from === '/') throw new DavError(403, `The root cannot be ${move ? 'moved' : 'copied'}.`);
    if (to === from) throw new DavError(403, 'The source and the destination are the same.');
    if (to === '/' || isUnder(from, to)) throw new DavError(409, 'The destination contains the source.');
    if (isUnder(to, from) && (move || depth !== '0')) throw new DavError(409, 'The destination is inside the source.');
    const parent = await this.entry(req.userId, parentOf(to));
    if (!parent || parent.type !== DIRECTORY) throw new DavError(409, `The parent of the destination "${to}" is not a collection.`);
    const target = await this.entry(req.userId, to);
    if (target && !overwrite) throw new DavError(412, `"${to}" exists and Overwrite is F.`);
    if (move) {
      this.checkUnlocked(req.userId, from, submitted, true);
      this.checkUnlocked(req.userId, parentOf(from), submitted);
    }
    this.checkUnlocked(req.userId, to, submitted, true);
    this.checkUnlocked(req.userId, parentOf(to), submitted);
    if (target) await this.remove(req.userId, to);
    const mapped = (err: unknown) => {
      throw asDav(asDav(err, 'BAD_REQUEST', 403), 'FILE_ALREADY_EXISTS', 412);
    };
    if (move) {
      await this.deps.files.moveAs(req.userId, { path: from }, { path: parent.path }, nameOf(to)).catch(mapped);
      this.deps.locks.removeTree(req.userId, from);
    } else {
      await this.deps.files.copyAs(req.userId, { path: from }, { path: parent.path }, nameOf(to), source.type === DIRECTORY && depth === '0').catch(mapped);
      await this.deps.properties.copyTree(req.userId, from, to);
    }
    return empty(target ? 204 : 201);
  }

  // ---- locks --------------------------------------------------------------------------------

  private async lock(req: DavRequest): Promise<DavResponse> {
    const path = treePath(req.path);
    const lists = this.ifLists(req);
    await this.checkIf(req, path, lists);
    const text = await readText(req.body, MAX_XML_BODY);
    const timeout = parseTimeout(req.headers.timeout);
    const { locks } = this.deps;
    if (text.trim() === '') {
      // A refresh: the If header names the lock.
      const token = [...submittedTokens(lists)].find((t) => locks.covering(req.userId, path).some((l) => l.token === t));
      if (!token) throw new DavError(412, 'A LOCK without a body refreshes a lock: name it in an If header.', 'lock-token-matches-request-uri');
      const lock = locks.refresh(locks.get(req.userId, token)!, timeout);
      return this.lockAnswer(200, lock, false);
    }
    const info = parseXml(text);
    if (!isElement(info, DAV_NS, 'lockinfo')) throw new DavError(400, 'A LOCK body is a DAV:lockinfo element.');
    const scopeEl = firstElement(info, DAV_NS, 'lockscope');
    const scope: LockScope | null = scopeEl
      ? firstElement(scopeEl, DAV_NS, 'exclusive')
        ? 'exclusive'
        : firstElement(scopeEl, DAV_NS, 'shared')
          ? 'shared'
          : null
      : null;
    const typeEl = firstElement(info, DAV_NS, 'locktype');
    if (!scope || !typeEl || !firstElement(typeEl, DAV_NS, 'write')) throw new DavError(400, 'Only write locks, exclusive or shared, are offered.');
    const ownerEl = firstElement(info, DAV_NS, 'owner');
    const owner = ownerEl ? ownerEl.children.map((c) => (typeof c === 'string' ? escapeXml(c) : serializeElement(c))).join('') : '';
    const depthHeader = req.headers.depth?.trim().toLowerCase() ?? 'infinity';
    if (depthHeader !== '0' && depthHeader !== 'infinity') throw new DavError(400, 'A lock has Depth 0 or infinity.');
    const depth = depthHeader === '0' ? 0 : 'infinity';
    const conflict = locks.conflict(req.userId, path, scope, depth);
    if (conflict) throw new DavError(423, `"${conflict.root}" is already locked.`, 'no-conflicting-lock');
    let entry = await this.entry(req.userId, path);
    let created = false;
    if (!entry) {
      // A lock on an unmapped URL makes an empty file there (RFC 4918 §7.3).
      const submitted = submittedTokens(lists);
      this.checkUnlocked(req.userId, parentOf(path), submitted);
      entry = await this.receive({ ...req, body: emptyBody(), headers: { ...req.headers, 'content-length': '0' } }, path, null);
      created = true;
    }
    const lock = locks.create(req.userId, { root: entry.path, depth: entry.type === FILE ? 0 : depth, scope, owner, timeoutSeconds: timeout });
    return this.lockAnswer(created ? 201 : 200, lock, true);
  }

  private lockAnswer(status: number, lock: DavLock, withToken: boolean): DavResponse {
    const body = `<?xml version="1.0" encoding="utf-8"?>\n<D:prop xmlns:D="DAV:"><D:lockdiscovery>${this.activeLock(lock)}</D:lockdiscovery></D:prop>`;
    return { status, headers: { 'Content-Type': XML_TYPE, ...(withToken ? { 'Lock-Token': `<${lock.token}>` } : {}) }, body };
  }

  private async unlock(req: DavRequest): Promise<DavResponse> {
    const path = treePath(req.path);
    const m = /^\s*<([^>]+)>\s*$/.exec(req.headers['lock-token'] ?? '');
    if (!m) throw new DavError(400, 'UNLOCK needs a Lock-Token header: <token>.');
    await this.existing(req.userId, path);
    const lock = this.deps.locks.get(req.userId, m[1]);
    if (!lock || !this.deps.locks.covering(req.userId, path).includes(lock)) {
      throw new DavError(409, 'That lock token does not lock this resource.', 'lock-token-matches-request-uri');
    }
    this.deps.locks.remove(lock.token);
    return empty(204);
  }
}

async function* emptyBody(): AsyncGenerator<Uint8Array> {}

/** The properties a PROPFIND body asks for; an empty body is allprop. */
function parsePropfind(text: string): PropfindAsk {
  if (text.trim() === '') return { kind: 'allprop', include: [] };
  const root = parseXml(text);
  if (!isElement(root, DAV_NS, 'propfind')) throw new DavError(400, 'A PROPFIND body is a DAV:propfind element.');
  const names = (el: XmlElement | undefined): PropName[] => (el ? elements(el).map((p) => ({ ns: p.ns, name: p.name })) : []);
  if (firstElement(root, DAV_NS, 'propname')) return { kind: 'propname' };
  if (firstElement(root, DAV_NS, 'allprop')) return { kind: 'allprop', include: names(firstElement(root, DAV_NS, 'include')) };
  const prop = firstElement(root, DAV_NS, 'prop');
  if (!prop) throw new DavError(400, 'A PROPFIND body names prop, allprop or propname.');
  return { kind: 'prop', names: names(prop) };
}
