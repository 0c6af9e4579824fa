import type { FsckReport } from './fsck.js';

// How a report reads: one line per problem for people, or the whole report as JSON.

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

export function formatReport(report: FsckReport): string {
  const lines: string[] = [];
  const mode = report.repair ? 'check and repair' : 'check only';
  lines.push(`fsck ${report.dataDir} (${mode}${report.verify ? ', contents hashed' : ''})`);
  if (report.server) {
    lines.push(`warning: ${report.server.by} pid ${report.server.pid} holds this directory (--force): work in flight may show as problems`);
  }
  const c = report.checked;
  lines.push(
    `checked ${plural(c.entries, 'entry', 'entries')} (${plural(c.files, 'file')}), ${plural(c.contents, 'stored content')}, ${plural(c.users, 'user')}` +
      (report.verify ? `, ${plural(c.verifiedBytes, 'byte')} hashed` : ''),
  );
  for (const p of report.problems) {
    const outcome = p.outcome === 'found' ? (p.repair ? 'repairable' : 'not repairable') : p.outcome;
    lines.push(`${p.code}: ${p.message} [${outcome}]`);
  }
  if (report.clean) {
    lines.push('clean: no problems found');
    return lines.join('\n') + '\n';
  }
  const repaired = report.problems.filter((p) => p.outcome === 'repaired').length;
  const left = report.problems.filter((p) => p.outcome === 'not repaired').length;
  if (report.repair) {
    lines.push(`${plural(report.problems.length, 'problem')}: ${repaired} repaired, ${left} not repaired`);
  } else {
    const repairable = report.problems.filter((p) => p.repair).length;
    lines.push(`${plural(report.problems.length, 'problem')} found (${repairable} repairable): run again with --repair to fix them`);
  }
  if (report.lost.length > 0) {
    lines.push(
      `removed ${plural(report.lost.length, 'file entry', 'file entries')} whose content was missing or damaged (they could never be downloaded again, ` +
        `and kept their owners' space and the content's references); recorded in ${report.lostRecord}, damaged bytes set aside next to it:`,
    );
    for (const e of report.lost) lines.push(`  ${e.user}: ${e.path} (${e.size} bytes, ${e.etag})`);
  }
  return lines.join('\n') + '\n';
}

export function reportJson(report: FsckReport): string {
  return JSON.stringify(report, null, 2) + '\n';
}
