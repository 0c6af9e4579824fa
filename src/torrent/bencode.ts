import { AppError } from '../errors.js';

// Bencode (BEP 3), as pure functions: a strict decoder with hard limits and a canonical encoder.
//
// Decoded values:
//   integer    → number (always a safe integer)
//   byte string → Buffer (a view into the input, byte-exact; decode text yourself)
//   list       → BValue[]
//   dictionary → BDict, a Map whose keys are "binary" strings: each character is one byte
//                (latin1), so `'name'` looks up the ASCII key `name` and comparing two keys as
//                strings compares their bytes. `keyBytes(key)` gives the Buffer back.
//
// The decoder is iterative (an explicit stack, never recursion), touches each byte once and
// allocates nothing for a string before checking that its declared length fits the input, so
// hostile input costs at most linear time and memory. Every rejection is
// AppError('TORRENT_INVALID', '<reason> at byte <offset>').

export type BValue = number | Buffer | BValue[] | BDict;
export type BDict = Map<string, BValue>;

export interface BencodeLimits {
  /** Largest input accepted, in bytes. Default 16 MiB. */
  maxBytes?: number;
  /** Deepest nesting of lists and dictionaries. Default 64. */
  maxDepth?: number;
  /** Most values (integers, strings, lists, dictionaries, keys included) in the whole input. Default 2,000,000. */
  maxItems?: number;
  /** Longest single byte string. Default: maxBytes. */
  maxStringBytes?: number;
  /**
   * Strict mode (the default) requires dictionary keys in ascending byte order, as canonical
   * bencode does. Lenient mode only requires them to be unique: real torrents written by old
   * clients sometimes have unsorted keys, and their infohash is still the SHA-1 of those bytes.
   */
  lenient?: boolean;
}

export const BENCODE_DEFAULTS = {
  maxBytes: 16 * 1024 * 1024,
  maxDepth: 64,
  maxItems: 2_000_000,
} as const;

/** Half-open byte range [start, end) of the input. */
export interface Span {
  start: number;
  end: number;
}

export interface Decoded {
  value: BValue;
  /**
   * When the top-level value is a dictionary: the exact byte span of each of its values, keyed
   * like the dictionary. `spans.get('info')` is what the infohash is computed over.
   */
  spans: Map<string, Span>;
}

const C_COLON = 0x3a;
const C_MINUS = 0x2d;
const C_0 = 0x30;
const C_9 = 0x39;
const C_d = 0x64;
const C_e = 0x65;
const C_i = 0x69;
const C_l = 0x6c;

/** Digits of Number.MAX_SAFE_INTEGER (9007199254740991): a 17th digit is always out of range. */
const MAX_SAFE_DIGITS = 16;

interface ListFrame {
  list: BValue[];
  dict: null;
}
interface DictFrame {
  list: null;
  dict: BDict;
  /** The key whose value comes next, or null when a key comes next. */
  key: string | null;
  lastKey: string | null;
  /** Where the value of `key` started (only tracked for the top-level dictionary). */
  valueStart: number;
}
type Frame = ListFrame | DictFrame;

function fail(reason: string, at: number): never {
  throw new AppError('TORRENT_INVALID', `Bencode: ${reason} at byte ${at}.`);
}

function printable(byte: number): string {
  return byte >= 0x21 && byte <= 0x7e ? `"${String.fromCharCode(byte)}"` : `0x${byte.toString(16).padStart(2, '0')}`;
}

