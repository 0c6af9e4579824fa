// Time to parse a .torrent of 100,000 files (the default file limit, which is allowed):
// decode, infohash, name decoding and sanitising, offsets and piece ranges. Median of 5 runs
// after one warm-up. No server: parseTorrent is a pure function.
// Usage: node --import tsx bench/parse-torrent.ts
import { createHash } from 'node:crypto';
import { encodeBencode } from '../src/torrent/bencode.js';
import { parseTorrent, TORRENT_LIMITS } from '../src/torrent/metainfo.js';
import { table } from './lib.js';

const FILES = TORRENT_LIMITS.maxFiles;
const PIECE_LENGTH = 4 * 1024 * 1024;
const RUNS = 5;

// 100 season folders × 1,000 episodes each, sizes from 1 byte to 2 MiB, with UTF-8 names.
const files = Array.from({ length: FILES }, (_, i) => ({
  length: 1 + ((i * 2_654_435_761) % (2 * 1024 * 1024)),
  path: [`第${String(Math.floor(i / 1000) + 1).padStart(3, '0')}季`, `Episode ${String(i % 1000).padStart(4, '0')} - 标题.mkv`],
}));
const total = files.reduce((sum, f) => sum + f.length, 0);
const pieceCount = Math.ceil(total / PIECE_LENGTH);
// Piece hashes are not checked by a parser; fill them with distinct SHA-1 values of the right count.
const pieces = Buffer.alloc(pieceCount * 20);
for (let i = 0; i < pieceCount; i++)
  createHash('sha1')
    .update(String(i))
    .digest()
    .copy(pieces, i * 20);

const torrent = encodeBencode({
  announce: 'udp://tracker.example:6969/announce',
  info: { name: 'Big Collection', 'piece length': PIECE_LENGTH, pieces, files },
});

// Wall time, and the process's CPU time (user + system, all threads: GC included), which a
// busy machine distorts less.
const times: number[] = [];
const cpu: number[] = [];
let meta = parseTorrent(torrent); // warm-up
for (let i = 0; i < RUNS; i++) {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  meta = parseTorrent(torrent);
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1000);
}
const sorted = [...times].sort((a, b) => a - b);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(
  `parseTorrent on a ${(torrent.length / 1024 / 1024).toFixed(1)} MiB torrent: ${meta.files.length.toLocaleString('en')} files, ` +
    `${meta.pieceCount.toLocaleString('en')} pieces, ${(meta.totalSize / 1024 ** 4).toFixed(2)} TiB`,
);
console.log(
  table([
    {
      files: meta.files.length,
      'median ms': median(times),
      'min ms': sorted[0],
      'max ms': sorted[RUNS - 1],
      'median CPU ms': median(cpu),
      'runs (ms)': times.map((t) => t.toFixed(0)).join(' '),
    },
  ]),
);
