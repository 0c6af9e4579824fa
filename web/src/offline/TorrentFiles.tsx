// A torrent's files to pick from: All / None / by type, the folder tree with checkboxes, and
// how many files (and bytes) are picked. The add dialog shows one per offer; the "Change files"
// dialog shows one for a task.
import { useMemo } from 'preact/hooks';
import type { ParsedFile } from '../api/types.js';
import { formatBytes } from '../format.js';
import { useI18n } from '../i18n/i18n.js';
import { FileTree } from './FileTree.js';
import { buildTree, checkState, extensionGroups, selectedSize, toggleGroup } from './selection.js';

export function TorrentFiles({
  files,
  selected,
  onChange,
  saved,
}: {
  files: ParsedFile[];
  selected: Set<number>;
  onChange(selected: Set<number>): void;
  saved?: ReadonlySet<number>;
}) {
  const { t } = useI18n();
  const tree = useMemo(() => buildTree(files), [files]);
  const groups = useMemo(() => extensionGroups(files), [files]);
  return (
    <>
      <div class="select-tools">
        <button type="button" onClick={() => onChange(new Set(files.map((f) => f.index)))}>
          {t('offline.all')}
        </button>
        <button type="button" onClick={() => onChange(new Set())}>
          {t('offline.none')}
        </button>
        {groups.length > 1 && (
          <span class="by-type">
            {t('offline.byType')}
            {groups.map((g) => (
              <button
                key={g.ext}
                type="button"
                class="chip"
                aria-pressed={checkState(g.indices, selected) === 'all'}
                onClick={() => onChange(toggleGroup(g.indices, selected))}
              >
                {g.ext || '—'} ({g.indices.length})
              </button>
            ))}
          </span>
        )}
      </div>
      <FileTree root={tree} fileCount={files.length} selected={selected} onChange={onChange} saved={saved} />
      <p class="muted" aria-live="polite">
        {t('offline.selectedSummary', { count: selected.size, total: files.length, size: formatBytes(selectedSize(files, selected)) })}
      </p>
    </>
  );
}
