// What fsck reports: problems with a stable code, the thing they concern, a sentence for people,
// and the repair that fixes them (null when fsck cannot). Repairs are data, applied by
// repairs.ts, so checks stay read-only and a dry run shows exactly what --repair would do.

export type ProblemCode =
  /** A file entry's content is not in the store. */
  | 'content-missing'
  /** Stored content has another size than its blob row says. */
  | 'content-size'
  /** Stored content does not hash to its etag (--verify). */
  | 'content-corrupt'
  /** A file entry's size differs from its content's. */
  | 'entry-size'
  /** File entries use content that has no blob row. */
  | 'blob-row-missing'
  /** blobs.refs differs from the number of file entries using the content. */
  | 'refs'
  /** unreferenced_at is unset with no reference (the collector would never free it), or set with references. */
  | 'unreferenced-mark'
  /** A blob row with no reference and no content. */
  | 'blob-row-without-content'
  /** users.space_used differs from the sum of the user's file sizes. */
  | 'space-used'
  /** users.entry_count differs from the number of the user's entries. */
  | 'entry-count'
  /** dir_stats counts differ from the directory's children. */
  | 'dir-stats'
  /** An entry's materialised path or depth does not follow from its parent link. */
  | 'path'
  /** An entry's parent is missing, is a file, or belongs to another user. */
  | 'parent-missing'
  /** Content in the store that no blob row names, older than the collector's grace. */
  | 'orphan-content'
  /** A temporary file of the store (an interrupted write). */
  | 'store-temp'
  /** Block files, assemblies or records of uploads that no longer exist. */
  | 'upload-leftover'
  /** The working directory of an offline job at rest or unknown. */
  | 'offline-leftover'
  /** A seeding directory of a seed that no longer exists. */
  | 'seeding-leftover';

export type Repair =
  /** Remove the entries using `etag` (recorded in lost+found), its blob row, and set its bytes aside. */
  | { kind: 'drop-content'; etag: string }
  /** Set the size of the entries using `etag` to the content's size. */
  | { kind: 'fix-entry-size'; etag: string; size: number }
  /** Rewrite materialised paths and depths from the parent links. */
  | { kind: 'rebuild-paths' }
  /** Recreate missing blob rows and recount references and unreferenced marks from the tree. */
  | { kind: 'recount-refs' }
  /** Set every user's space_used from the tree. */
  | { kind: 'recount-space' }
  /** Rebuild dir_stats from the tree. */
  | { kind: 'rebuild-dir-stats' }
  | { kind: 'delete-blob-row'; etag: string }
  /** Delete a file or directory on disk (leftovers). */
  | { kind: 'delete-path'; path: string }
  /** Delete stored content (orphans). */
  | { kind: 'delete-content'; etag: string };

export interface Problem {
  code: ProblemCode;
  /** What it concerns: an etag, a user name, a path. With `code`, identifies the problem across runs. */
  subject: string;
  message: string;
  repair: Repair | null;
}

export type Outcome = 'found' | 'repaired' | 'not repaired';

export interface ReportedProblem extends Problem {
  outcome: Outcome;
}

export function problemKey(p: Pick<Problem, 'code' | 'subject'>): string {
  return `${p.code}\u0000${p.subject}`;
}
