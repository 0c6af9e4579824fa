// Samples the latency of /v1/files/page from a process of its own, so that what the load
// generator's busy event loop adds is not counted as the server's. Usage:
//   node --import tsx test/support/page-prober.ts <serverUrl> <token> <path>
// Requests one page every 10 ms until its stdin closes, then prints the samples (ms) as JSON.
import { setTimeout as sleep } from 'node:timers/promises';

const [url, token, path] = process.argv.slice(2);
let sampling = true;
process.stdin.on('end', () => (sampling = false));
process.stdin.resume();

const samples: number[] = [];
while (sampling) {
  const t0 = performance.now();
  try {
    const res = await fetch(`${url}/v1/files/page`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ path, pageSize: 100 }),
    });
    await res.arrayBuffer();
    if (res.status === 200) samples.push(performance.now() - t0);
  } catch {
    // The server is being stopped; the samples so far stand.
  }
  await sleep(10);
}
process.stdout.write(JSON.stringify(samples));
