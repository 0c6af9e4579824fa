import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors.js';

// The block-upload `ctx` of UPLOAD.md: opaque to clients, self-contained for the server (a
// restarted server continues an upload from its ctxs alone), and tamper-proof:
//
//   ctx = base64url( version:1 ‖ blockId:16 ‖ blockSize:6 ‖ offset:6 ‖ mac:16 )   (60 chars)
//   mac = HMAC-SHA256(ctxKey, SHA-256(upload token) ‖ the 29 bytes before it), first 16 bytes
//
// The token's hash is inside the MAC but not in the ctx: a ctx verifies only together with the
// token it was issued for, so a ctx of another upload (or a changed offset) is refused.
// The alphabet has no `,` or `/`: ctxs travel in URL paths and in mkfile's comma list.

const VERSION = 1;
const ID_BYTES = 16;
const MAC_BYTES = 16;
const BODY_BYTES = 1 + ID_BYTES + 6 + 6;
const CTX_BYTES = BODY_BYTES + MAC_BYTES;
const CTX_RE = /^[A-Za-z0-9_-]{60}$/;
const BLOCK_ID_RE = /^[0-9a-f]{32}$/;
/** Largest value a 6-byte field holds. */
const MAX_FIELD = 2 ** 48 - 1;

/** What a ctx says: which block (a file on the server), its size, and how much of it arrived. */
export interface BlockCtx {
  /** 32 lowercase hex characters, the name of the block's file. */
  blockId: string;
  blockSize: number;
  /** Bytes of the block received so far: where the next chunk starts. */
  offset: number;
}

export function newBlockId(): string {
  return randomBytes(ID_BYTES).toString('hex');
}

export function isBlockId(s: string): boolean {
  return BLOCK_ID_RE.test(s);
}

function ctxKey(secret: string): Buffer {
  // A key of its own, so a ctx MAC can never be confused with another signature of the secret.
  return createHmac('sha256', secret).update('openpan upload ctx v1').digest();
}

function macOf(body: Buffer, token: string, secret: string): Buffer {
  const tokenHash = createHash('sha256').update(token).digest();
  return createHmac('sha256', ctxKey(secret)).update(tokenHash).update(body).digest().subarray(0, MAC_BYTES);
}

function invalid(message: string): AppError {
  return new AppError('UPLOAD_INVALID', message);
}

export function encodeCtx(ctx: BlockCtx, token: string, secret: string): string {
  if (!isBlockId(ctx.blockId)) throw new TypeError('blockId must be 32 lowercase hex characters');
  for (const [k, v] of [['blockSize', ctx.blockSize], ['offset', ctx.offset]] as const) {
    if (!Number.isSafeInteger(v) || v < 0 || v > MAX_FIELD) throw new TypeError(`${k} out of range: ${v}`);
  }
  if (ctx.offset > ctx.blockSize) throw new TypeError('offset beyond blockSize');
  const body = Buffer.alloc(BODY_BYTES);
  body[0] = VERSION;
  Buffer.from(ctx.blockId, 'hex').copy(body, 1);
  body.writeUIntBE(ctx.blockSize, 1 + ID_BYTES, 6);
  body.writeUIntBE(ctx.offset, 1 + ID_BYTES + 6, 6);
  return Buffer.concat([body, macOf(body, token, secret)]).toString('base64url');
}

/** Verifies a ctx for `token`; a forged, altered or foreign one is `400 UPLOAD_INVALID`. */
export function decodeCtx(ctx: string, token: string, secret: string): BlockCtx {
  if (typeof ctx !== 'string' || !CTX_RE.test(ctx)) throw invalid('The ctx is malformed: send back a ctx exactly as mkblk or bput returned it.');
  const raw = Buffer.from(ctx, 'base64url');
  if (raw.length !== CTX_BYTES) throw invalid('The ctx is malformed: send back a ctx exactly as mkblk or bput returned it.');
  const body = raw.subarray(0, BODY_BYTES);
  const mac = raw.subarray(BODY_BYTES);
  if (!timingSafeEqual(mac, macOf(body, token, secret))) {
    throw invalid('The ctx does not belong to this upload token, or it was altered.');
  }
  if (body[0] !== VERSION) throw invalid(`The ctx has an unknown version ${body[0]}.`);
  const blockSize = body.readUIntBE(1 + ID_BYTES, 6);
  const offset = body.readUIntBE(1 + ID_BYTES + 6, 6);
  if (offset > blockSize) throw invalid('The ctx is inconsistent.');
  return { blockId: body.subarray(1, 1 + ID_BYTES).toString('hex'), blockSize, offset };
}
