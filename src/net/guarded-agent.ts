import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { isIP } from 'node:net';
import type { AddressPolicy } from './address-policy.js';
import { forbidden, policyLookup, refusedPeer } from './safe-fetch.js';

// Connection pools for HTTP clients openpan does not drive itself — the BitTorrent library's
// tracker announces and web-seed requests, which follow redirects on their own. Every
// connection such a client opens is judged by the address policy: a literal address before any
// packet is sent, a name through policyLookup (the connect goes to exactly the checked
// addresses: no DNS-rebinding window), and the connected peer before the request is written.
// Redirects are new connections through the same pool, so each hop is judged too.

type Callback = (err: Error | null, socket?: Duplex) => void;
type ConnectOptions = { host?: string | null; hostname?: string | null; lookup?: unknown };

/** Wraps an agent's own createConnection with the three checks. */
function guard(policy: AddressPolicy, create: (options: ConnectOptions, cb: Callback) => Duplex | undefined | null) {
  return (options: ConnectOptions, cb: Callback): Duplex | undefined => {
    const host = (options.host ?? options.hostname ?? '').replace(/^\[|\]$/g, '');
    if (isIP(host) !== 0) {
      const verdict = policy.check(host);
      if (!verdict.ok) {
        cb(forbidden(verdict.reason));
        return undefined;
      }
    }
    const socket = create({ ...options, lookup: policyLookup(policy) }, cb) as Socket | undefined | null;
    if (socket == null) return undefined;
    // Registered before the client's own listeners: the peer is judged before the request is written.
    socket.once('connect', () => {
      const refused = refusedPeer(policy, socket);
      if (refused !== null) socket.destroy(refused);
    });
    return socket;
  };
}

export interface GuardedAgents {
  http: http.Agent;
  https: https.Agent;
}

/** An http and an https agent whose every connection the policy judges. */
export function guardedAgents(policy: AddressPolicy): GuardedAgents {
  const plain = new http.Agent({ keepAlive: true });
  const secure = new https.Agent({ keepAlive: true });
  const agents = [plain, secure] as unknown as Array<{ createConnection: (o: ConnectOptions, cb: Callback) => Duplex | undefined }>;
  for (const agent of agents) agent.createConnection = guard(policy, agent.createConnection.bind(agent));
  return { http: plain, https: secure };
}

/** Installed default agents, latest last; the process's own defaults come back when none is left. */
const installed: GuardedAgents[] = [];
const processDefaults = { http: http.globalAgent, https: https.globalAgent };

/**
 * Makes `agents` the process's default agents (what a request without an agent of its own
 * uses) until the returned function removes them again; then the latest agents still installed,
 * or the process's own, are the defaults. For libraries that give no way to pass an agent
 * (WebTorrent's web seeds).
 */
export function installDefaultAgents(agents: GuardedAgents): () => void {
  installed.push(agents);
  useDefaults(agents);
  return () => {
    const at = installed.indexOf(agents);
    if (at === -1) return;
    installed.splice(at, 1);
    useDefaults(installed.at(-1) ?? processDefaults);
  };
}

function useDefaults(agents: { http: http.Agent; https: https.Agent }): void {
  http.globalAgent = agents.http;
  https.globalAgent = agents.https;
}
