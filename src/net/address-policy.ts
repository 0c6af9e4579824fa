import { isIP } from 'node:net';

// Which IP addresses the server may connect to on a user's behalf (SSRF protection). Pure: no
// DNS, no sockets. `safe-fetch.ts` applies it after resolution, on every redirect and to the
// address a socket actually connected to.
//
// An address is allowed when it is public unicast, or inside an operator allow-list CIDR
// (OPENPAN_FETCH_ALLOW). IPv6 forms that carry an IPv4 address (IPv4-mapped ::ffff:a.b.c.d,
// IPv4-compatible ::a.b.c.d, SIIT ::ffff:0:a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16) are
// judged by that IPv4 address: a gateway would deliver them there. Forms whose destination
// cannot be told from the address (Teredo, local-use NAT64 64:ff9b:1::/48) are refused.

export type AddressClass =
  | 'public'
  | 'loopback'
  /** RFC 1918, IPv6 unique-local fc00::/7 and deprecated site-local fec0::/10. */
  | 'private'
  /** 100.64.0.0/10 (RFC 6598), a provider's internal network. */
  | 'carrier-nat'
  | 'link-local'
  | 'multicast'
  /** 0.0.0.0/8 ("this network"; 0.0.0.0 reaches the local host on Linux) and ::. */
  | 'unspecified'
  | 'broadcast'
  /** TEST-NET-1/2/3, 2001:db8::/32, 3fff::/20. */
  | 'documentation'
  /** Everything else that is not public unicast: benchmarking, IETF/future use, Teredo, local NAT64, non-IP text. */
  | 'reserved';

export interface Cidr {
  family: 4 | 6;
  /** The network address, host bits cleared (IPv4 in the low 32 bits). */
  network: bigint;
  prefix: number;
  /** As the operator wrote it, for messages. */
  text: string;
}

export type PolicyVerdict = { ok: true } | { ok: false; reason: string };

interface V4Range {
  network: number;
  prefix: number;
  cls: AddressClass;
}

const v4 = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

// Most specific first where ranges nest (255.255.255.255 inside 240/4).
const V4_SPECIAL: readonly V4Range[] = [
  { network: v4(255, 255, 255, 255), prefix: 32, cls: 'broadcast' },
  { network: v4(0, 0, 0, 0), prefix: 8, cls: 'unspecified' },
  { network: v4(10, 0, 0, 0), prefix: 8, cls: 'private' },
  { network: v4(100, 64, 0, 0), prefix: 10, cls: 'carrier-nat' },
  { network: v4(127, 0, 0, 0), prefix: 8, cls: 'loopback' },
  { network: v4(169, 254, 0, 0), prefix: 16, cls: 'link-local' },
  { network: v4(172, 16, 0, 0), prefix: 12, cls: 'private' },
  { network: v4(192, 0, 0, 0), prefix: 24, cls: 'reserved' }, // IETF protocol assignments (incl. DS-Lite 192.0.0.0/29)
  { network: v4(192, 0, 2, 0), prefix: 24, cls: 'documentation' },
  { network: v4(192, 88, 99, 0), prefix: 24, cls: 'reserved' }, // 6to4 relay anycast (deprecated)
  { network: v4(192, 168, 0, 0), prefix: 16, cls: 'private' },
  { network: v4(198, 18, 0, 0), prefix: 15, cls: 'reserved' }, // benchmarking
  { network: v4(198, 51, 100, 0), prefix: 24, cls: 'documentation' },
  { network: v4(203, 0, 113, 0), prefix: 24, cls: 'documentation' },
  { network: v4(224, 0, 0, 0), prefix: 4, cls: 'multicast' },
  { network: v4(240, 0, 0, 0), prefix: 4, cls: 'reserved' },
];

function inV4(addr: number, network: number, prefix: number): boolean {
  if (prefix === 0) return true;
  const mask = (0xffffffff << (32 - prefix)) >>> 0;
  return (addr & mask) >>> 0 === network;
}

function classifyV4(addr: number): AddressClass {
  for (const r of V4_SPECIAL) if (inV4(addr, r.network, r.prefix)) return r.cls;
  return 'public';
}

function parseV4(text: string): number | null {
  if (isIP(text) !== 4) return null;
  const [a, b, c, d] = text.split('.').map(Number);
  return v4(a, b, c, d);
}

