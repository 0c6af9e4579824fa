// A user of a test server with an app password, and WebDAV requests made as them.
import type { TestServer } from './server.js';

export interface DavUser {
  name: string;
  password: string;
  /** The WebDAV root, with its trailing slash. */
  root: string;
  authorization: string;
  /** A request to `path` below the WebDAV root (already percent-encoded), as this user. */
  request(method: string, path: string, init?: { headers?: Record<string, string>; body?: string | Uint8Array }): Promise<Response>;
}

export async function davUser(s: TestServer, name: string): Promise<DavUser> {
  const client = await s.newUser(name);
  const { password } = await client.call('/v1/user/appPassword/create', { name: 'dav' });
  const authorization = `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`;
  const root = `${s.url}/dav/`;
  return {
    name,
    password,
    root,
    authorization,
    request: (method, path, init = {}) =>
      fetch(root + path.replace(/^\//, ''), { method, headers: { authorization, ...init.headers }, body: init.body, redirect: 'manual' }),
  };
}
