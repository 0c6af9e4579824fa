// Which viewer opens a file: by its type as the server reports it, else by its extension.
// Pure (unit-tested in Node).

export type ViewerKind = 'video' | 'audio' | 'image' | 'markdown' | 'text' | 'pdf' | 'none';

const BY_EXTENSION: Record<string, ViewerKind> = {};
const EXTENSIONS: Record<Exclude<ViewerKind, 'none'>, string> = {
  video: 'mp4 m4v mov mkv webm avi ts m2ts mts wmv flv mpg mpeg 3gp ogv',
  audio: 'mp3 m4a aac flac wav ogg oga opus wma ac3 dts',
  image: 'jpg jpeg png gif webp avif bmp svg ico',
  markdown: 'md markdown',
  text:
    'txt log csv tsv json xml yaml yml toml ini conf cfg nfo srt vtt ass ssa sub ' +
    'c h cc cpp hpp cs go rs py rb js mjs cjs ts tsx jsx java kt swift php pl lua sh bash zsh ps1 bat sql css scss less html htm vue svelte diff patch',
  pdf: 'pdf',
};
for (const [kind, list] of Object.entries(EXTENSIONS)) for (const ext of list.split(' ')) BY_EXTENSION[ext] = kind as ViewerKind;

export function extensionOf(name: string): string {
  const at = name.lastIndexOf('.');
  return at <= 0 ? '' : name.slice(at + 1).toLowerCase();
}

export function viewerKind(name: string, mime = ''): ViewerKind {
  // The extension first: a `.ts` file is typed video/mp2t by some tables and TypeScript by
  // others, and the name is what the user chose.
  const byName = BY_EXTENSION[extensionOf(name)];
  if (byName === 'markdown' || byName === 'pdf') return byName;
  if (mime.startsWith('video/')) return byName === 'text' ? 'text' : 'video';
  if (mime.startsWith('audio/')) return 'audio';
  if (mime.startsWith('image/')) return 'image';
  if (mime === 'application/pdf') return 'pdf';
  return byName ?? (mime.startsWith('text/') || mime === 'application/json' ? 'text' : 'none');
}

/** The base name without its extension: `Film.2020.mkv` → `Film.2020` (sidecar subtitles share it). */
export function baseName(name: string): string {
  const at = name.lastIndexOf('.');
  return at <= 0 ? name : name.slice(0, at);
}

/** Seconds as `h:mm:ss` or `m:ss`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '0:00';
  const s = Math.floor(seconds % 60);
  const m = Math.floor(seconds / 60) % 60;
  const h = Math.floor(seconds / 3600);
  const mm = h > 0 ? String(m).padStart(2, '0') : String(m);
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(s).padStart(2, '0')}`;
}
