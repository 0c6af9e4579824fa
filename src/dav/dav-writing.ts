// WebDAV writing: PROPPATCH, PUT (streamed into the store), DELETE, MKCOL, COPY and MOVE.
import { DIRECTORY, FILE, type FileObject } from '../files/file-object.js';
import type { BlobInfo, BlobWriter } from '../store/blob-store.js';
import { DavError, asDav } from './errors.js';
import { isUnder } from './locks.js';
import type { PropertyChange } from './properties.repo.js';
import {
  type DavDeps,
  type DavRequest,
  type DavResponse,
  type DavResources,
  MAX_XML_BODY,
  WRITE_SLICE,
  LIVE_PROPS,
  type PropName,
  statusLine,
  propTag,
  multistatus,
  empty,
  readText,
  treePath,
  parentOf,
  nameOf,
} from './dav-resources.js';
import { DAV_NS, elements, escapeXml, isElement, parseXml, serializeElement } from './xml.js';

export class DavWriting {
  private readonly deps: DavDeps;

  constructor(private readonly res: DavResources) {
    this.deps = res.deps;
  }

  async proppatch(req: DavRequest): Promise<DavResponse> {
    const path = treePath(req.path);
    const submitted = await this.res.preconditions(req, path);
    const entry = await this.res.existing(req.userId, path);
    this.res.checkUnlocked(req.userId, path, submitted);
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
    let out = `<D:response><D:href>${escapeXml(this.res.href(entry.path, entry.type === DIRECTORY))}</D:href>`;
    for (const [status, tags] of byStatus) out += `<D:propstat><D:prop>${tags.join('')}</D:prop><D:status>${statusLine(status)}</D:status></D:propstat>`;
    return multistatus([out + '</D:response>']);
  }

  async put(req: DavRequest): Promise<DavResponse> {
    const path = treePath(req.path);
    if (path === '/') throw new DavError(405, 'The root is a collection: PUT a file below it.');
    const submitted = await this.res.preconditions(req, path);
    const existing = await this.res.entry(req.userId, path);
    if (existing?.type === DIRECTORY) throw new DavError(405, `"${path}" is a collection.`);
    this.res.checkUnlocked(req.userId, path, submitted);
    if (!existing) this.res.checkUnlocked(req.userId, parentOf(path), submitted);
    const stored = await this.receive(req, path, existing);
    return empty(existing ? 204 : 201, { ETag: this.deps.entityTag(stored.storeId) });
  }

  /**
   * Streams a PUT's body into the store — hashed as it arrives, within the user's space — and
   * makes it the file at `path` (replacing `existing`). Same bytes stored before: one copy.
   */
  async receive(req: DavRequest, path: string, existing: FileObject | null): Promise<FileObject> {
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

  async delete(req: DavRequest): Promise<DavResponse> {
    const path = treePath(req.path);
    if (path === '/') throw new DavError(403, 'The root cannot be deleted.');
    const submitted = await this.res.preconditions(req, path);
    await this.res.existing(req.userId, path);
    this.res.checkUnlocked(req.userId, path, submitted, true);
    this.res.checkUnlocked(req.userId, parentOf(path), submitted);
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

  async mkcol(req: DavRequest): Promise<DavResponse> {
    const path = treePath(req.path);
    const body = await readText(req.body, MAX_XML_BODY);
    if (body.length > 0) throw new DavError(415, 'MKCOL takes no body.');
    const submitted = await this.res.preconditions(req, path);
    if (path === '/' || (await this.res.entry(req.userId, path))) throw new DavError(405, `"${path}" already exists.`);
    this.res.checkUnlocked(req.userId, parentOf(path), submitted);
    const parent = await this.res.entry(req.userId, parentOf(path));
    if (!parent || parent.type !== DIRECTORY) throw new DavError(409, `The parent of "${path}" is not a collection.`);
    await this.deps.files.createDirectory(req.userId, { path: parent.path, name: nameOf(path) });
    return empty(201);
  }

  async copyOrMove(req: DavRequest): Promise<DavResponse> {
    const move = req.method === 'MOVE';
    const from = treePath(req.path);
    const destination = req.headers.destination;
    if (!destination) throw new DavError(400, 'A Destination header is required.');
    const to = this.res.pathOfUrl(destination);
    if (to === null) throw new DavError(502, 'The Destination is not on this WebDAV server.');
    const overwrite = (req.headers.overwrite ?? 'T').trim().toUpperCase() !== 'F';
    const depth = req.headers.depth?.trim().toLowerCase() ?? 'infinity';
    if (depth !== 'infinity' && (move || depth !== '0')) throw new DavError(400, `Depth ${depth} is not allowed for ${req.method}.`);
    const submitted = await this.res.preconditions(req, from);
    const source = await this.res.existing(req.userId, from);
    if (from === '/') throw new DavError(403, `The root cannot be ${move ? 'moved' : 'copied'}.`);
    if (to === from) throw new DavError(403, 'The source and the destination are the same.');
    if (to === '/' || isUnder(from, to)) throw new DavError(409, 'The destination contains the source.');
    if (isUnder(to, from) && (move || depth !== '0')) throw new DavError(409, 'The destination is inside the source.');
    const parent = await this.res.entry(req.userId, parentOf(to));
    if (!parent || parent.type !== DIRECTORY) throw new DavError(409, `The parent of the destination "${to}" is not a collection.`);
    const target = await this.res.entry(req.userId, to);
    if (target && !overwrite) throw new DavError(412, `"${to}" exists and Overwrite is F.`);
    if (move) {
      this.res.checkUnlocked(req.userId, from, submitted, true);
      this.res.checkUnlocked(req.userId, parentOf(from), submitted);
    }
    this.res.checkUnlocked(req.userId, to, submitted, true);
    this.res.checkUnlocked(req.userId, parentOf(to), submitted);
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
}
