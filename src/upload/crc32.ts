// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as zip, PNG and Qiniu's `crc32` use.
// Node 20's zlib has crc32 only from 20.15 (22.2 on 22), so here is also a table-driven one,
// slicing by eight bytes per step: the upload path runs every received byte through it.
import zlib from 'node:zlib';

const POLY = 0xedb88320;

/** TABLES[k][b]: the CRC contribution of byte b followed by k zero bytes. */
const TABLES: Uint32Array[] = (() => {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = c & 1 ? POLY ^ (c >>> 1) : c >>> 1;
    tables[0][b] = c >>> 0;
  }
  for (let b = 0; b < 256; b++) {
    let c = tables[0][b];
    for (let k = 1; k < 8; k++) {
      c = tables[0][c & 0xff] ^ (c >>> 8);
      tables[k][b] = c >>> 0;
    }
  }
  return tables;
})();

const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES;

/**
 * zlib's native CRC-32 where the runtime has it (Node ≥ 20.15 / 22.2): several times faster
 * than the table below, which stays for older runtimes. Both give the same values.
 */
const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/**
 * Continues a CRC-32 over `data`: `crc32(b, crc32(a))` equals `crc32(a ‖ b)`.
 * Returns an unsigned 32-bit integer (what Qiniu-style clients compare against).
 */
export function crc32(data: Uint8Array, previous = 0): number {
  return nativeCrc32 ? nativeCrc32(data, previous) >>> 0 : tableCrc32(data, previous);
}

/** The table-driven CRC-32 (slicing by eight), exported for the tests. */
export function tableCrc32(data: Uint8Array, previous = 0): number {
  let c = ~previous >>> 0;
  let i = 0;
  const n = data.length;
  const fast = n - (n % 8);
  for (; i < fast; i += 8) {
    const lo = (c ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24))) >>> 0;
    c = T7[lo & 0xff] ^ T6[(lo >>> 8) & 0xff] ^ T5[(lo >>> 16) & 0xff] ^ T4[lo >>> 24] ^ T3[data[i + 4]] ^ T2[data[i + 5]] ^ T1[data[i + 6]] ^ T0[data[i + 7]];
  }
  for (; i < n; i++) c = T0[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** Streaming form: feed chunks in order, read `value` at any time. */
export class Crc32 {
  private crc = 0;

  update(chunk: Uint8Array): this {
    this.crc = crc32(chunk, this.crc);
    return this;
  }

  get value(): number {
    return this.crc;
  }
}
