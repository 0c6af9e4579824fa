// Load: 20 users start 200 torrent tasks (10 each, 50 torrents of 1 MiB, four users per torrent)
// on one local swarm while 1,000 small form uploads are in flight at once; reports the p99 of
// /v1/files/page sampled throughout, the server's peak RSS, and the time until every task is
// done. The short version runs in CI as test/reliability/load.test.ts.
import { recordFigure } from './figures.js';
import { formatLoad, runLoad, type LoadOptions } from '../test/support/load-scenario.js';

const opts: LoadOptions = {
  users: 20,
  tasksPerUser: 10,
  torrents: 50,
  torrentBytes: 1024 * 1024,
  uploads: 1000,
  uploadMaxBytes: 64 * 1024,
  log: (line) => console.log(`  ${line}`),
};
const r = await runLoad(opts);
console.log(formatLoad(opts, r));
recordFigure({
  bench: 'load',
  id: 'files-page-p99',
  label: '/v1/files/page p99 during the load scenario',
  value: r.pageMs.p99,
  unit: 'ms',
  better: 'lower',
  goal: { value: 50 },
});
const problems = [...r.serverErrors, ...r.uploadsFailed, ...r.tasksNotDone, ...r.wrongFiles];
if (problems.length > 0) {
  console.log(`problems (${problems.length}):\n  ${problems.slice(0, 20).join('\n  ')}`);
  process.exitCode = 1;
}
