// Password verifiers. 6pan's clients never send the password itself: they send md5 hex of it.
// So the verifier is scrypt over that md5 form, and a login may bring either form: the typed
// password (web UI, CLI) is turned into it here, a 32-hex-digit value is taken as it already.
// SECURITY.md explains the choice.
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(scryptCb) as (pw: string, salt: Buffer, len: number, opts: object) => Promise<Buffer>;

// N=2^15, r=8: ~50 ms and 32 MiB per hash on this class of machine, OWASP's recommended floor.
const PARAMS = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_LEN = 32;
/** scrypt over md5 hex of the password: what every account is stored as from now on. */
const MD5_SCHEME = 'scrypt-md5';
/** scrypt over the password itself: accounts created before 6pan's clients were served. */
const LEGACY_SCHEME = 'scrypt';

const MD5_HEX = /^[0-9a-f]{32}$/i;

/** What 6pan's clients send for a typed password. */
export function md5Form(typed: string): string {
  return createHash('md5').update(typed, 'utf8').digest('hex');
}

/** The md5 forms a login value may stand for: itself when it looks like one, and md5 of it. */
function candidateForms(given: string): string[] {
  const trimmed = given.trim();
  return MD5_HEX.test(trimmed) ? [trimmed.toLowerCase(), md5Form(given)] : [md5Form(given)];
}

async function derive(secret: string, salt: Buffer, len: number, n: number, r: number, p: number): Promise<Buffer> {
  return scrypt(secret, salt, len, { N: n, r, p, maxmem: PARAMS.maxmem });
}

async function encode(scheme: string, secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(secret, salt, KEY_LEN, PARAMS.N, PARAMS.r, PARAMS.p);
  return [scheme, PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

async function matches(secret: string, encoded: string): Promise<boolean> {
  const [, n, r, p, salt, hash] = encoded.split('$');
  if (!salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await derive(secret, Buffer.from(salt, 'base64url'), expected.length, Number(n), Number(r), Number(p));
  return timingSafeEqual(key, expected);
}

/** The verifier of a typed password. Encoded as `scheme$N$r$p$salt$hash`, so parameters can rise. */
export function hashPassword(typed: string): Promise<string> {
  return encode(MD5_SCHEME, md5Form(typed));
}

/** The verifier of a password a 6pan client sent in its md5 form (`user/changePassword`). */
export function hashPasswordMd5Form(md5hex: string): Promise<string> {
  return encode(MD5_SCHEME, md5hex.trim().toLowerCase());
}

export function isMd5Form(value: string): boolean {
  return MD5_HEX.test(value.trim());
}

export interface PasswordCheck {
  ok: boolean;
  /** A verifier in the current scheme to store instead, when the stored one is older. */
  upgraded?: string;
}

/** Checks a login value (typed password or its md5 form) against a stored verifier. */
export async function checkPassword(given: string, encoded: string): Promise<PasswordCheck> {
  const scheme = encoded.split('$')[0];
  if (scheme === MD5_SCHEME) {
    for (const form of candidateForms(given)) {
      if (await matches(form, encoded)) return { ok: true };
    }
    return { ok: false };
  }
  if (scheme === LEGACY_SCHEME) {
    // Only the typed password can open a legacy verifier; it is then re-stored in md5 form.
    if (!(await matches(given.normalize('NFC'), encoded))) return { ok: false };
    return { ok: true, upgraded: await hashPassword(given) };
  }
  return { ok: false };
}

/** A verifier to check against when the user does not exist, so timing does not reveal names. */
export const DUMMY_HASH = `${MD5_SCHEME}$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`;
