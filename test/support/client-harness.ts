// What the client conformance suites share: a server with accounts made as the web UI makes
// them, a way to send a request exactly as a given client sends it (its token header, its body
// encoding, its value types), and the type rules of each client's JSON layer, so an answer is
// checked the way the client itself would read it.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startServer, type TestServer } from './server.js';

export interface WireServer {
  /** Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  url: string;
  server: TestServer;
  /** Creates an account as the web UI and the CLI do (the plain password). */
  createUser(name: string, password: string): Promise<void>;
  close(): Promise<void>;
}

export async function startWireServer(env: Record<string, string> = {}): Promise<WireServer> {
  const server = await startServer(env);
  return {
    url: server.url,
    server,
    async createUser(name, password) {
      await server.openpan.users.create(name, password);
    },
    close: () => server.close(),
  };
}

/** What 6pan's clients send as the password: the md5 of what the user typed, in lower-case hex. */
export function md5hex(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

export interface WireRequest {
  path: string;
  method?: 'POST' | 'GET' | 'OPTIONS';
  headers?: Record<string, string>;
  /** A JSON body (`Content-Type: application/json`). */
  json?: unknown;
  /** A form body (`Content-Type: application/x-www-form-urlencoded`). */
  form?: Record<string, string | number | boolean>;
  /** Query string parameters. */
  query?: Record<string, string>;
}

export interface WireAnswer {
  httpStatus: number;
  headers: Headers;
  /** The parsed JSON body, or undefined when the body is not JSON. */
  body: any;
  text: string;
}

/** Sends one request as a client sends it: nothing is added that the request does not name. */
export async function send(base: string, req: WireRequest): Promise<WireAnswer> {
  const url = new URL(base + req.path);
  for (const [k, v] of Object.entries(req.query ?? {})) url.searchParams.set(k, v);
  const headers: Record<string, string> = { ...(req.headers ?? {}) };
  let body: string | undefined;
  if (req.json !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(req.json);
  } else if (req.form !== undefined) {
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
    body = new URLSearchParams(Object.entries(req.form).map(([k, v]): [string, string] => [k, String(v)])).toString();
  }
  const res = await fetch(url, { method: req.method ?? 'POST', headers, body });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { httpStatus: res.status, headers: res.headers, body: parsed, text };
}

/**
 * The JSON layer a client reads answers with, and what it does with a field:
 * - `gson`: Gson into non-null Kotlin properties. A missing or null field becomes null in a
 *   non-null property and crashes on first use; numbers may come as numeric strings and strings
 *   as numbers (Gson converts both); an object where an array is expected throws.
 * - `cpprest`: cpprestsdk's `at()` throws on a missing field, `as_string()`/`as_integer()`/
 *   `as_bool()` throw on any other JSON type (null included).
 * - `qt`: `QJsonValue::toString()`/`toInt()`/`toBool()` answer a default for a missing field or a
 *   wrong type: no crash, but wrong data, so the type must be exact.
 * - `newtonsoft`: Json.NET into C# classes: numeric strings convert to numbers, null into a
 *   non-nullable value type throws.
 * - `js`: a JavaScript front end; the type must be exact.
 */
export type JsonLayer = 'gson' | 'cpprest' | 'qt' | 'newtonsoft' | 'js';

/**
 * What a client reads from an answer. Scalars: `'string'`, `'int'` (an integral number),
 * `'number'`, `'bool'`, `'any'` (present, any type but null). A `?` suffix (`'string?'`) means
 * the client copes with the field being absent or null. `[shape]` is an array of that shape;
 * an object lists the fields read (others are ignored).
 */
export type Shape = string | [Shape] | { [field: string]: Shape };

function scalarMatches(layer: JsonLayer, kind: string, value: unknown): boolean {
  const lenient = layer === 'gson' || layer === 'newtonsoft';
  switch (kind) {
    case 'any':
      return value !== null && value !== undefined;
    case 'string':
      return typeof value === 'string' || (layer === 'gson' && typeof value === 'number');
    case 'int':
      return (typeof value === 'number' && Number.isInteger(value)) || (lenient && typeof value === 'string' && /^-?\d+$/.test(value));
    case 'number':
      return typeof value === 'number' || (lenient && typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)));
    case 'bool':
      return typeof value === 'boolean' || (layer === 'gson' && (value === 'true' || value === 'false'));
    default:
      throw new Error(`unknown shape kind "${kind}"`);
  }
}

/** Asserts that `value` reads as `shape` under the client's JSON layer; `where` names it in failures. */
export function assertReads(layer: JsonLayer, value: unknown, shape: Shape, where = 'answer'): void {
  if (typeof shape === 'string') {
    const optional = shape.endsWith('?');
    const kind = optional ? shape.slice(0, -1) : shape;
    if (value === undefined || value === null) {
      assert.ok(optional, `${where}: ${layer} reads a ${kind} here, the answer has ${value === null ? 'null' : 'nothing'}`);
      return;
    }
    assert.ok(scalarMatches(layer, kind, value), `${where}: ${layer} reads a ${kind} here, the answer has ${JSON.stringify(value)}`);
    return;
  }
  if (Array.isArray(shape)) {
    assert.ok(Array.isArray(value), `${where}: ${layer} reads an array here, the answer has ${JSON.stringify(value)?.slice(0, 200)}`);
    value.forEach((item, i) => {
      assertReads(layer, item, shape[0], `${where}[${i}]`);
    });
    return;
  }
  assert.ok(
    value !== null && typeof value === 'object' && !Array.isArray(value),
    `${where}: ${layer} reads an object here, the answer has ${JSON.stringify(value)?.slice(0, 200)}`,
  );
  for (const [field, inner] of Object.entries(shape)) {
    assertReads(layer, (value as Record<string, unknown>)[field], inner, `${where}.${field}`);
  }
}

/** The 6pan envelope of a successful call, as every client reads it; returns `result`. */
export function assertOk(layer: JsonLayer, answer: WireAnswer, where: string): any {
  assert.equal(answer.httpStatus, 200, `${where}: HTTP ${answer.httpStatus} ${answer.text.slice(0, 300)}`);
  assertReads(layer, answer.body, { status: 'int', success: 'bool', code: 'string' }, where);
  assert.equal(answer.body.success, true, `${where}: ${answer.text.slice(0, 300)}`);
  return answer.body.result;
}

/** The 6pan envelope of an endpoint's error: HTTP 200, `success: false`, the status and code in the body. */
export function assertFailed(layer: JsonLayer, answer: WireAnswer, where: string, expected: { status: number; code: string }): void {
  assert.equal(answer.httpStatus, 200, `${where}: errors travel over HTTP 200, got ${answer.httpStatus}`);
  assertReads(layer, answer.body, { status: 'int', success: 'bool', code: 'string', message: 'string' }, where);
  assert.equal(answer.body.success, false, where);
  assert.equal(answer.body.status, expected.status, `${where}: ${answer.text.slice(0, 300)}`);
  assert.equal(answer.body.code, expected.code, `${where}: ${answer.text.slice(0, 300)}`);
}
