// A streaming zip writer (PKWARE APPNOTE 6.3.10), for downloads of folders and selections.
//
// Our own rather than a dependency because what a drive needs is a small, exact subset that the
// common packages do not give together: entries are *stored* (media does not shrink, and
// deflate would cost a core per download), every size is known before the first byte, so the
// archive's exact length is announced as Content-Length (browsers show progress, download
// managers resume nothing but at least know the end); ZIP64 for entries ≥ 4 GiB, offsets past
// 4 GiB and more than 65,535 entries; UTF-8 names (general purpose bit 11); and nothing is
// buffered beyond one chunk of content and the central directory (about 100 bytes per entry).
// archiver/zip-stream pull a tree of dependencies and cannot announce the length; yazl can, but
// deflates by default and keeps per-entry objects with streams. The format, stored only, is a
// few fixed-layout records: below.
//
// Each entry is written as: local header (CRC and sizes zero, bit 3 set: the CRC-32 is known
// only once the content has streamed through), the content, a data descriptor with the CRC and
// the sizes. The central directory at the end repeats everything with the real values.
import { crc32 } from '../upload/crc32.js';

/** One entry of an archive. */
export interface ZipEntry {
  /** Path inside the archive, segments separated by `/`, no leading `/` (a directory: no trailing `/` either). */
  name: string;
  kind: 'file' | 'directory';
  /** Bytes of content (0 for a directory): the content must have exactly this many. */
  size: number;
  /** Modification time, ms since the epoch. */
  mtime: number;
  /** The content, read when the entry's turn comes (files only). */
  open?: () => Promise<AsyncIterable<Uint8Array>>;
}

/** An entry with where it lands in the archive. */
interface PlacedEntry {
  entry: ZipEntry;
  nameBytes: Buffer;
  /** Offset of its local header. */
  offset: number;
  /** Sizes ≥ 0xFFFFFFFF: ZIP64 extra field in the local header, 8-byte sizes in the descriptor. */
  zip64Size: boolean;
}

/** Where every entry goes and how long the archive is, before a byte is written. */
export interface ZipPlan {
  entries: readonly PlacedEntry[];
  /** The archive's exact length in bytes. */
  size: number;
  centralOffset: number;
  centralSize: number;
}

const LOCAL_HEADER = 0x04034b50;
const DATA_DESCRIPTOR = 0x08074b50;
const CENTRAL_HEADER = 0x02014b50;
const ZIP64_END = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;
const END = 0x06054b50;

const MAX16 = 0xffff;
const MAX32 = 0xffffffff;
/** Bit 3: CRC and sizes follow the content; bit 11: the name is UTF-8. */
const FLAGS = (1 << 3) | (1 << 11);
const STORED = 0;
/** Made by: Unix (3), spec 6.3 (63), so the Unix modes in the external attributes count. */
const MADE_BY = (3 << 8) | 63;
const NEEDS_ZIP64 = 45;
const NEEDS_BASIC = 20;

const LOCAL_FIXED = 30;
const CENTRAL_FIXED = 46;
const END_FIXED = 22;
const ZIP64_END_FIXED = 56;
const ZIP64_LOCATOR_FIXED = 20;
/** Extended timestamp extra field (0x5455) with the modification time: 4 + 5 bytes. */
const TIME_EXTRA = 9;
/** ZIP64 extra field in a local header: tag, length, both sizes. */
const ZIP64_LOCAL_EXTRA = 20;

const FILE_MODE = 0o100644;
const DIR_MODE = 0o040755;
const MSDOS_DIRECTORY = 0x10;

function nameOf(entry: ZipEntry): Buffer {
  return Buffer.from(entry.kind === 'directory' ? `${entry.name}/` : entry.name, 'utf8');
}

/** The fields of a central record's ZIP64 extra field, in the order the format fixes. */
function central64Fields(p: PlacedEntry): number[] {
  const fields: number[] = [];
  if (p.zip64Size) fields.push(p.entry.size, p.entry.size);
  if (p.offset >= MAX32) fields.push(p.offset);
  return fields;
}

function centralLength(p: PlacedEntry): number {
  const n = central64Fields(p).length;
  return CENTRAL_FIXED + p.nameBytes.length + TIME_EXTRA + (n > 0 ? 4 + 8 * n : 0);
}

/** Lays the entries out. Throws on a name too long for the format or a size that is not a byte count. */
export function planZip(entries: readonly ZipEntry[]): ZipPlan {
  const placed: PlacedEntry[] = [];
  let offset = 0;
  for (const entry of entries) {
    if (!Number.isSafeInteger(entry.size) || entry.size < 0 || (entry.kind === 'directory' && entry.size !== 0)) {
      throw new Error(`Zip entry "${entry.name}" has an impossible size ${entry.size}.`);
    }
    const nameBytes = nameOf(entry);
    if (nameBytes.length > MAX16) throw new Error(`Zip entry name of ${nameBytes.length} bytes is longer than the format allows.`);
    const zip64Size = entry.size >= MAX32;
    placed.push({ entry, nameBytes, offset, zip64Size });
    offset += LOCAL_FIXED + nameBytes.length + TIME_EXTRA + (zip64Size ? ZIP64_LOCAL_EXTRA : 0) + entry.size + (zip64Size ? 24 : 16);
  }
  const centralOffset = offset;
  let centralSize = 0;
  for (const p of placed) centralSize += centralLength(p);
  const zip64End = needsZip64End(placed.length, centralOffset, centralSize);
  return {
    entries: placed,
    centralOffset,
    centralSize,
    size: centralOffset + centralSize + (zip64End ? ZIP64_END_FIXED + ZIP64_LOCATOR_FIXED : 0) + END_FIXED,
  };
}

