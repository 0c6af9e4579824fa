// The leecher side of bench/bt-download.ts, in its own process so that its peak RSS and CPU
// time are the engine's alone. Downloads argv[2] (a .torrent path) into argv[3] with openpan's
// WebTorrent engine and prints one JSON line: seconds from start() to done, peak RSS, CPU time.
// Usage: node --import tsx bench/bt-leech.ts FILE.torrent DIR
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { WebTorrentEngine } from '../src/engines/index.js';

const [torrentPath, dir] = process.argv.slice(2);
const torrent = await readFile(torrentPath);
const engine = new WebTorrentEngine({ dht: false, pex: false, maxConns: 50 });
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
const handle = engine.start({ id: 'bench', dir, source: { kind: 'torrent', torrent } });
let firstByteMs: number | null = null;
const poll = setInterval(() => {
  if (firstByteMs === null && handle.status().downloaded > 0) firstByteMs = Number(process.hrtime.bigint() - t0) / 1e6;
}, 20);
const final = await handle.settled;
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
clearInterval(poll);
const cpu = process.cpuUsage(cpu0);
const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
await engine.close();
process.stdout.write(
  JSON.stringify({
    state: final.state,
    error: final.error,
    bytes: final.downloaded,
    seconds,
    firstByteMs,
    peakRssMiB: hwm ? Number(hwm[1]) / 1024 : null,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    path: final.files[0]?.path,
  }) + '\n',
);