/** Decodes one bencoded value that must span the whole input. */
export function decodeBencode(input: Uint8Array, limits: BencodeLimits = {}): Decoded {
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const maxBytes = limits.maxBytes ?? BENCODE_DEFAULTS.maxBytes;
  const maxDepth = limits.maxDepth ?? BENCODE_DEFAULTS.maxDepth;
  const maxItems = limits.maxItems ?? BENCODE_DEFAULTS.maxItems;
  const maxStringBytes = limits.maxStringBytes ?? maxBytes;
  const lenient = limits.lenient ?? false;
  const len = buf.length;

  if (len > maxBytes) fail(`input of ${len} bytes is larger than the limit of ${maxBytes} bytes`, maxBytes);
  if (len === 0) fail('empty input', 0);

  const stack: Frame[] = [];
  const spans = new Map<string, Span>();
  let pos = 0;
  let items = 0;
  let root: BValue | undefined;
  let done = false;

  const count = (at: number): void => {
    if (++items > maxItems) fail(`more than ${maxItems} values`, at);
  };

  /** Reads `<length>:<bytes>` at pos; returns the start of the bytes and moves pos past them. */
  const readStringBounds = (): number => {
    const start = pos;
    let n = 0;
    let digits = 0;
    while (pos < len && buf[pos] >= C_0 && buf[pos] <= C_9) {
      if (++digits > MAX_SAFE_DIGITS) fail('string length is too large', start);
      n = n * 10 + (buf[pos] - C_0);
      pos++;
    }
    if (pos >= len) fail('unexpected end of data in a string length', pos);
    if (buf[pos] !== C_COLON) fail(`expected ":" after a string length, found ${printable(buf[pos])}`, pos);
    if (digits > 1 && buf[start] === C_0) fail('string length has a leading zero', start);
    if (n > maxStringBytes) fail(`string of ${n} bytes is longer than the limit of ${maxStringBytes} bytes`, start);
    pos++; // ':'
    if (n > len - pos) fail(`string of ${n} bytes runs past the end of the data (${len - pos} bytes left)`, start);
    const bytesStart = pos;
    pos += n;
    return bytesStart;
  };

  const readInteger = (): number => {
    const start = pos;
    pos++; // 'i'
    let negative = false;
    if (pos < len && buf[pos] === C_MINUS) {
      negative = true;
      pos++;
    }
    const digitsStart = pos;
    let n = 0;
    while (pos < len && buf[pos] >= C_0 && buf[pos] <= C_9) {
      if (pos - digitsStart >= MAX_SAFE_DIGITS) fail('integer is outside the safe range', start);
      n = n * 10 + (buf[pos] - C_0);
      pos++;
    }
    if (pos >= len) fail('unexpected end of data in an integer', pos);
    if (buf[pos] !== C_e) fail(`unexpected ${printable(buf[pos])} in an integer`, pos);
    const digits = pos - digitsStart;
    if (digits === 0) fail('integer without digits', start);
    if (buf[digitsStart] === C_0 && digits > 1) fail('integer has a leading zero', start);
    if (negative && n === 0) fail('integer is "-0"', start);
    if (n > Number.MAX_SAFE_INTEGER) fail('integer is outside the safe range', start);
    pos++; // 'e'
    return negative ? -n : n;
  };

  /** Hands a finished value to its parent (or makes it the root). */
  const emit = (value: BValue): void => {
    const top = stack[stack.length - 1];
    if (top === undefined) {
      root = value;
      done = true;
    } else if (top.list !== null) {
      top.list.push(value);
    } else {
      const key = top.key as string;
      top.dict.set(key, value);
      if (stack.length === 1) spans.set(key, { start: top.valueStart, end: pos });
      top.key = null;
    }
  };

  while (!done) {
    if (pos >= len) fail('unexpected end of data', pos);
    const c = buf[pos];
    const top = stack[stack.length - 1];

    if (c === C_e && top !== undefined) {
      if (top.dict !== null && top.key !== null) fail('dictionary key without a value', pos);
      pos++;
      stack.pop();
      emit(top.list ?? top.dict);
      continue;
    }

    if (top !== undefined && top.dict !== null && top.key === null) {
      // A dictionary key: must be a byte string, unique, and (strict) in ascending order.
      if (c < C_0 || c > C_9) fail(`dictionary key must be a byte string, found ${printable(c)}`, pos);
      const at = pos;
      count(at);
      const s = readStringBounds();
      const key = buf.toString('latin1', s, pos);
      if (top.lastKey !== null) {
        if (lenient) {
          if (top.dict.has(key)) fail('duplicate dictionary key', at);
        } else if (key <= top.lastKey) {
          fail(key === top.lastKey ? 'duplicate dictionary key' : 'dictionary keys are not sorted', at);
        }
      }
      top.key = key;
      top.lastKey = key;
      top.valueStart = pos;
      continue;
    }

    count(pos);
    if (c >= C_0 && c <= C_9) {
      const s = readStringBounds();
      emit(buf.subarray(s, pos));
    } else if (c === C_i) {
      emit(readInteger());
    } else if (c === C_l || c === C_d) {
      if (stack.length >= maxDepth) fail(`nesting deeper than ${maxDepth} levels`, pos);
      pos++;
      stack.push(c === C_l ? { list: [], dict: null } : { list: null, dict: new Map(), key: null, lastKey: null, valueStart: -1 });
    } else {
      fail(`unexpected ${printable(c)}`, pos);
    }
  }

  if (pos !== len) fail(`${len - pos} bytes of trailing data after the value`, pos);
  return { value: root as BValue, spans };
}