function needsZip64End(count: number, centralOffset: number, centralSize: number): boolean {
  return count >= MAX16 || centralOffset >= MAX32 || centralSize >= MAX32;
}

/** MS-DOS date and time (local time, 2-second steps, 1980–2107), as every zip tool reads them. */
function dosDateTime(ms: number): { time: number; date: number } {
  const d = new Date(ms);
  const year = d.getFullYear();
  if (!Number.isFinite(year) || year < 1980) return { time: 0, date: (1 << 5) | 1 };
  if (year > 2107) return { time: (23 << 11) | (59 << 5) | 29, date: (127 << 9) | (12 << 5) | 31 };
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1),
    date: ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

/** The extended timestamp extra field: the modification time in UTC seconds. */
function timeExtra(ms: number): Buffer {
  const b = Buffer.alloc(TIME_EXTRA);
  b.writeUInt16LE(0x5455, 0);
  b.writeUInt16LE(5, 2);
  b.writeUInt8(1, 4);
  b.writeUInt32LE(Math.min(MAX32, Math.max(0, Math.floor(ms / 1000))), 5);
  return b;
}

function localHeader(p: PlacedEntry): Buffer {
  const { entry, nameBytes, zip64Size } = p;
  const b = Buffer.alloc(LOCAL_FIXED + nameBytes.length + TIME_EXTRA + (zip64Size ? ZIP64_LOCAL_EXTRA : 0));
  const { time, date } = dosDateTime(entry.mtime);
  b.writeUInt32LE(LOCAL_HEADER, 0);
  b.writeUInt16LE(zip64Size ? NEEDS_ZIP64 : NEEDS_BASIC, 4);
  b.writeUInt16LE(FLAGS, 6);
  b.writeUInt16LE(STORED, 8);
  b.writeUInt16LE(time, 10);
  b.writeUInt16LE(date, 12);
  // CRC 0; the sizes 0 too (bit 3), or the ZIP64 marker that points at the extra field.
  b.writeUInt32LE(0, 14);
  b.writeUInt32LE(zip64Size ? MAX32 : 0, 18);
  b.writeUInt32LE(zip64Size ? MAX32 : 0, 22);
  b.writeUInt16LE(nameBytes.length, 26);
  b.writeUInt16LE(TIME_EXTRA + (zip64Size ? ZIP64_LOCAL_EXTRA : 0), 28);
  nameBytes.copy(b, LOCAL_FIXED);
  let at = LOCAL_FIXED + nameBytes.length;
  at += timeExtra(entry.mtime).copy(b, at);
  if (zip64Size) {
    b.writeUInt16LE(0x0001, at);
    b.writeUInt16LE(16, at + 2);
    // Both sizes zero here: they follow in the data descriptor.
  }
  return b;
}

function dataDescriptor(p: PlacedEntry, crc: number): Buffer {
  const size = p.entry.size;
  if (p.zip64Size) {
    const b = Buffer.alloc(24);
    b.writeUInt32LE(DATA_DESCRIPTOR, 0);
    b.writeUInt32LE(crc, 4);
    b.writeBigUInt64LE(BigInt(size), 8);
    b.writeBigUInt64LE(BigInt(size), 16);
    return b;
  }
  const b = Buffer.alloc(16);
  b.writeUInt32LE(DATA_DESCRIPTOR, 0);
  b.writeUInt32LE(crc, 4);
  b.writeUInt32LE(size, 8);
  b.writeUInt32LE(size, 12);
  return b;
}

