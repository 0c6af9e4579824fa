// WebDAV locks: LOCK (which may create an empty file at an unmapped path) and UNLOCK.
import { FILE } from '../files/file-object.js';
import { DavError } from './errors.js';
import { submittedTokens } from './if-header.js';
import { parseTimeout, type DavLock, type LockScope } from './locks.js';
import {
  type DavDeps,
  type DavRequest,
  type DavResponse,
  type DavResources,
  MAX_XML_BODY,
  XML_TYPE,
  empty,
  readText,
  treePath,
  parentOf,
  emptyBody,
} from './dav-resources.js';
import type { DavWriting } from './dav-writing.js';
import { DAV_NS, escapeXml, firstElement, isElement, parseXml, serializeElement } from './xml.js';

export class DavLocking {
  private readonly deps: DavDeps;

  constructor(
    private readonly res: DavResources,
    private readonly writing: DavWriting,
  ) {
    this.deps = res.deps;
  }

  async lock(req: DavRequest): Promise<DavResponse> {
    const path = treePath(req.path);
    const lists = this.res.ifLists(req);
    await this.res.checkIf(req, path, lists);
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
    let entry = await this.res.entry(req.userId, path);
    let created = false;
    if (!entry) {
      // A lock on an unmapped URL makes an empty file there (RFC 4918 §7.3).
      const submitted = submittedTokens(lists);
      this.res.checkUnlocked(req.userId, parentOf(path), submitted);
      entry = await this.writing.receive({ ...req, body: emptyBody(), headers: { ...req.headers, 'content-length': '0' } }, path, null);
      created = true;
    }
    const lock = locks.create(req.userId, { root: entry.path, depth: entry.type === FILE ? 0 : depth, scope, owner, timeoutSeconds: timeout });
    return this.lockAnswer(created ? 201 : 200, lock, true);
  }

  private lockAnswer(status: number, lock: DavLock, withToken: boolean): DavResponse {
    const body = `<?xml version="1.0" encoding="utf-8"?>\n<D:prop xmlns:D="DAV:"><D:lockdiscovery>${this.res.activeLock(lock)}</D:lockdiscovery></D:prop>`;
    return { status, headers: { 'Content-Type': XML_TYPE, ...(withToken ? { 'Lock-Token': `<${lock.token}>` } : {}) }, body };
  }

  async unlock(req: DavRequest): Promise<DavResponse> {
    const path = treePath(req.path);
    const m = /^\s*<([^>]+)>\s*$/.exec(req.headers['lock-token'] ?? '');
    if (!m) throw new DavError(400, 'UNLOCK needs a Lock-Token header: <token>.');
    await this.res.existing(req.userId, path);
    const lock = this.deps.locks.get(req.userId, m[1]);
    if (!lock || !this.deps.locks.covering(req.userId, path).includes(lock)) {
      throw new DavError(409, 'That lock token does not lock this resource.', 'lock-token-matches-request-uri');
    }
    this.deps.locks.remove(lock.token);
    return empty(204);
  }
}
