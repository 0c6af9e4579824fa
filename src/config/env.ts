import { KindGuard, type TSchema } from '@sinclair/typebox';
import { parseCidr } from '../net/index.js';
import { ConfigSchema, SETTING_NAMES, type SettingName, type Settings } from './schema.js';

// Reads environment variables through the schema (schema.ts): an unset or blank one takes its
// default, any other is converted to its type and checked against its limits. A value that is
// not valid stops the caller with an error that names the variable and what it must be.

export type Env = Record<string, string | undefined>;

/** Entry formats of lists: each checks one entry, throwing with what is wrong with it. */
const FORMATS: Record<string, (entry: string) => void> = {
  cidr: (entry) => void parseCidr(entry),
};

const OFF = ['0', 'false', 'off', 'no'];
const ON = ['1', 'true', 'on', 'yes'];

function integerRule(schema: TSchema): string {
  const min = schema.minimum ?? 0;
  if (schema.maximum !== undefined) return `an integer from ${min} to ${schema.maximum}`;
  return min >= 1 ? 'a positive integer' : 'a non-negative integer';
}

function fromText(name: string, schema: TSchema, raw: string): unknown {
  const invalid = (rule: string) => new Error(`${name} must be ${rule}, got ${JSON.stringify(raw)}`);
  if (KindGuard.IsInteger(schema)) {
    const n = Number(raw);
    const min = schema.minimum ?? 0;
    if (!Number.isSafeInteger(n) || n < min || (schema.maximum !== undefined && n > schema.maximum)) throw invalid(integerRule(schema));
    return n;
  }
  if (KindGuard.IsNumber(schema)) {
    const n = Number(raw);
    if (!Number.isFinite(n) || n < (schema.minimum ?? 0)) throw invalid('a non-negative number');
    return n;
  }
  if (KindGuard.IsBoolean(schema)) {
    const word = raw.trim().toLowerCase();
    if (OFF.includes(word)) return false;
    if (schema.lenient === true || ON.includes(word)) return true;
    throw invalid('0 or 1');
  }
  if (KindGuard.IsUnion(schema)) {
    const allowed = schema.anyOf.filter(KindGuard.IsLiteral).map((s) => s.const);
    const word = raw.trim().toLowerCase();
    const found = allowed.find((v) => String(v) === word);
    if (found === undefined) throw invalid(allowed.map((v) => JSON.stringify(v)).join(' or '));
    return found;
  }
  if (KindGuard.IsArray(schema)) {
    const entries = (schema.separator === ',' ? raw.split(',').map((e) => e.trim()) : raw.split(/[\s,]+/)).filter((e) => e !== '');
    const check = typeof schema.items.format === 'string' ? FORMATS[schema.items.format] : undefined;
    if (check !== undefined) {
      for (const entry of entries) {
        try {
          check(entry);
        } catch (err) {
          throw new Error(`${name}: ${(err as Error).message}`);
        }
      }
    }
    return entries;
  }
  if (KindGuard.IsString(schema)) return raw;
  throw new Error(`${name}: no reader for its type`);
}

/** A schema's default (a copy: lists are not shared), or undefined when it has none. */
export function defaultOf<K extends SettingName>(name: K): Settings[K] {
  const value: unknown = ConfigSchema.properties[name].default;
  return (Array.isArray(value) ? [...value] : value) as Settings[K];
}

/** One variable, converted and checked; its default when unset or blank. */
export function readSetting<K extends SettingName>(env: Env, name: K): Settings[K] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return defaultOf(name);
  return fromText(name, ConfigSchema.properties[name], raw) as Settings[K];
}

/** Every variable; throws at the first that is not valid. */
export function readSettings(env: Env): Settings {
  const settings: Partial<Record<SettingName, unknown>> = {};
  for (const name of SETTING_NAMES) {
    const value = readSetting(env, name);
    if (value !== undefined) settings[name] = value;
  }
  return settings as Settings;
}