function centralHeader(p: PlacedEntry, crc: number): Buffer {
  const { entry, nameBytes } = p;
  const fields = central64Fields(p);
  const b = Buffer.alloc(centralLength(p));
  const { time, date } = dosDateTime(entry.mtime);
  const directory = entry.kind === 'directory';
  b.writeUInt32LE(CENTRAL_HEADER, 0);
  b.writeUInt16LE(MADE_BY, 4);
  b.writeUInt16LE(fields.length > 0 ? NEEDS_ZIP64 : NEEDS_BASIC, 6);
  b.writeUInt16LE(FLAGS, 8);
  b.writeUInt16LE(STORED, 10);
  b.writeUInt16LE(time, 12);
  b.writeUInt16LE(date, 14);
  b.writeUInt32LE(crc, 16);
  b.writeUInt32LE(p.zip64Size ? MAX32 : entry.size, 20);
  b.writeUInt32LE(p.zip64Size ? MAX32 : entry.size, 24);
  b.writeUInt16LE(nameBytes.length, 28);
  b.writeUInt16LE(TIME_EXTRA + (fields.length > 0 ? 4 + 8 * fields.length : 0), 30);
  b.writeUInt16LE(0, 32); // comment
  b.writeUInt16LE(0, 34); // disk
  b.writeUInt16LE(0, 36); // internal attributes
  b.writeUInt32LE((((directory ? DIR_MODE : FILE_MODE) << 16) | (directory ? MSDOS_DIRECTORY : 0)) >>> 0, 38);
  b.writeUInt32LE(Math.min(p.offset, MAX32), 42);
  nameBytes.copy(b, CENTRAL_FIXED);
  let at = CENTRAL_FIXED + nameBytes.length;
  at += timeExtra(entry.mtime).copy(b, at);
  if (fields.length > 0) {
    b.writeUInt16LE(0x0001, at);
    b.writeUInt16LE(8 * fields.length, at + 2);
    at += 4;
    for (const f of fields) {
      b.writeBigUInt64LE(BigInt(f), at);
      at += 8;
    }
  }
  return b;
}

function endRecords(plan: ZipPlan): Buffer {
  const count = plan.entries.length;
  const zip64 = needsZip64End(count, plan.centralOffset, plan.centralSize);
  const parts: Buffer[] = [];
  if (zip64) {
    const rec = Buffer.alloc(ZIP64_END_FIXED);
    rec.writeUInt32LE(ZIP64_END, 0);
    rec.writeBigUInt64LE(BigInt(ZIP64_END_FIXED - 12), 4);
    rec.writeUInt16LE(MADE_BY, 12);
    rec.writeUInt16LE(NEEDS_ZIP64, 14);
    rec.writeUInt32LE(0, 16);
    rec.writeUInt32LE(0, 20);
    rec.writeBigUInt64LE(BigInt(count), 24);
    rec.writeBigUInt64LE(BigInt(count), 32);
    rec.writeBigUInt64LE(BigInt(plan.centralSize), 40);
    rec.writeBigUInt64LE(BigInt(plan.centralOffset), 48);
    const locator = Buffer.alloc(ZIP64_LOCATOR_FIXED);
    locator.writeUInt32LE(ZIP64_LOCATOR, 0);
    locator.writeUInt32LE(0, 4);
    locator.writeBigUInt64LE(BigInt(plan.centralOffset + plan.centralSize), 8);
    locator.writeUInt32LE(1, 16);
    parts.push(rec, locator);
  }
  const end = Buffer.alloc(END_FIXED);
  end.writeUInt32LE(END, 0);
  end.writeUInt16LE(0, 4);
  end.writeUInt16LE(0, 6);
  end.writeUInt16LE(Math.min(count, MAX16), 8);
  end.writeUInt16LE(Math.min(count, MAX16), 10);
  end.writeUInt32LE(Math.min(plan.centralSize, MAX32), 12);
  end.writeUInt32LE(Math.min(plan.centralOffset, MAX32), 16);
  end.writeUInt16LE(0, 20);
  parts.push(end);
  return Buffer.concat(parts);
}

/** Headers and small contents are gathered into chunks of about this size: fewer, larger writes. */
const OUTPUT_CHUNK = 64 * 1024;

/**
 * The archive's bytes, in order, pulled as the consumer reads (Readable.from keeps the
 * backpressure): exactly `plan.size` of them. Content that does not have the planned size
 * throws, ending the stream with an error: the length was promised.
 */
export async function* zipBytes(plan: ZipPlan): AsyncGenerator<Uint8Array> {
  const crcs = new Uint32Array(plan.entries.length);
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const take = (): Buffer => {
    const out = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    return out;
  };
  const add = (chunk: Uint8Array) => {
    pending.push(chunk);
    pendingBytes += chunk.length;
  };
  for (const [i, p] of plan.entries.entries()) {
    add(localHeader(p));
    let crc = 0;
    if (p.entry.kind === 'file' && p.entry.size > 0) {
      if (!p.entry.open) throw new Error(`Zip entry "${p.entry.name}" has no content to read.`);
      let seen = 0;
      for await (const chunk of await p.entry.open()) {
        seen += chunk.length;
        if (seen > p.entry.size) throw new Error(`Zip entry "${p.entry.name}" has more than its ${p.entry.size} bytes.`);
        crc = crc32(chunk, crc);
        if (chunk.length >= OUTPUT_CHUNK) {
          if (pendingBytes > 0) yield take();
          yield chunk;
        } else {
          add(chunk);
          if (pendingBytes >= OUTPUT_CHUNK) yield take();
        }
      }
      if (seen !== p.entry.size) throw new Error(`Zip entry "${p.entry.name}" ended after ${seen} of its ${p.entry.size} bytes.`);
    }
    crcs[i] = crc;
    add(dataDescriptor(p, crc));
    if (pendingBytes >= OUTPUT_CHUNK) yield take();
  }
  for (const [i, p] of plan.entries.entries()) {
    add(centralHeader(p, crcs[i]));
    if (pendingBytes >= OUTPUT_CHUNK) yield take();
  }
  add(endRecords(plan));
  yield take();
}
