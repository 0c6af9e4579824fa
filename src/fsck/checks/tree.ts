import { sql } from 'kysely';
import type { Checked, CheckContext } from '../context.js';
import { BIN_PATH_PREFIX, binPath } from '../../db/sql.js';
import type { Problem } from '../problems.js';

// The tree against itself: each user's space_used, the dir_stats counters, and materialised
// paths against parent links. The same rules as files.repo: every file (type 0) counts its size
// toward its owner, directories count nothing.

export async function checkSpace(ctx: CheckContext, checked: Checked): Promise<Problem[]> {
  const rows = await sql<{ id: number; name: string; used: number; actual: number; counted: number; entries: number }>`
    SELECT u.id, u.name, u.space_used AS used,
      coalesce((SELECT sum(f.size) FROM files f WHERE f.user_id = u.id AND f.type = 0), 0) AS actual,
      u.entry_count AS counted, (SELECT count(*) FROM files f WHERE f.user_id = u.id) AS entries
    FROM users u`.execute(ctx.db);
  checked.users = rows.rows.length;
  const problems: Problem[] = [];
  for (const r of rows.rows) {
    if (Number(r.used) !== Number(r.actual)) {
      problems.push({
        code: 'space-used',
        subject: r.name,
        message: `user "${r.name}" has space_used ${r.used} but the files in the tree take ${r.actual} bytes`,
        repair: { kind: 'recount-space' },
      });
    }
    if (Number(r.counted) !== Number(r.entries)) {
      problems.push({
        code: 'entry-count',
        subject: r.name,
        message: `user "${r.name}" is counted as having ${r.counted} entries but has ${r.entries}`,
        repair: { kind: 'recount-space' },
      });
    }
  }
  return problems;
}

export async function checkDirStats(ctx: CheckContext, checked: Checked): Promise<Problem[]> {
  const expected = await sql<{ user_id: number; dir_id: number; dirs: number; files: number }>`
    SELECT user_id, parent_id AS dir_id, sum(CASE WHEN type = 1 THEN 1 ELSE 0 END) AS dirs, sum(CASE WHEN type = 0 THEN 1 ELSE 0 END) AS files FROM files GROUP BY user_id, parent_id`.execute(
    ctx.db,
  );
  const actual = await ctx.db.selectFrom('dir_stats').select(['user_id', 'dir_id', 'dirs', 'files']).execute();
  const counts = await sql<{
    entries: number;
    files: number;
  }>`SELECT count(*) AS entries, coalesce(sum(CASE WHEN type = 0 THEN 1 ELSE 0 END), 0) AS files FROM files`.execute(ctx.db);
  checked.entries = Number(counts.rows[0]?.entries ?? 0);
  checked.files = Number(counts.rows[0]?.files ?? 0);

  const key = (u: number, d: number) => `${u}:${d}`;
  const want = new Map(expected.rows.map((r) => [key(r.user_id, r.dir_id), { dirs: Number(r.dirs), files: Number(r.files) }]));
  const have = new Map(actual.map((r) => [key(r.user_id, r.dir_id), { dirs: Number(r.dirs), files: Number(r.files) }]));
  const problems: Problem[] = [];
  for (const k of new Set([...want.keys(), ...have.keys()])) {
    const w = want.get(k) ?? { dirs: 0, files: 0 };
    const h = have.get(k) ?? { dirs: 0, files: 0 };
    if (w.dirs === h.dirs && w.files === h.files) continue;
    const [userId, dirId] = k.split(':');
    problems.push({
      code: 'dir-stats',
      subject: k,
      message: `directory ${dirId === '0' ? '/' : `#${dirId}`} of user #${userId} is counted as ${h.dirs} directories and ${h.files} files but holds ${w.dirs} and ${w.files}`,
      repair: { kind: 'rebuild-dir-stats' },
    });
  }
  return problems;
}

export async function checkPaths(ctx: CheckContext): Promise<Problem[]> {
  const rows = await sql<{
    id: number;
    user_id: number;
    path: string;
    name: string;
    depth: number;
    parent_id: number;
    p_id: number | null;
    p_type: number | null;
    p_user: number | null;
    p_path: string | null;
    p_depth: number | null;
  }>`
    SELECT f.id, f.user_id, f.path, f.name, f.depth, f.parent_id,
      p.id AS p_id, p.type AS p_type, p.user_id AS p_user, p.path AS p_path, p.depth AS p_depth
    FROM files f LEFT JOIN files p ON p.id = f.parent_id
    WHERE (f.parent_id = 0 AND (f.path <> '/' || f.name OR f.depth <> 1))
       OR (f.parent_id < 0 AND (f.parent_id <> -f.id OR f.path <> ${BIN_PATH_PREFIX} || f.id OR f.depth <> 1))
       OR (f.parent_id > 0 AND (p.id IS NULL OR p.type <> 1 OR p.user_id <> f.user_id
            OR f.path <> p.path || '/' || f.name OR f.depth <> p.depth + 1))`.execute(ctx.db);
  return rows.rows.map((r): Problem => {
    if (r.parent_id > 0 && (r.p_id === null || r.p_type !== 1 || r.p_user !== r.user_id)) {
      return {
        code: 'parent-missing',
        subject: `${r.user_id}:${r.id}`,
        message: `"${r.path}" (user #${r.user_id}) names parent #${r.parent_id}, which ${r.p_id === null ? 'does not exist' : r.p_type !== 1 ? 'is a file' : 'belongs to another user'}`,
        repair: null,
      };
    }
    // A recycle bin entry's parent is -id and its path `~<id>` (files.repo.ts, moveToBin).
    const want = r.parent_id === 0 ? `/${r.name}` : r.parent_id < 0 ? binPath(r.id) : `${r.p_path}/${r.name}`;
    return {
      code: 'path',
      subject: `${r.user_id}:${r.id}`,
      message: `entry #${r.id} of user #${r.user_id} has path "${r.path}" (depth ${r.depth}) but its parent link makes it "${want}"`,
      repair: { kind: 'rebuild-paths' },
    };
  });
}
