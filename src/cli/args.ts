// The command line's small pure pieces: option parsing and size parsing. No I/O here.

/** A mistake in how the command was called: the CLI prints it with the command's usage, exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** One-letter alias, without the dash: `o` for `-o`. */
  short?: string;
  /** Placeholder for help text: `--to PATH`. */
  value?: string;
  description: string;
}

export type OptionSpecs = Record<string, OptionSpec>;

export type OptionValues<S extends OptionSpecs> = {
  [K in keyof S]?: S[K]['type'] extends 'boolean' ? boolean : string;
};

export interface ParsedArgs<S extends OptionSpecs> {
  positionals: string[];
  options: OptionValues<S>;
  /** `--help` or `-h` appeared before `--`. */
  help: boolean;
}

/**
 * Parses `argv` (without the command words) against `specs`:
 * `--name value`, `--name=value`, `-n value`, `-nvalue`, boolean `--flag` / `-f`, `--` ends options.
 * A single `-` is a positional (stdin/stdout by convention). The last occurrence of an option wins.
 */
export function parseArgs<S extends OptionSpecs>(argv: readonly string[], specs: S): ParsedArgs<S> {
  const options: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  let help = false;
  const byShort = new Map<string, string>();
  for (const [name, spec] of Object.entries(specs)) if (spec.short) byShort.set(spec.short, name);

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq === -1 ? undefined : arg.slice(eq + 1);
      if (!Object.hasOwn(specs, name)) throw new UsageError(`unknown option --${name}`);
    } else if (arg.startsWith('-') && arg.length > 1) {
      const long = byShort.get(arg[1]);
      if (long === undefined) throw new UsageError(`unknown option -${arg[1]}`);
      name = long;
      if (arg.length > 2) inline = arg[2] === '=' ? arg.slice(3) : arg.slice(2);
    } else {
      positionals.push(arg);
      continue;
    }
    const spec = specs[name];
    if (spec.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`option --${name} takes no value`);
      options[name] = true;
      continue;
    }
    if (inline !== undefined) {
      options[name] = inline;
      continue;
    }
    if (i + 1 >= argv.length) throw new UsageError(`option --${name} needs a value`);
    options[name] = argv[++i];
  }
  return { positionals, options: options as OptionValues<S>, help };
}

/** A positive integer option within [min, max], or `fallback` when absent. */
export function parseIntOption(raw: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new UsageError(`--${name} must be a whole number, got ${JSON.stringify(raw)}`);
  const n = Number(raw);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/**
 * Parses a byte count: `1048576`, `500M`, `10G`, `1.5T`, `10GB`, `10GiB`, `64k` (binary units,
 * case-insensitive, `B` alone allowed). Fractions are rounded down to whole bytes.
 */
export function parseSize(raw: string): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([kmgtp]?)(i?b)?\s*$/i.exec(raw);
  if (!m || (m[3] && m[3].toLowerCase() === 'ib' && !m[2])) {
    throw new UsageError(`not a size: ${JSON.stringify(raw)} (use bytes, or a number with K, M, G, T: 500M, 10G, 1T)`);
  }
  const bytes = Math.floor(Number(m[1]) * UNITS[m[2].toLowerCase()]);
  if (!Number.isSafeInteger(bytes)) throw new UsageError(`size too large: ${JSON.stringify(raw)}`);
  return bytes;
}
