// WebDAV reading: GET and HEAD (a file's bytes, a collection's page) and PROPFIND.
import { AppError } from '../errors.js';
import { contentTypeFor, ifMatchHolds, ifNoneMatchHolds, parseRange, rangeStillValid } from '../files/byte-ranges.js';
import { DIRECTORY, FILE, type FileObject } from '../files/file-object.js';
import { DavError } from './errors.js';
import type { DeadProperty } from './properties.repo.js';
import {
  type DavDeps,
  type DavRequest,
  type DavResponse,
  type DavResources,
  MAX_XML_BODY,
  ALLPROP_LIVE,
  type PropName,
  type PropfindAsk,
  statusLine,
  propTag,
  multistatus,
  empty,
  readText,
  treePath,
} from './dav-resources.js';
import { DAV_NS, elements, escapeXml, firstElement, isElement, parseXml, type XmlElement } from './xml.js';

export class DavReading {
  private readonly deps: DavDeps;

  constructor(private readonly res: DavResources) {
    this.deps = res.deps;
  }

  async get(req: DavRequest): Promise<DavResponse> {
    const path = treePath(req.path);
    const entry = await this.res.existing(req.userId, path);
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
    const items = await this.res.children(req.userId, dir);
    const rows = items.map(
      (c) => `<li><a href="${escapeXml(this.res.href(c.path, c.type === DIRECTORY))}">${escapeXml(c.name)}${c.type === DIRECTORY ? '/' : ''}</a></li>`,
    );
    const title = escapeXml(dir.path);
    const page = `<!doctype html>\n<html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><ul>${rows.join('')}</ul></body></html>\n`;
    return {
      status: 200,
      headers: { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(page), 'Content-Security-Policy': "default-src 'none'" },
      body: req.method === 'HEAD' ? undefined : page,
    };
  }

  async propfind(req: DavRequest): Promise<DavResponse> {
    const depth = req.headers.depth?.trim().toLowerCase() ?? 'infinity';
    if (depth !== '0' && depth !== '1') {
      throw new DavError(403, 'PROPFIND with Depth: infinity is not served: ask with Depth: 0 or 1.', 'propfind-finite-depth');
    }
    const path = treePath(req.path);
    const text = await readText(req.body, MAX_XML_BODY);
    const ask = parsePropfind(text);
    const target = await this.res.existing(req.userId, path);
    const entries = depth === '1' && target.type === DIRECTORY ? [target, ...(await this.res.children(req.userId, target))] : [target];
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
          .map((l) => this.res.activeLock(l))
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
    let out = `<D:response><D:href>${escapeXml(this.res.href(entry.path, entry.type === DIRECTORY))}</D:href>`;
    if (found.length > 0) out += `<D:propstat><D:prop>${found.join('')}</D:prop><D:status>${statusLine(200)}</D:status></D:propstat>`;
    if (missing.length > 0) out += `<D:propstat><D:prop>${missing.join('')}</D:prop><D:status>${statusLine(404)}</D:status></D:propstat>`;
    return out + '</D:response>';
  }
}

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
