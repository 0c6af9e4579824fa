// qbittorrent-nox (libtorrent) as the reference BitTorrent client of the benchmarks, driven
// through its WebUI API with a throw-away profile: loopback only; no DHT, PEX, LSD, UPnP; TCP
// only; no queueing; no WebUI login from localhost. Also the process helpers the BitTorrent
// benchmarks share (CPU time, peak RSS, waiting for an exit).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../test/support/swarm.js';

export interface QbtResult {
  /** Seconds from the add call until complete; null when it did not complete within the cap. */
  seconds: number | null;
  /** Elapsed seconds when it gave up (the cap) or completed. */
  elapsed: number;
  /** qBittorrent's own progress (0–1) and state at the end. */
  progress: number;
  state: string;
  peakRssMiB: number | null;
  cpuSeconds: number | null;
}

/** null when qbittorrent-nox can be started; else why not. */
export async function qbittorrentProblem(): Promise<string | null> {
  const child = spawn('qbittorrent-nox', ['--version'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const ok = await new Promise<boolean>((res) => {
    child.once('error', () => res(false));
    child.once('exit', (code) => res(code === 0));
  });
  return ok ? null : 'qbittorrent-nox is not installed (apt-get install -y qbittorrent-nox)';
}

/**
 * Starts qbittorrent-nox with a fresh profile beside `dir`, adds the torrent (saving into `dir`)
 * and polls every 20 ms until it is complete (progress 1, no longer checking or downloading), or
 * until `capMs` has passed. Stops seeding (deletes the torrent, keeping its files) and exits
 * qbittorrent-nox before returning.
 */
export async function runQbittorrent(torrent: Buffer, infoHash: string, dir: string, opts: { capMs?: number } = {}): Promise<QbtResult> {
  const capMs = opts.capMs ?? Infinity;
  const profile = join(dir, '..', `qbt-profile-${Date.now()}`);
  const [webPort, btPort] = [await freePort(), await freePort()];
  await mkdir(join(profile, 'qBittorrent', 'config'), { recursive: true });
  await writeFile(
    join(profile, 'qBittorrent', 'config', 'qBittorrent.conf'),
    [
      '[LegalNotice]',
      'Accepted=true',
      '',
      '[BitTorrent]',
      'Session\\DHTEnabled=false',
      'Session\\PeXEnabled=false',
      'Session\\LSDEnabled=false',
      `Session\\Port=${btPort}`,
      'Session\\Interface=lo',
      'Session\\InterfaceName=lo',
      'Session\\QueueingSystemEnabled=false',
      // aria2 has no uTP: libtorrent would try it first and wait for a timeout before TCP.
      'Session\\BTProtocol=TCP',
      // Every peer here is 127.0.0.1: libtorrent would otherwise keep one peer per IP address,
      // sometimes the stale one the previous leecher left in the tracker.
      'Session\\MultiConnectionsPerIp=true',
      `Session\\DefaultSavePath=${dir}`,
      '',
      '[Network]',
      'PortForwardingEnabled=false',
      '',
      '[Preferences]',
      'WebUI\\Address=127.0.0.1',
      `WebUI\\Port=${webPort}`,
      'WebUI\\LocalHostAuth=false',
      'WebUI\\CSRFProtection=false',
      'WebUI\\HostHeaderValidation=false',
      'WebUI\\UseUPnP=false',
      'Connection\\UPnP=false',
      '',
    ].join('\n'),
  );
  const child = spawn('qbittorrent-nox', [`--profile=${profile}`], { stdio: ['ignore', 'ignore', 'ignore'] });
  const api = `http://127.0.0.1:${webPort}/api/v2`;
  try {
    for (let i = 0; ; i++) {
      const ok = await fetch(`${api}/app/version`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (i > 200 || child.exitCode !== null) throw new Error('qbittorrent-nox: the WebUI did not come up');
      await sleep(50);
    }
    const prefs = (await (await fetch(`${api}/app/preferences`)).json()) as Record<string, unknown>;
    for (const [key, want] of Object.entries({
      dht: false,
      pex: false,
      lsd: false,
      upnp: false,
      bittorrent_protocol: 1,
      enable_multi_connections_from_same_ip: true,
    })) {
      if (prefs[key] !== want) throw new Error(`qbittorrent-nox: preference ${key} is ${String(prefs[key])}, not ${String(want)}`);
    }
    const cpu0 = cpuSeconds(child.pid!);
    const t0 = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - t0) / 1e9;
    const form = new FormData();
    form.append('torrents', new Blob([torrent]), 'bench.torrent');
    form.append('savepath', dir);
    const added = await fetch(`${api}/torrents/add`, { method: 'POST', body: form });
    if (!added.ok) throw new Error(`qbittorrent-nox: add answered ${added.status}`);
    let polls = 0;
    let last: { progress: number; state: string } = { progress: 0, state: 'not added yet' };
    let seconds: number | null = null;
    for (;;) {
      const info = (await (await fetch(`${api}/torrents/info?hashes=${infoHash}`)).json()) as Array<{ progress: number; state: string }>;
      const t = info[0];
      if (t !== undefined) last = t;
      if (t !== undefined && t.progress === 1 && !t.state.startsWith('checking') && t.state !== 'downloading' && t.state !== 'metaDL') {
        seconds = elapsed();
        break;
      }
      if (t?.state === 'error' || t?.state === 'missingFiles') throw new Error(`qbittorrent-nox: torrent state ${t.state}`);
      if (elapsed() * 1000 > capMs) break;
      if (process.env.BENCH_DEBUG && ++polls % 100 === 0) {
        const tr = await (await fetch(`${api}/torrents/trackers?hash=${infoHash}`)).json();
        const peers = await (await fetch(`${api}/sync/torrentPeers?hash=${infoHash}`)).json();
        console.error('qbt', t?.state, t?.progress, JSON.stringify(tr), JSON.stringify(peers).slice(0, 600));
      }
      await sleep(20);
    }
    const took = elapsed();
    const cpu = cpuSeconds(child.pid!) - cpu0;
    const peak = peakRss(child.pid!);
    // Stop seeding (and close its files) before the caller reads them.
    await fetch(`${api}/torrents/delete`, { method: 'POST', body: new URLSearchParams({ hashes: infoHash, deleteFiles: 'false' }) });
    return { seconds, elapsed: took, progress: last.progress, state: last.state, peakRssMiB: peak, cpuSeconds: cpu };
  } finally {
    child.kill('SIGTERM');
    await exited(child);
    await rm(profile, { recursive: true, force: true });
  }
}

/** utime + stime of a process, in seconds. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // fields 14 and 15 of stat(5); USER_HZ = 100
}

/** Peak RSS (VmHWM: the whole life of the process so far), MiB; null when unreadable. */
export function peakRss(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((res) => child.once('exit', (code) => res(code)));
}
