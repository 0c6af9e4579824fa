// How the gateway read a body, applied before validation so route schemas stay exact: numbers
// come as numbers or numeric strings and a bad number means "not given" (the route's default);
// flags come as booleans, 0/1, "true"/"yes"/"1"; an empty string
// in an optional field means "not given" (`uuid: ""` falls back to `path`); form bodies name
// arrays `f[]` or repeat the key, and a single value stands for a one-element array.
import type { TSchema } from '@sinclair/typebox';

type Json = unknown;

interface SchemaNode {
  type?: string | string[];
  const?: Json;
  anyOf?: SchemaNode[];
  items?: SchemaNode;
  properties?: Record<string, SchemaNode>;
  required?: string[];
}

function kinds(node: SchemaNode): Set<string> {
  const out = new Set<string>();
  const visit = (n: SchemaNode) => {
    if (n.anyOf) n.anyOf.forEach(visit);
    if (n.const !== undefined) out.add(typeof n.const === 'number' ? (Number.isInteger(n.const) ? 'integer' : 'number') : typeof n.const);
    const t = n.type;
    if (Array.isArray(t)) for (const x of t) out.add(x);
    else if (t) out.add(t);
  };
  visit(node);
  return out;
}

function arrayItems(node: SchemaNode): SchemaNode | undefined {
  if (node.type === 'array') return node.items;
  return node.anyOf?.map(arrayItems).find((x) => x !== undefined);
}

const INTEGER = /^\s*-?\d{1,15}\s*$/;
const NUMBER = /^\s*-?\d+(\.\d+)?\s*$/;
const TRUE = new Set(['1', 'true', 'yes']);
const FALSE = new Set(['0', 'false', 'no', '']);

const NOT_GIVEN = Symbol('not given');

/** A flag as the gateway read it (`override`, `deleteFiles`): true, 1, "1", "true" or "yes". */
export function isOn(value: unknown): boolean {
  return value === true || value === 1 || (typeof value === 'string' && TRUE.has(value.toLowerCase()));
}

/** One value coerced towards `node`; NOT_GIVEN when the gateway would have used the default. */
function coerceValue(node: SchemaNode, value: Json, optional: boolean): Json | typeof NOT_GIVEN {
  const k = kinds(node);
  if (value === null) return k.has('null') ? null : optional ? NOT_GIVEN : value;
  if (typeof value === 'string') {
    if (value === '' && optional) return NOT_GIVEN;
    // A field that takes a number or a word (`orderBy: 2` or `"name"`) reads digits as the number.
    if (k.has('integer') && INTEGER.test(value)) return Number(value);
    if (k.has('string')) return value;
    if (k.has('number') && NUMBER.test(value)) return Number(value);
    if (k.has('boolean')) {
      const lower = value.trim().toLowerCase();
      if (TRUE.has(lower)) return true;
      if (FALSE.has(lower)) return false;
    }
    const items = arrayItems(node);
    if (items && k.has('array')) return [coerceValue(items, value, false)];
    return optional ? NOT_GIVEN : value;
  }
  if (typeof value === 'number') {
    if ((k.has('integer') && Number.isInteger(value)) || k.has('number')) return value;
    if (k.has('boolean')) return value !== 0;
    if (k.has('integer') && Number.isFinite(value)) return Math.trunc(value);
    // A number where only text goes (`path: 5`) is a client's mistake: validation names it.
    return value;
  }
  if (typeof value === 'boolean') {
    if (k.has('boolean')) return value;
    if (k.has('integer') || k.has('number')) return value ? 1 : 0;
    if (k.has('string')) return String(value);
    return optional ? NOT_GIVEN : value;
  }
  if (Array.isArray(value)) {
    const items = arrayItems(node);
    if (!items) return optional ? NOT_GIVEN : value;
    return value.map((v) => {
      const c = coerceValue(items, v, false);
      return c === NOT_GIVEN ? v : c;
    });
  }
  return value;
}

/** Folds a form body's `f[]` keys into `f` (repeated keys already arrive as arrays). */
function foldFormArrays(body: Record<string, Json>): void {
  for (const key of Object.keys(body)) {
    if (!key.endsWith('[]')) continue;
    const name = key.slice(0, -2);
    const v = body[key];
    delete body[key];
    const prior = body[name];
    const list = Array.isArray(v) ? v : [v];
    body[name] = prior === undefined ? list : [...(Array.isArray(prior) ? prior : [prior]), ...list];
  }
}

/** Rewrites `body` in place as the gateway would have read it for a route of `schema`. */
export function coerceBody(schema: TSchema, body: Json): void {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return;
  const record = body as Record<string, Json>;
  foldFormArrays(record);
  const node = schema as SchemaNode;
  if (!node.properties) return;
  const required = new Set(node.required ?? []);
  for (const [name, prop] of Object.entries(node.properties)) {
    if (!(name in record) || record[name] === undefined) continue;
    const c = coerceValue(prop, record[name], !required.has(name));
    if (c === NOT_GIVEN) delete record[name];
    else record[name] = c;
  }
}
