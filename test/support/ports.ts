import { createServer, type AddressInfo } from 'node:net';

/** A TCP port that was free a moment ago (for programs that need a port number up front). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((res) => server.close(() => res()));
  return port;
}
