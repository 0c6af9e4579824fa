// Session tokens are JWTs (HS256), because 6pan's web front end decodes its token on every
// server-side page load to show who is signed in. The payload is the user as the front end
// shows it; what makes a token valid is the signature, its expiry and its session id `sid`,
// whose hash is a row of `sessions` — deleting the row (logout, a new password) revokes it.
import { createHmac, timingSafeEqual } from 'node:crypto';

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

export interface SessionClaims {
  /** The session id; sha256 of it is the `sessions` row. */
  sid: string;
  /** Issued at and expiry, seconds since the epoch (RFC 7519). */
  iat: number;
  exp: number;
  /** What the front end shows: the 6pan user view at the time of signing. */
  [field: string]: unknown;
}

export class SessionTokens {
  private readonly key: Buffer;

  constructor(secret: string) {
    // A key of its own, so a session token can never be mistaken for another signed value.
    this.key = createHmac('sha256', secret).update('openpan session token').digest();
  }

  private signature(signingInput: string): string {
    return createHmac('sha256', this.key).update(signingInput).digest('base64url');
  }

  sign(claims: SessionClaims): string {
    const input = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    return `${input}.${this.signature(input)}`;
  }

  /** The claims of a token this server signed and that has not expired, else null. */
  verify(token: string, nowMs = Date.now()): SessionClaims | null {
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== HEADER) return null;
    const expected = Buffer.from(this.signature(`${parts[0]}.${parts[1]}`));
    const given = Buffer.from(parts[2]);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    let claims: unknown;
    try {
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    } catch {
      return null;
    }
    if (!claims || typeof claims !== 'object') return null;
    const c = claims as SessionClaims;
    if (typeof c.sid !== 'string' || typeof c.exp !== 'number' || c.exp * 1000 <= nowMs) return null;
    return c;
  }
}

/** Whether a token has the shape of a JWT (sessions issued before JWTs are opaque strings). */
export function looksLikeJwt(token: string): boolean {
  return token.split('.').length === 3;
}
