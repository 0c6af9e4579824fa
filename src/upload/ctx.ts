import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors.js';

// The block-upload `ctx` of docs/spec/UPLOAD.md: opaque to clients, self-contained for the server (a
// restarted server continues an upload from its ctxs alone), and tamper-proof. Two versions:
//
//   v1 = base64url( 1 ‖ blockId:16 ‖ blockSize:6 ‖ offset:6 ‖ mac:16 )                      (60 chars)
//        a block in a file of its own, <uploads>/<blockId>
//   v2 = base64url( 2 ‖ blockId:16 ‖ blockSize:4 ‖ offset:4 ‖ order:4 ‖ strideUnits:1 ‖ mac:16 )  (62 chars)
//        a block placed in its upload's assembly file at order × stride (stride = strideUnits × 4 MiB)
//   mac = HMAC-SHA256(ctxKey, SHA-256(upload token) ‖ the bytes before it), first 16 bytes
//
// The token's hash is inside the MAC but not in the ctx: a ctx verifies only together with the
// token it was issued for, so a ctx of another upload (or a changed offset) is refused.
// The alphabet has no `,` or `/`: ctxs travel in URL paths and in mkfile's comma list, whose
// size limit allows 64 characters per block — which is why a ctx carries no sub-block digests:
// those stay on the server, next to the assembly file (see assembly.ts).
// Blocks without a placement keep the v1 encoding, so their ctxs are exactly as before.

const V1 = 1;
const V2 = 2;
const ID_BYTES = 16;
const MAC_BYTES = 16;
const V1_BODY = 1 + ID_BYTES + 6 + 6;
const V2_BODY = 1 + ID_BYTES + 4 + 4 + 4 + 1;
const V1_BYTES = V1_BODY + MAC_BYTES;
const V2_BYTES = V2_BODY + MAC_BYTES;
const CTX_RE = /^(?:[A-Za-z0-9_-]{60}|[A-Za-z0-9_-]{62})$/;
const BLOCK_ID_RE = /^[0-9a-f]{32}$/;
/** Largest value a 6-byte field holds. */
const MAX_FIELD = 2 ** 48 - 1;
/** Largest value a 4-byte field holds. */
const MAX_FIELD_V2 = 2 ** 32 - 1;
/** The unit of a placement's stride: the etag's sub-block. */
export const STRIDE_UNIT = 4 * 1024 * 1024;

/** Where a block lives inside its upload's assembly file: bytes [order × stride, + blockSize). */
export interface Placement {
  /** The block's index in the file (mkblk's blockOrder). */
  order: number;
  /** Bytes between the starts of consecutive blocks: a positive multiple of 4 MiB. */
  stride: number;
}

/** What a ctx says: which block, its size, how much of it arrived, and where it lives. */
export interface BlockCtx {
  /** 32 lowercase hex characters: the name of the block's file, or its claim in an assembly. */
  blockId: string;
  blockSize: number;
  /** Bytes of the block received so far: where the next chunk starts. */
  offset: number;
  /** Present when the block is written into the upload's assembly file (v2 ctx). */
  placement?: Placement;
}

export function newBlockId(): string {
  return randomBytes(ID_BYTES).toString('hex');
}

export function isBlockId(s: string): boolean {
  return BLOCK_ID_RE.test(s);
}

/** Whether a placement of this block can be expressed in a v2 ctx. */
export function placeable(blockSize: number, placement: Placement): boolean {
  const units = placement.stride / STRIDE_UNIT;
  return (
    Number.isSafeInteger(blockSize) &&
    blockSize <= MAX_FIELD_V2 &&
    Number.isSafeInteger(placement.order) &&
    placement.order >= 0 &&
    placement.order <= MAX_FIELD_V2 &&
    Number.isInteger(units) &&
    units >= 1 &&
    units <= 255 &&
    blockSize <= placement.stride
  );
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
  for (const [k, v] of [
    ['blockSize', ctx.blockSize],
    ['offset', ctx.offset],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 0 || v > MAX_FIELD) throw new TypeError(`${k} out of range: ${v}`);
  }
  if (ctx.offset > ctx.blockSize) throw new TypeError('offset beyond blockSize');
  let body: Buffer;
  if (ctx.placement) {
    if (!placeable(ctx.blockSize, ctx.placement)) throw new TypeError('placement out of range');
    body = Buffer.alloc(V2_BODY);
    body[0] = V2;
    Buffer.from(ctx.blockId, 'hex').copy(body, 1);
    let at = 1 + ID_BYTES;
    at = body.writeUInt32BE(ctx.blockSize, at);
    at = body.writeUInt32BE(ctx.offset, at);
    at = body.writeUInt32BE(ctx.placement.order, at);
    body[at] = ctx.placement.stride / STRIDE_UNIT;
  } else {
    body = Buffer.alloc(V1_BODY);
    body[0] = V1;
    Buffer.from(ctx.blockId, 'hex').copy(body, 1);
    body.writeUIntBE(ctx.blockSize, 1 + ID_BYTES, 6);
    body.writeUIntBE(ctx.offset, 1 + ID_BYTES + 6, 6);
  }
  return Buffer.concat([body, macOf(body, token, secret)]).toString('base64url');
}

/** Verifies a ctx for `token`; a forged, altered or foreign one is `400 UPLOAD_INVALID`. */
export function decodeCtx(ctx: string, token: string, secret: string): BlockCtx {
  const malformed = 'The ctx is malformed: send back a ctx exactly as mkblk or bput returned it.';
  if (typeof ctx !== 'string' || !CTX_RE.test(ctx)) throw invalid(malformed);
  const raw = Buffer.from(ctx, 'base64url');
  if (raw.length !== V1_BYTES && raw.length !== V2_BYTES) throw invalid(malformed);
  // A 62-character ctx has 4 spare bits in its last character that decoding ignores: only the
  // canonical spelling is accepted, so that no two strings stand for one ctx.
  if (raw.toString('base64url') !== ctx) throw invalid(malformed);
  const body = raw.subarray(0, raw.length - MAC_BYTES);
  const mac = raw.subarray(raw.length - MAC_BYTES);
  if (!timingSafeEqual(mac, macOf(body, token, secret))) {
    throw invalid('The ctx does not belong to this upload token, or it was altered.');
  }
  const version = body[0];
  if (!(version === V1 && raw.length === V1_BYTES) && !(version === V2 && raw.length === V2_BYTES)) {
    throw invalid(`The ctx has an unknown version ${version}.`);
  }
  const blockId = body.subarray(1, 1 + ID_BYTES).toString('hex');
  let out: BlockCtx;
  if (version === V1) {
    out = { blockId, blockSize: body.readUIntBE(1 + ID_BYTES, 6), offset: body.readUIntBE(1 + ID_BYTES + 6, 6) };
  } else {
    const at = 1 + ID_BYTES;
    const placement = { order: body.readUInt32BE(at + 8), stride: body[at + 12] * STRIDE_UNIT };
    out = { blockId, blockSize: body.readUInt32BE(at), offset: body.readUInt32BE(at + 4), placement };
    if (!placeable(out.blockSize, placement)) throw invalid('The ctx is inconsistent.');
  }
  if (out.offset > out.blockSize) throw invalid('The ctx is inconsistent.');
  return out;
}
