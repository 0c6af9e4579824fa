// Starts a real openpan on 127.0.0.1 with a random port and a temporary data dir, and gives
// a small 6pan client for it. Every test builds its own server and closes it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOpenPan, type OpenPan } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { databaseEnvFor, dropDatabaseFor } from './postgres.js';

export const ADMIN_PASSWORD = 'admin-Passw0rd';

export interface TestServer {
  url: string;
  dataDir: string;
  openpan: OpenPan;
  admin: Client;
  /** Registers (registration is open in tests) and logs in a new user. */
  newUser(name: string, password?: string): Promise<Client>;
  /** Stops the server, keeping the data dir (for restart tests). */
  stop(): Promise<void>;
  /** Stops the server and deletes its data dir. */
  close(): Promise<void>;
}

export interface ApiAnswer<T = any> {
  /** The envelope's status: 6pan answers an endpoint's errors over HTTP 200 with the status inside. */
  status: number;
  httpStatus: number;
  json: { status: number; success: boolean; code: string; message?: string; result: T; token?: string };
}

export class Client {
  constructor(
    readonly url: string,
    public token = '',
  ) {}

  /** Calls POST /v1/... and returns the HTTP status and the parsed envelope. */
  async raw<T = any>(path: string, body: unknown = {}, headers: Record<string, string> = {}): Promise<ApiAnswer<T>> {
    const res = await fetch(this.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...headers },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    const json = JSON.parse(text);
    const status = res.status === 200 && Number.isInteger(json?.status) ? json.status : res.status;
    return { status, httpStatus: res.status, json };
  }

  /** Calls POST /v1/... and returns `result`, throwing with the code on failure. */
  async call<T = any>(path: string, body: unknown = {}): Promise<T> {
    const { status, json } = await this.raw<T>(path, body);
    if (status !== 200 || !json.success) {
      const err = new Error(`${path} → ${status} ${json.code}: ${json.message}`) as Error & { code: string; status: number };
      err.code = json.code;
      err.status = status;
      throw err;
    }
    return json.result;
  }

  async login(name: string, password: string): Promise<this> {
    const { json } = await this.raw('/v1/user/login', { value: name, password });
    if (!json.success) throw new Error(`login ${name} → ${json.code}: ${json.message}`);
    this.token = json.token ?? '';
    return this;
  }
}

export async function startServer(env: Record<string, string> = {}, dataDir?: string): Promise<TestServer> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'openpan-test-'));
  // Tests never reach outside the machine: DHT off, whatever the environment says.
  const fullEnv = {
    ...process.env,
    OPENPAN_HOST: '127.0.0.1',
    OPENPAN_PORT: '0',
    OPENPAN_DATA_DIR: dir,
    OPENPAN_ADMIN_PASSWORD: ADMIN_PASSWORD,
    OPENPAN_REGISTRATION: 'open',
    OPENPAN_LOG_LEVEL: 'silent',
    OPENPAN_BT_DHT: '0',
    // The swarms, trackers and web seeds of tests live on loopback, which the address
    // policy refuses by default. Tests of the policy itself set their own allow-list.
    OPENPAN_FETCH_ALLOW: '127.0.0.0/8,::1',
    // OPENPAN_TEST_DIALECT=postgres: the state in a database of this data directory's own.
    ...(await databaseEnvFor(dir, env)),
    ...env,
  };
  const config = loadConfig(fullEnv);
  const openpan = await createOpenPan(config);
  await openpan.users.ensureAdmin(config.adminName, config.adminPassword);
  const url = await openpan.listen();
  const admin = await new Client(url).login('admin', ADMIN_PASSWORD);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await openpan.close();
  };
  return {
    url,
    dataDir: dir,
    openpan,
    admin,
    async newUser(name, password = `${name}-Passw0rd`) {
      await new Client(url).call('/v1/user/register', { name, password });
      return new Client(url).login(name, password);
    },
    stop,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
      await dropDatabaseFor(dir);
    },
  };
}
