// A torrent's file list as a folder tree, and the selections the add dialog offers (all, none,
// by type, by folder). Pure functions over indices, unit-tested in Node.
/** What the selection needs of a parsed torrent file (api/types ParsedFile has more). */
export interface SelectableFile {
  index: number;
  path: string;
  size: number;
}

export interface TreeNode<F extends SelectableFile = SelectableFile> {
  name: string;
  /** '/'-separated path inside the torrent ('' for the root). */
  path: string;
  /** Set for a file, absent for a folder. */
  file?: F;
  children: TreeNode<F>[];
  /** Every file index at or below this node. */
  indices: number[];
  size: number;
}

export function buildTree<F extends SelectableFile>(files: F[]): TreeNode<F> {
  const root: TreeNode<F> = { name: '', path: '', children: [], indices: [], size: 0 };
  const folders = new Map<string, TreeNode<F>>([['', root]]);
  for (const file of files) {
    const parts = file.path.split('/');
    let parent = root;
    for (let depth = 0; depth < parts.length - 1; depth++) {
      const path = parts.slice(0, depth + 1).join('/');
      let folder = folders.get(path);
      if (!folder) {
        folder = { name: parts[depth], path, children: [], indices: [], size: 0 };
        folders.set(path, folder);
        parent.children.push(folder);
      }
      parent = folder;
    }
    parent.children.push({ name: parts[parts.length - 1], path: file.path, file, children: [], indices: [file.index], size: file.size });
  }
  const total = (node: TreeNode<F>): void => {
    if (node.file) return;
    for (const child of node.children) {
      total(child);
      node.indices.push(...child.indices);
      node.size += child.size;
    }
    // Folders first, then by name, as in the drive.
    node.children.sort((a, b) => Number(!!a.file) - Number(!!b.file) || a.name.localeCompare(b.name));
  };
  total(root);
  return root;
}

/** Lower-case extension with its dot ('.mkv'), '' when there is none. */
export function extensionOf(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot).toLowerCase() : '';
}

export interface ExtensionGroup {
  ext: string;
  indices: number[];
  size: number;
}

/** Extensions present, largest total size first. */
export function extensionGroups(files: SelectableFile[]): ExtensionGroup[] {
  const groups = new Map<string, ExtensionGroup>();
  for (const file of files) {
    const ext = extensionOf(file.path);
    const group = groups.get(ext) ?? { ext, indices: [], size: 0 };
    group.indices.push(file.index);
    group.size += file.size;
    groups.set(ext, group);
  }
  return [...groups.values()].sort((a, b) => b.size - a.size || a.ext.localeCompare(b.ext));
}

export type CheckState = 'all' | 'some' | 'none';

export function checkState(indices: number[], selected: ReadonlySet<number>): CheckState {
  let count = 0;
  for (const i of indices) if (selected.has(i)) count++;
  return count === 0 ? 'none' : count === indices.length ? 'all' : 'some';
}

/** Selects every index when not all were selected, else deselects them all (a folder's or a type's checkbox). */
export function toggleGroup(indices: number[], selected: ReadonlySet<number>): Set<number> {
  const next = new Set(selected);
  const select = checkState(indices, selected) !== 'all';
  for (const i of indices) {
    if (select) next.add(i);
    else next.delete(i);
  }
  return next;
}

export function selectedSize(files: SelectableFile[], selected: ReadonlySet<number>): number {
  return files.reduce((sum, f) => (selected.has(f.index) ? sum + f.size : sum), 0);
}

/** The `files` argument of /v1/offline/start: '*' for everything, else the indices in order. */
export function filesArgument(files: SelectableFile[] | undefined, selected: ReadonlySet<number>): number[] | '*' {
  if (!files || selected.size === files.length) return '*';
  return [...selected].sort((a, b) => a - b);
}
