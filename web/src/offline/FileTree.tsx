// The torrent's files with checkboxes: a folder's checkbox selects everything below it and
// shows "some" as indeterminate. Large torrents start collapsed below the first level.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ParsedFile } from '../api/types.js';
import { formatBytes } from '../format.js';
import { useI18n } from '../i18n/i18n.js';
import { checkState, toggleGroup, type TreeNode } from './selection.js';
import { Icon } from '../ui/Icon.js';

const EXPAND_ALL_UP_TO = 200;

interface Props {
  root: TreeNode<ParsedFile>;
  fileCount: number;
  selected: Set<number>;
  onChange(selected: Set<number>): void;
  /** Files already in the user's drive from this task (marked as such). */
  saved?: ReadonlySet<number>;
}

export function FileTree({ root, fileCount, selected, onChange, saved }: Props) {
  return (
    // biome-ignore lint/a11y/useSemanticElements: a list of checkbox rows grouped for assistive technology; a fieldset cannot hold list items
    <ul class="tree" role="group">
      {root.children.map((node) => (
        <TreeItem key={node.path} node={node} depth={0} expandAll={fileCount <= EXPAND_ALL_UP_TO} selected={selected} onChange={onChange} saved={saved} />
      ))}
    </ul>
  );
}

function TreeItem({
  node,
  depth,
  expandAll,
  selected,
  onChange,
  saved,
}: {
  node: TreeNode<ParsedFile>;
  depth: number;
  expandAll: boolean;
  selected: Set<number>;
  onChange(s: Set<number>): void;
  saved?: ReadonlySet<number>;
}) {
  const { t } = useI18n();
  const [open, setOpen] = useState(expandAll || depth === 0);
  const box = useRef<HTMLInputElement>(null);
  const state = checkState(node.indices, selected);
  useEffect(() => {
    if (box.current) box.current.indeterminate = state === 'some';
  }, [state]);
  const file: ParsedFile | undefined = node.file;
  return (
    <li data-testid={file ? 'tree-file' : 'tree-folder'}>
      <div class="tree-row">
        {!file ? (
          <button type="button" class="twisty" aria-expanded={open} aria-label={node.name} onClick={() => setOpen(!open)}>
            <Icon name={open ? 'chevronDown' : 'chevronRight'} />
          </button>
        ) : (
          <span class="twisty" aria-hidden="true" />
        )}
        <label>
          <input ref={box} type="checkbox" checked={state === 'all'} onChange={() => onChange(toggleGroup(node.indices, selected))} />
          <span class="tree-name">
            <Icon name={file ? 'file' : 'folder'} /> {node.name}
          </span>
        </label>
        <span class="muted tree-size">{formatBytes(node.size)}</span>
        {file && saved?.has(file.index) ? <span class="badge">{t('offline.inDrive')}</span> : file?.cached && <span class="badge">{t('offline.cached')}</span>}
      </div>
      {!file && open && (
        // biome-ignore lint/a11y/useSemanticElements: a folder's rows, grouped as above
        <ul role="group">
          {node.children.map((child) => (
            <TreeItem key={child.path} node={child} depth={depth + 1} expandAll={expandAll} selected={selected} onChange={onChange} saved={saved} />
          ))}
        </ul>
      )}
    </li>
  );
}
