// A real openpan server in a child process (src/main.ts through tsx), for tests that must kill
// it hard (kill -9) or run an outside client against it exactly as an operator would.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './ports.js';
import { databaseEnvFor } from './postgres.js';

export interface ServerProcess {
  url: string;
  dataDir: string;
  proc: ChildProcess;
  /** Everything the server wrote to stdout and stderr so far. */
  output(): string;
  /** SIGKILL: no shutdown code runs, as in a crash or an OOM kill. */
  kill9(): Promise<void>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
}

export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'openpan-proc-'));
}

export function removeDataDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Starts src/main.ts on `dataDir`, on a free port unless `env` names OPENPAN_PORT. */
export async function spawnServer(dataDir: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const port = env.OPENPAN_PORT !== undefined ? Number(env.OPENPAN_PORT) : await freePort();
  const databaseEnv = await databaseEnvFor(dataDir, env);
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: resolve(import.meta.dirname, '../..'),
    env: {
      ...process.env,
      OPENPAN_HOST: '127.0.0.1',
      OPENPAN_PORT: String(port),
      OPENPAN_DATA_DIR: dataDir,
      OPENPAN_ADMIN_NAME: 'admin',
      OPENPAN_ADMIN_PASSWORD: 'secret',
      OPENPAN_REGISTRATION: 'open',
      OPENPAN_LOG_LEVEL: 'warn',
      OPENPAN_BT_DHT: '0',
      // The swarms, trackers and web seeds of tests live on loopback, which the address
      // policy refuses by default. Tests of the policy itself set their own allow-list.
      OPENPAN_FETCH_ALLOW: '127.0.0.0/8,::1',
      // OPENPAN_TEST_DIALECT=postgres: the state in a database of this data directory's own.
      ...databaseEnv,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => {
    output += d.toString();
    process.stderr.write(d);
  });
  await new Promise<void>((ok, fail) => {
    const onExit = (code: number | null) => fail(new Error(`server exited with ${code} before listening`));
    proc.once('exit', onExit);
    proc.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('listening')) {
        proc.off('exit', onExit);
        ok();
      }
    });
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    url: `http://127.0.0.1:${port}`,
    dataDir,
    proc,
    output: () => output,
    async kill9() {
      proc.kill('SIGKILL');
      await exited;
    },
    async stop() {
      proc.kill('SIGTERM');
      await exited;
    },
  };
}
