import busboy from 'busboy';
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { AppError, ERRORS, isAppError, type ErrorCode } from '../errors.js';
import { Binary, documentedOnly } from './openapi.js';
import { BlockAnswerSchema, UploadAnswerSchema, UploadFailureSchema } from './sixpan/schemas.js';
import { idleGuard } from '../upload/idle.js';
import { invalid } from '../upload/invalid.js';
import { mediaTypeOf } from '../upload/media-type.js';
import { decodeUrlsafeBase64, tokenFromAuthorization } from '../upload/upload-token.js';
import type { Body, FormPart, UploadService } from '../upload/upload.service.js';

// The upload service's HTTP face (docs/spec/UPLOAD.md), registered under `/upload`:
//   POST /  and  POST /file/upload           form upload (multipart, fields in any order)
//   POST /mkblk/:blockSize[/:blockOrder]      first chunk of a block
//   POST /bput/:ctx/:offset                   next chunk of a block
//   POST /mkfile/:fileSize[/key/:encodedKey]  assemble the blocks
// Bodies stay streams (request.raw); errors are Qiniu-style JSON that also carries the 6pan
// envelope fields; every answer allows any origin (uploads are authorised by token only).
// A body that goes silent for bodyIdleTimeoutMs loses its connection (idle.ts); the server's
// request timeout bounds the whole of it.

export interface UploadRoutesOptions {
  service: UploadService;
  /** A body from which no byte arrives for this long is cut off, ms; 0: never. */
  bodyIdleTimeoutMs?: number;
}

/** Closes the connection of a request whose body went silent. */
function cutOff(request: FastifyRequest): () => void {
  return () => {
    request.log.info('upload body idle: connection closed');
    request.raw.destroy();
  };
}

/** Headers every preflight is told are allowed, besides those it asks for. */
const ALLOWED_HEADERS = ['authorization', 'content-type', 'uploadbatch', 'key', 'mimetype', 'deadline'];
/** A ctx is 60 or 62 characters: the mkfile body of the largest upload, with room for whitespace. */
const CTX_LIST_BYTES_PER_BLOCK = 64;
const FORM_LIMITS = { fields: 50, fieldSize: 64 * 1024, files: 4, parts: 60, headerPairs: 100 };

/** A non-negative integer from a path segment. */
function intParam(value: string | undefined, what: string): number {
  if (value === undefined || !/^\d{1,15}$/.test(value)) throw invalid(`The ${what} in the URL must be a non-negative integer, got "${value ?? ''}".`);
  return Number(value);
}

/** mkblk's optional blockOrder: 0-based, below the most blocks an upload may have. */
function orderParam(value: string | undefined, maxBlocks: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value) || Number(value) >= maxBlocks) {
    throw invalid(`The block order in the URL must be 0 to ${maxBlocks - 1} (0-based), got "${value}".`);
  }
  return Number(value);
}

function declaredLength(request: FastifyRequest): number | undefined {
  const raw = request.headers['content-length'];
  return raw !== undefined && /^\d{1,15}$/.test(raw) ? Number(raw) : undefined;
}

/** The request body as a stream that, when abandoned early, is left for draining (not destroyed). */
function bodyOf(request: FastifyRequest, idleMs: number): Body {
  return idleGuard(request.raw.iterator({ destroyOnReturn: false }), idleMs, cutOff(request));
}

function tokenOf(request: FastifyRequest): string {
  return tokenFromAuthorization(request.headers.authorization);
}

