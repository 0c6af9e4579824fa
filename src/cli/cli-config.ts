// Where the command line keeps its session (`openpan login`) and its resumable upload state.
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { readSetting, type Env } from '../config/env.js';
import { ApiClient } from './api-client.js';
import { CliError } from './errors.js';

export interface CliConfig {
  url: string;
  token?: string;
  name?: string;
}

export function cliConfigPath(env: Env = process.env): string {
  const configured = readSetting(env, 'OPENPAN_CLI_CONFIG');
  if (configured !== undefined) return resolve(configured);
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'openpan', 'cli.json');
}

/** Upload state files: `$OPENPAN_CLI_STATE_DIR`, beside an explicit config, or `~/.cache/openpan/uploads`. */
export function uploadStateDir(env: Env = process.env): string {
  const configured = readSetting(env, 'OPENPAN_CLI_STATE_DIR');
  if (configured !== undefined) return resolve(configured);
  const config = readSetting(env, 'OPENPAN_CLI_CONFIG');
  if (config !== undefined) return join(dirname(resolve(config)), 'openpan-uploads');
  const base = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'openpan', 'uploads');
}

export function readCliConfig(env: Env = process.env): CliConfig | null {
  const file = cliConfigPath(env);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const cfg = JSON.parse(text) as Partial<CliConfig>;
    if (typeof cfg.url !== 'string') throw new Error('no "url"');
    return { url: cfg.url, token: typeof cfg.token === 'string' ? cfg.token : undefined, name: typeof cfg.name === 'string' ? cfg.name : undefined };
  } catch (err) {
    throw new CliError(`${file} is not a valid openpan CLI config (${(err as Error).message}); run "openpan login" again`);
  }
}

/** Writes the config readable by its owner only (it holds a bearer token). */
export function writeCliConfig(cfg: CliConfig, env: Env = process.env): string {
  const file = cliConfigPath(env);
  writeFileAtomic(file, JSON.stringify(cfg, null, 2) + '\n');
  return file;
}

/** Writes through a temporary file and a rename, mode 0600, so a crash never leaves half a file. */
export function writeFileAtomic(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** An API client with the saved session, or a clear error when there is none. */
export function sessionClient(env: Env = process.env): { client: ApiClient; config: CliConfig } {
  const cfg = readCliConfig(env);
  if (!cfg?.token) throw new CliError('not logged in: run "openpan login URL" first');
  return { client: new ApiClient(cfg.url, cfg.token), config: cfg };
}
