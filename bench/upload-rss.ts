// Peak memory of the server while it receives a large block upload: the upload path streams
// (request → block file → blob store), so the server's peak RSS should stay flat however large
// the file. Uploads BENCH_UPLOAD_GIB (default 2) GiB in 4 MiB blocks, 4 blocks in flight, each
// block generated on the fly (never the whole file in memory), and samples the server's
// /proc/<pid>/status (VmHWM = peak RSS) while it runs.
// Usage: npm run build && node --import tsx bench/upload-rss.ts
import { createHash, randomFillSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { post, startServerProcess } from './lib.js';

const MiB = 1024 * 1024;
const BLOCK = 4 * MiB;
const CHUNK = 2 * MiB;
const PARALLEL = 4;
const TOTAL = Math.round(Number(process.env.BENCH_UPLOAD_GIB || 2) * 1024) * MiB;

function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

async function send(url: string, token: string, body: Uint8Array): Promise<any> {
  const res = await fetch(url, { method: 'POST', headers: { authorization: token, 'content-type': 'application/octet-stream' }, body });
  const json = (await res.json()) as any;
  if (res.status !== 200) throw new Error(`${url.replace(/bput\/[^/]+/, 'bput/…')}: ${res.status} ${json.code} ${json.message}`);
  return json;
}

const server = await startServerProcess();
const pid = server.proc.pid!;
try {
  const idle = memoryOf(pid);
  const ticket = (await post(server.url, '/v1/store/token', { name: 'big.bin', path: '/bench' }, server.token)).result;
  const u = ticket.uploadUrl as string;
  const blocks = Math.ceil(TOTAL / BLOCK);
  const ctxs: string[] = new Array(blocks);
  const digests: Buffer[] = new Array(blocks);

  let peakRss = idle.rss;
  const sampler = setInterval(() => {
    try {
      peakRss = Math.max(peakRss, memoryOf(pid).rss);
    } catch {
      // the process is gone; the final read reports it
    }
  }, 50);

  const t0 = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      const buf = Buffer.alloc(BLOCK); // one block per worker, reused
      for (let i = next++; i < blocks; i = next++) {
        const size = Math.min(BLOCK, TOTAL - i * BLOCK);
        const block = buf.subarray(0, size);
        randomFillSync(block);
        digests[i] = createHash('sha1').update(block).digest();
        let r = await send(`${u}/mkblk/${size}/${i}`, ticket.token, block.subarray(0, CHUNK));
        for (let off = CHUNK; off < size; off += CHUNK) r = await send(`${u}/bput/${r.ctx}/${off}`, ticket.token, block.subarray(off, off + CHUNK));
        ctxs[i] = r.ctx;
      }
    }),
  );
  const sent = Date.now();
  const done = await fetch(`${u}/mkfile/${TOTAL}`, {
    method: 'POST',
    headers: { authorization: ticket.token, 'content-type': 'text/plain' },
    body: ctxs.join(','),
  });
  const answer = (await done.json()) as any;
  const finished = Date.now();
  clearInterval(sampler);
  if (done.status !== 200) throw new Error(`mkfile: ${done.status} ${JSON.stringify(answer)}`);

  const expected =
    blocks === 1
      ? Buffer.concat([Buffer.from([0x16]), digests[0]]).toString('base64url')
      : Buffer.concat([Buffer.from([0x96]), createHash('sha1').update(Buffer.concat(digests)).digest()]).toString('base64url');
  const end = memoryOf(pid);
  const mb = (n: number) => `${(n / MiB).toFixed(1)} MiB`;
  console.log(`uploaded ${mb(TOTAL)} in ${blocks} blocks (${PARALLEL} in flight, ${CHUNK / MiB} MiB chunks)`);
  console.log(
    `  blocks: ${((sent - t0) / 1000).toFixed(1)} s (${(TOTAL / MiB / ((sent - t0) / 1000)).toFixed(0)} MiB/s); mkfile (assemble + hash + fsync): ${((finished - sent) / 1000).toFixed(1)} s`,
  );
  console.log(`  server hash ${answer.hash} ${answer.hash === expected ? 'matches' : `DIFFERS from ${expected}`}`);
  console.log(`  server RSS: idle ${mb(idle.rss)}, peak sampled ${mb(peakRss)}, VmHWM (peak) ${mb(end.hwm)}, now ${mb(end.rss)}`);
  if (answer.hash !== expected) process.exitCode = 1;
} finally {
  await server.stop();
}