// ---- helpers for reading decoded values ----

export function isDict(value: BValue | undefined): value is BDict {
  return value instanceof Map;
}

export function isBytes(value: BValue | undefined): value is Buffer {
  return Buffer.isBuffer(value);
}

export function isList(value: BValue | undefined): value is BValue[] {
  return Array.isArray(value);
}

export function isInteger(value: BValue | undefined): value is number {
  return typeof value === 'number';
}

/** The bytes of a decoded dictionary key. */
export function keyBytes(key: string): Buffer {
  return Buffer.from(key, 'latin1');
}

// ---- encoder ----

/**
 * What the encoder takes. Strings are written as UTF-8; Uint8Arrays byte for byte. A Map is
 * read the way the decoder produces it (keys are binary strings, one byte per character); a
 * plain object's keys are written as UTF-8. `undefined` properties of plain objects are left out.
 */
export type BEncodable =
  | RawBencode
  | number
  | string
  | Uint8Array
  | readonly BEncodable[]
  | ReadonlyMap<string, BEncodable>
  | { readonly [key: string]: BEncodable | undefined };

/**
 * Bytes that are already bencoded and must be written unchanged: an `info` dictionary received
 * from peers or cut from a torrent keeps its exact bytes, and so its infohash.
 */
export class RawBencode {
  constructor(readonly bytes: Uint8Array) {}
}

/** Canonical bencode: dictionary keys sorted by their bytes, integers without leading zeros. */
export function encodeBencode(value: BEncodable): Buffer {
  const w = new Writer();
  encodeInto(value, w, 0);
  return w.result();
}

/** One growing buffer: far less garbage than a Buffer per token. */
class Writer {
  private buf = Buffer.allocUnsafe(4096);
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  ascii(text: string): void {
    this.ensure(text.length);
    this.pos += this.buf.write(text, this.pos, 'latin1');
  }

  bytes(bytes: Uint8Array): void {
    this.ascii(`${bytes.length}:`);
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  text(text: string, encoding: 'utf8' | 'latin1'): void {
    const n = encoding === 'latin1' ? text.length : Buffer.byteLength(text, 'utf8');
    this.ascii(`${n}:`);
    this.ensure(n);
    this.pos += this.buf.write(text, this.pos, n, encoding);
  }

  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  result(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}

// Any UTF-16 code unit above the range (surrogate halves included).
const NON_LATIN1 = /[\u0100-\uffff]/;
const NON_ASCII = /[\u0080-\uffff]/;

function encodeInto(value: BEncodable, w: Writer, depth: number): void {
  if (depth > 10_000) throw new RangeError('bencode: value nested too deeply to encode');
  if (value instanceof RawBencode) {
    w.raw(value.bytes);
  } else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`bencode: ${value} is not a safe integer`);
    w.ascii(`i${value}e`);
  } else if (typeof value === 'string') {
    w.text(value, 'utf8');
  } else if (value instanceof Uint8Array) {
    w.bytes(value);
  } else if (Array.isArray(value)) {
    w.ascii('l');
    for (const item of value as readonly BEncodable[]) encodeInto(item, w, depth + 1);
    w.ascii('e');
  } else if (value instanceof Map) {
    const map = value as ReadonlyMap<string, BEncodable>;
    const keys = [...map.keys()];
    for (const key of keys) if (NON_LATIN1.test(key)) throw new RangeError('bencode: Map keys must be binary (latin1) strings');
    keys.sort(); // binary strings: code-unit order is byte order
    w.ascii('d');
    for (const key of keys) {
      w.text(key, 'latin1');
      encodeInto(map.get(key) as BEncodable, w, depth + 1);
    }
    w.ascii('e');
  } else if (typeof value === 'object' && value !== null) {
    const object = value as { readonly [key: string]: BEncodable | undefined };
    const keys = Object.keys(object).filter((key) => object[key] !== undefined);
    if (keys.some((key) => NON_ASCII.test(key))) {
      // UTF-16 order differs from UTF-8 byte order past the BMP: compare the bytes.
      const bytes = new Map(keys.map((key) => [key, Buffer.from(key, 'utf8')]));
      keys.sort((a, b) => Buffer.compare(bytes.get(a)!, bytes.get(b)!));
    } else {
      keys.sort();
    }
    w.ascii('d');
    for (const key of keys) {
      w.text(key, 'utf8');
      encodeInto(object[key] as BEncodable, w, depth + 1);
    }
    w.ascii('e');
  } else {
    throw new TypeError(`bencode: cannot encode ${typeof value}`);
  }
}