/** 128-bit value of an IPv6 address (zone id ignored); null when it is not one. */
function parseV6(text: string): bigint | null {
  const bare = text.replace(/%.*$/, '');
  if (isIP(bare) !== 6) return null;
  let s = bare.toLowerCase();
  // A dotted IPv4 tail becomes two hex groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted !== null) {
    const n = parseV4(dotted[1]);
    if (n === null) return null;
    s = s.slice(0, dotted.index) + `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const halves = s.split('::');
  const head = halves[0] === '' ? [] : halves[0].split(':');
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : halves[1].split(':')) : [];
  const groups = halves.length === 2 ? [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail] : head;
  if (groups.length !== 8) return null;
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(parseInt(g, 16));
  return value;
}

const V6_BITS = 128n;
const ALL128 = (1n << V6_BITS) - 1n;

function inV6(addr: bigint, network: bigint, prefix: number): boolean {
  if (prefix === 0) return true;
  const shift = V6_BITS - BigInt(prefix);
  return addr >> shift === network >> shift;
}

function v6(text: string): bigint {
  const n = parseV6(text);
  if (n === null) throw new Error(`bad built-in IPv6 constant ${text}`);
  return n;
}

const low32 = (addr: bigint): number => Number(addr & 0xffffffffn);

interface V6Range {
  network: bigint;
  prefix: number;
  /** A class, or how to find the IPv4 address the packet really goes to. */
  judge: AddressClass | ((addr: bigint) => AddressClass);
}

const embedded = (addr: bigint): AddressClass => classifyV4(low32(addr));

// Checked in order; the first match decides. `::` and `::1` come before the ::/96 compatible form.
const V6_SPECIAL: readonly V6Range[] = [
  { network: 0n, prefix: 128, judge: 'unspecified' },
  { network: 1n, prefix: 128, judge: 'loopback' },
  { network: v6('::ffff:0:0'), prefix: 96, judge: embedded }, // IPv4-mapped
  { network: v6('::ffff:0:0:0'), prefix: 96, judge: embedded }, // SIIT IPv4-translated (RFC 2765)
  { network: 0n, prefix: 96, judge: embedded }, // IPv4-compatible (deprecated) ::a.b.c.d
  { network: v6('64:ff9b::'), prefix: 96, judge: embedded }, // well-known NAT64 prefix
  { network: v6('64:ff9b:1::'), prefix: 48, judge: 'reserved' }, // local-use NAT64: the embedding is the site's own
  { network: v6('100::'), prefix: 64, judge: 'reserved' }, // discard-only
  { network: v6('2001::'), prefix: 32, judge: 'reserved' }, // Teredo: the target is hidden behind a relay
  { network: v6('2001:db8::'), prefix: 32, judge: 'documentation' },
  { network: v6('2001::'), prefix: 23, judge: 'reserved' }, // IETF protocol assignments (benchmarking, ORCHID, ...)
  { network: v6('2002::'), prefix: 16, judge: (addr) => classifyV4(Number((addr >> 80n) & 0xffffffffn)) }, // 6to4
  { network: v6('3fff::'), prefix: 20, judge: 'documentation' },
  { network: v6('5f00::'), prefix: 16, judge: 'reserved' }, // SRv6 SIDs
  { network: v6('fc00::'), prefix: 7, judge: 'private' },
  { network: v6('fe80::'), prefix: 10, judge: 'link-local' },
  { network: v6('fec0::'), prefix: 10, judge: 'private' },
  { network: v6('ff00::'), prefix: 8, judge: 'multicast' },
];

const GLOBAL_UNICAST = v6('2000::');

function classifyV6(addr: bigint): AddressClass {
  for (const r of V6_SPECIAL) {
    if (inV6(addr, r.network, r.prefix)) return typeof r.judge === 'string' ? r.judge : r.judge(addr);
  }
  // Only 2000::/3 is allocated for global unicast; the rest of the space is unassigned.
  return inV6(addr, GLOBAL_UNICAST, 3) ? 'public' : 'reserved';
}

/** The class of an IP address in any textual form `net.isIP` accepts; non-IP text is 'reserved'. */
export function addressClass(ip: string): AddressClass {
  const n4 = parseV4(ip);
  if (n4 !== null) return classifyV4(n4);
  const n6 = parseV6(stripBrackets(ip));
  return n6 === null ? 'reserved' : classifyV6(n6);
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** One entry: `a.b.c.d`, `a.b.c.d/n`, an IPv6 address, or `ipv6/n`. Host bits are cleared. */
export function parseCidr(entry: string): Cidr {
  const text = entry.trim();
  const slash = text.indexOf('/');
  const addrText = slash === -1 ? text : text.slice(0, slash);
  const prefixText = slash === -1 ? null : text.slice(slash + 1);
  const bad = (why: string): Error => new Error(`Invalid CIDR ${JSON.stringify(text)} in the address allow-list: ${why}.`);
  const n4 = parseV4(addrText);
  const n6 = n4 === null ? parseV6(stripBrackets(addrText)) : null;
  if (n4 === null && n6 === null) throw bad('not an IPv4 or IPv6 address');
  const family: 4 | 6 = n4 !== null ? 4 : 6;
  const max = family === 4 ? 32 : 128;
  let prefix = max;
  if (prefixText !== null) {
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) throw bad(`the prefix length must be 0 to ${max}`);
    prefix = Number(prefixText);
  }
  const value = n4 !== null ? BigInt(n4) : (n6 as bigint);
  const width = BigInt(max);
  const mask = prefix === 0 ? 0n : (((1n << width) - 1n) >> (width - BigInt(prefix))) << (width - BigInt(prefix));
  return { family, network: value & mask & ALL128, prefix, text };
}

/** Comma-separated CIDRs (OPENPAN_FETCH_ALLOW); blank entries are skipped. Throws on a bad entry. */
export function parseCidrList(csv: string): Cidr[] {
  return csv
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')
    .map(parseCidr);
}

function inCidr(cidr: Cidr, family: 4 | 6, value: bigint): boolean {
  if (cidr.family !== family) return false;
  const width = family === 4 ? 32n : 128n;
  if (cidr.prefix === 0) return true;
  const shift = width - BigInt(cidr.prefix);
  return value >> shift === cidr.network >> shift;
}

/** The address policy: public addresses, plus the operator's allow-list. */
export class AddressPolicy {
  readonly #allow: readonly Cidr[];

  constructor(allow: Cidr[] = []) {
    this.#allow = [...allow];
  }

  get allowList(): readonly Cidr[] {
    return this.#allow;
  }

  check(ip: string): PolicyVerdict {
    const text = stripBrackets(ip);
    const n4 = parseV4(text);
    const n6 = n4 === null ? parseV6(text) : null;
    if (n4 === null && n6 === null) return { ok: false, reason: `${JSON.stringify(ip)} is not an IP address` };
    if (this.#allowed(n4, n6)) return { ok: true };
    const cls = n4 !== null ? classifyV4(n4) : classifyV6(n6 as bigint);
    if (cls === 'public') return { ok: true };
    return { ok: false, reason: `${text} is a ${cls} address` };
  }

  #allowed(n4: number | null, n6: bigint | null): boolean {
    if (n4 !== null) return this.#allow.some((c) => inCidr(c, 4, BigInt(n4)));
    const addr = n6 as bigint;
    if (this.#allow.some((c) => inCidr(c, 6, addr))) return true;
    // An IPv4-mapped address is the IPv4 host itself (a dual-stack socket reports peers so).
    if (inV6(addr, v6('::ffff:0:0'), 96)) return this.#allow.some((c) => inCidr(c, 4, BigInt(low32(addr))));
    return false;
  }
}

/** What a URL's host asks to connect to: a literal IP (checked as is) or a name (checked after DNS). */
export type UrlHost = { kind: 'ip'; ip: string } | { kind: 'name'; name: string };

/**
 * The host of a parsed URL. The WHATWG parser has already turned every IPv4 spelling (decimal
 * `2130706433`, octal `0177.0.0.1`, hex `0x7f.1`, short forms) into dotted decimal and wrapped
 * IPv6 in brackets, so a literal is recognised here whatever the user typed.
 */
export function hostToCheck(url: URL): UrlHost {
  const host = stripBrackets(url.hostname);
  return isIP(host) === 0 ? { kind: 'name', name: host } : { kind: 'ip', ip: host };
}
