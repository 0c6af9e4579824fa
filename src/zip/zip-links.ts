import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Db } from '../db/database.js';
import { AppError } from '../errors.js';
import type { ArchiveItem } from '../files/files.service.js';
import { planZip, type ZipPlan } from './zip-writer.js';

/**
 * Zip download addresses: `/zip/<id>/<url-encoded name>`. The selection stays in the database
 * (a URL could not hold 10,000 uuids) under a random id of 128 bits, which is the capability,
 * as the signature is for /dl. Like a /dl address it expires, and what it names is read when
 * it is downloaded: entries removed meanwhile are not in the archive.
 */
export const ZIP_PATH_PREFIX = '/zip/';
const ID_RE = /^[A-Za-z0-9_-]{22}$/;

export interface ZipLink {
  id: string;
  userId: number;
  /** The share a visitor asked through; the address dies with it. */
  shareId: string | null;
  uuids: string[];
  name: string;
  expires: number;
}

export interface ZipLinkAnswer {
  downloadAddress: string;
  expires: number;
}

export class ZipLinks {
  private readonly now: () => number;

  constructor(
    private readonly db: Db,
    private readonly options: { ttlMs: number; publicUrl: () => string; now?: () => number },
  ) {
    this.now = options.now ?? Date.now;
  }

  async create(input: { userId: number; uuids: readonly string[]; name: string; shareId?: string }): Promise<ZipLinkAnswer> {
    const id = randomBytes(16).toString('base64url');
    const expires = this.now() + this.options.ttlMs;
    const name = input.name.toLowerCase().endsWith('.zip') ? input.name : `${input.name}.zip`;
    await this.db
      .insertInto('zip_links')
      .values({ id, user_id: input.userId, share_id: input.shareId ?? null, uuids: JSON.stringify(input.uuids), name, expires_at: expires })
      .execute();
    const base = this.options.publicUrl().replace(/\/+$/, '');
    return { downloadAddress: `${base}${ZIP_PATH_PREFIX}${id}/${encodeURIComponent(name)}`, expires };
  }

  /** The link a request path names; FORBIDDEN when there is none or it expired. */
  async resolve(url: string): Promise<ZipLink> {
    const path = url.split('?')[0];
    const segments = path.split('/');
    const id = segments[segments.length - 2] ?? '';
    if (segments[segments.length - 3] !== 'zip' || !ID_RE.test(id)) throw new AppError('FORBIDDEN', 'This zip download address is invalid.');
    const row = await this.db.selectFrom('zip_links').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new AppError('FORBIDDEN', 'This zip download address is invalid.');
    if (this.now() > Number(row.expires_at)) throw new AppError('FORBIDDEN', 'This zip download address has expired; ask for a new one.');
    return {
      id: row.id,
      userId: row.user_id,
      shareId: row.share_id,
      uuids: JSON.parse(row.uuids) as string[],
      name: row.name,
      expires: Number(row.expires_at),
    };
  }

  /** Forgets the addresses that expired. */
  async sweepExpired(): Promise<void> {
    await this.db.deleteFrom('zip_links').where('expires_at', '<', this.now()).execute();
  }
}

/** The archive of `items`, each file's content read from the store when its turn comes. */
export function archivePlan(items: readonly ArchiveItem[], read: (etag: string) => Promise<Readable>): ZipPlan {
  return planZip(
    items.map((item) => ({
      name: item.path,
      kind: item.kind,
      size: item.size,
      mtime: item.mtime,
      open: item.kind === 'file' ? () => read(item.etag) : undefined,
    })),
  );
}

/** The archive's file name for a selection: the one entry's name, else a dated name. */
export function archiveName(topNames: readonly string[], now = new Date()): string {
  if (topNames.length === 1 && topNames[0] !== '') return `${topNames[0]}.zip`;
  return `openpan-${now.toISOString().slice(0, 10)}.zip`;
}
