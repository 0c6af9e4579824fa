// Runs the command line as a user would: a child process, with its own config file and env.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Client, TestServer } from './server.js';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'src/cli/main.ts');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliSandbox {
  dir: string;
  /** The CLI's session file (OPENPAN_CLI_CONFIG). */
  configFile: string;
  run(args: string[], opts?: { env?: Record<string, string>; input?: string }): Promise<CliResult>;
  remove(): void;
}

/** A temporary home for one test: the CLI config and upload state live in `dir`. */
export function cliSandbox(baseEnv: Record<string, string> = {}): CliSandbox {
  const dir = mkdtempSync(join(tmpdir(), 'openpan-cli-'));
  const configFile = join(dir, 'cli.json');
  return {
    dir,
    configFile,
    run(args, opts = {}) {
      return runCli(args, { ...opts, env: { OPENPAN_CLI_CONFIG: configFile, HOME: dir, ...baseEnv, ...opts.env } });
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A new user `name` on `server` (password `<name>-Passw0rd`) and a sandbox whose CLI is logged in as that user. */
export async function loggedInCli(server: TestServer, name: string): Promise<{ cli: CliSandbox; user: Client }> {
  const password = `${name}-Passw0rd`;
  const user = await server.newUser(name, password);
  const cli = cliSandbox();
  const r = await cli.run(['login', server.url, '--name', name, '--password', password]);
  if (r.code !== 0) cli.remove();
  assert.equal(r.code, 0, r.stderr);
  return { cli, user };
}

export function runCli(args: string[], { env = {}, input }: { env?: Record<string, string>; input?: string } = {}): Promise<CliResult> {
  const clean = { ...process.env };
  for (const k of Object.keys(clean)) if (k.startsWith('OPENPAN_')) delete clean[k];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      cwd: ROOT,
      env: { ...clean, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}