async function readText(body: Body, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new AppError('PAYLOAD_TOO_LARGE', `The ctx list is longer than ${limit} bytes.`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** One `name/<b64>` pair of what follows mkfile's size (`key/<b64>/mimeType/<b64>/x:var/<b64>...`), decoded. */
function pathValue(rest: string | undefined, name: string): string | undefined {
  const segments = (rest ?? '').split('/').filter((s) => s !== '');
  for (let i = 0; i + 1 < segments.length; i += 2) {
    if (segments[i] === name) return decodeUrlsafeBase64(segments[i + 1])?.toString('utf8');
  }
  return undefined;
}

/**
 * mkfile's media type: the path's `mimeType` (URL-safe base64, as Qiniu's), else the `MimeType`
 * header, as it is or in base64. The file's name decides the file's name: a `key` is read past.
 */
function mimeOfMkfile(rest: string | undefined, header: string | string[] | undefined): string | undefined {
  const fromPath = mediaTypeOf(pathValue(rest, 'mimeType'));
  if (fromPath || typeof header !== 'string') return fromPath;
  return mediaTypeOf(header) ?? mediaTypeOf(decodeUrlsafeBase64(header.trim())?.toString('utf8'));
}

/** Busboy's events as an async iterable of parts in arrival order (file streams flow on demand). */
class PartQueue implements AsyncIterable<FormPart> {
  private readonly items: FormPart[] = [];
  private wake: (() => void) | null = null;
  private ended = false;
  private error: unknown = null;

  push(part: FormPart): void {
    this.items.push(part);
    this.signal();
  }

  end(error: unknown = null): void {
    this.ended = true;
    this.error ??= error;
    this.signal();
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<FormPart> {
    for (;;) {
      if (this.error) throw this.error;
      const next = this.items.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

/** A file part's bytes; a form that is cut off or malformed is the client's error (400). */
async function* asUploadInvalid(stream: AsyncIterable<Uint8Array>): Body {
  try {
    yield* stream;
  } catch (err) {
    if (isAppError(err)) throw err;
    throw new AppError('UPLOAD_INVALID', `The multipart form is malformed or was cut off: ${(err as Error).message}`, { cause: err });
  }
}

async function* formParts(request: FastifyRequest, idleMs: number): AsyncGenerator<FormPart> {
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: request.headers, limits: FORM_LIMITS });
  } catch (err) {
    throw new AppError('UPLOAD_INVALID', 'A form upload must be multipart/form-data with fields "token" and "file".', { cause: err });
  }
  const queue = new PartQueue();
  parser.on('field', (name, value) => queue.push({ kind: 'field', name, value }));
  parser.on('file', (name, stream) => {
    // The part may wait in the queue while the token is checked: a form cut off meanwhile
    // errors the stream before anyone reads it, which must not be an uncaught 'error'.
    stream.on('error', () => undefined);
    queue.push({ kind: 'file', name, stream: idleGuard(asUploadInvalid(stream), idleMs, cutOff(request)) });
  });
  parser.on('close', () => queue.end());
  parser.on('error', (err) => queue.end(new AppError('UPLOAD_INVALID', `The multipart form is malformed: ${(err as Error).message}`, { cause: err })));
  request.raw.on('error', (err) => queue.end(err));
  request.raw.pipe(parser);
  try {
    yield* idleGuard(queue, idleMs, cutOff(request));
  } finally {
    request.raw.unpipe(parser);
  }
}

function sendError(request: FastifyRequest, reply: FastifyReply, code: ErrorCode, message: string): FastifyReply {
  // The client may still be sending: read the rest and drop it, so it gets this answer.
  if (!request.raw.readableEnded) request.raw.resume();
  const status = ERRORS[code];
  return reply.code(status).send({ error: message, code, status, success: false, message, result: null });
}

/** The answers of an upload call: its result, or an error under the code's HTTP status. */
function uploadResponses(result: typeof BlockAnswerSchema | typeof UploadAnswerSchema) {
  const failure = Type.Union([UploadFailureSchema], { description: "The error, under its code's HTTP status (Qiniu's `error` beside the envelope's fields)" });
  return { 200: Type.Union([result], { description: 'Done' }), '4xx': failure, '5xx': failure };
}

const UPLOAD_AUTH = "Authorization: `UpToken <upload token>` or the bare token (store/token's ticket).";

/** What each upload call is, for the API description; the bodies are streamed by the handlers, never validated. */
const DOCS = {
  form: {
    schema: { summary: 'Uploads a whole file as a multipart form', tags: ['upload'], security: [], response: uploadResponses(UploadAnswerSchema) },
    config: documentedOnly({
      description:
        'Fields in any order: `token` (the upload token), `file`, optional `mimeType`, `crc32` (decimal CRC-32 of the file) and `key` (read past). A `file` before `token` is held in memory up to 1 MiB.',
      body: Type.Object(
        { token: Type.String(), file: Binary, mimeType: Type.Optional(Type.String()), crc32: Type.Optional(Type.String()), key: Type.Optional(Type.String()) },
        { required: ['token', 'file'] },
      ),
      consumes: ['multipart/form-data'],
    }),
  },
  mkblk: {
    schema: { summary: 'Starts a block with its first chunk (or all of it)', tags: ['upload'], security: [], response: uploadResponses(BlockAnswerSchema) },
    config: documentedOnly({
      description: `${UPLOAD_AUTH} \`blockSize\`: the whole block's bytes (at most 32 MiB; all but the last block of a file a multiple of 4 MiB); \`blockOrder\`: its 0-based place in the file (0 to 9,999), optional.`,
      body: Binary,
      consumes: ['application/octet-stream'],
    }),
  },
  bput: {
    schema: { summary: 'Sends the next chunk of a block at `offset`', tags: ['upload'], security: [], response: uploadResponses(BlockAnswerSchema) },
    config: documentedOnly({
      description: `${UPLOAD_AUTH} \`ctx\`: the last answer's; \`offset\`: its offset.`,
      body: Binary,
      consumes: ['application/octet-stream'],
    }),
  },
  mkfile: {
    schema: { summary: 'Assembles the file from its blocks', tags: ['upload'], security: [], response: uploadResponses(UploadAnswerSchema) },
    config: documentedOnly({
      description: `${UPLOAD_AUTH} The body: the last \`ctx\` of every block, in file order, joined by \`,\`. After the size, \`/key/<base64url>\` (read past) and \`/mimeType/<base64url>\` may follow; or a \`MimeType\` header.`,
      body: Type.String(),
      consumes: ['text/plain'],
    }),
  },
  preflight: {
    schema: {
      summary: 'CORS preflight: any origin, POST, the headers asked for',
      tags: ['upload'],
      security: [],
      response: { 204: { description: 'Allowed', type: 'null' } },
    },
  },
};

export const uploadRoutes: FastifyPluginAsync<UploadRoutesOptions> = async (app: FastifyInstance, { service, bodyIdleTimeoutMs = 0 }) => {
  const idleMs = bodyIdleTimeoutMs;
  // Bodies are streamed by the handlers: no parser may read them first (this plugin only).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('Access-Control-Allow-Origin', '*');
    return payload;
  });

  app.setErrorHandler((err: FastifyError | AppError, request, reply) => {
    if (isAppError(err)) {
      if (err.status >= 500) request.log.error({ err }, err.message);
      return sendError(request, reply, err.code, err.message);
    }
    const fe = err as FastifyError;
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) return sendError(request, reply, 'BAD_REQUEST', fe.message);
    request.log.error({ err }, 'unhandled upload error');
    return sendError(request, reply, 'INTERNAL_ERROR', 'Something went wrong on the server; it has been logged.');
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, 'NOT_FOUND', `No such upload endpoint: ${request.method} ${request.url.split('?')[0]}.`),
  );

  // Any header a browser uploader adds (X-Requested-With, Content-MD5, x-qn-meta-*) is allowed:
  // the token authorises, never a cookie, so echoing the request costs nothing.
  const preflight = async (request: FastifyRequest, reply: FastifyReply) => {
    const requested = String(request.headers['access-control-request-headers'] ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h !== '');
    reply
      .code(204)
      .header('Access-Control-Allow-Methods', 'POST, OPTIONS')
      .header('Access-Control-Allow-Headers', [...new Set([...ALLOWED_HEADERS, ...requested])].join(', '))
      .header('Access-Control-Max-Age', '86400')
      .header('Vary', 'Access-Control-Request-Headers');
    return reply.send();
  };
  app.options('/', DOCS.preflight, preflight);
  app.options('/*', DOCS.preflight, preflight);

  const form = async (request: FastifyRequest) => service.formUpload(formParts(request, idleMs));
  app.post('/', DOCS.form, form);
  app.post('/file/upload', DOCS.form, form);

  const mkblk = async (request: FastifyRequest<{ Params: { blockSize: string; blockOrder?: string } }>) =>
    service.mkblk(
      tokenOf(request),
      intParam(request.params.blockSize, 'block size'),
      bodyOf(request, idleMs),
      declaredLength(request),
      orderParam(request.params.blockOrder, service.maxBlocks),
    );
  app.post('/mkblk/:blockSize', DOCS.mkblk, mkblk);
  app.post('/mkblk/:blockSize/:blockOrder', DOCS.mkblk, mkblk);

  app.post('/bput/:ctx/:offset', DOCS.bput, async (request: FastifyRequest<{ Params: { ctx: string; offset: string } }>) =>
    service.bput(tokenOf(request), request.params.ctx, intParam(request.params.offset, 'offset'), bodyOf(request, idleMs), declaredLength(request)),
  );

  const mkfile = async (request: FastifyRequest<{ Params: { fileSize: string; '*'?: string } }>) => {
    const token = tokenOf(request);
    await service.verify(token); // refuse before reading the body
    const fileSize = intParam(request.params.fileSize, 'file size');
    const mime = mimeOfMkfile(request.params['*'], request.headers.mimetype);
    const ctxList = await readText(bodyOf(request, idleMs), service.maxBlocks * CTX_LIST_BYTES_PER_BLOCK + 1024);
    return service.mkfile(token, fileSize, ctxList, { mime });
  };
  app.post('/mkfile/:fileSize', DOCS.mkfile, mkfile);
  app.post('/mkfile/:fileSize/*', DOCS.mkfile, mkfile);
};
