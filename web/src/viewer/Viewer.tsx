// A file's own page (/view/<path>): the viewer its type calls for, its name, the way back to
// its folder and a download button. Video and audio ask the server how to play them.
import { useEffect, useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import type { FileObject } from '../api/types.js';
import { downloadFiles } from '../drive/download.js';
import { formatBytes } from '../format.js';
import { useI18n } from '../i18n/i18n.js';
import { hrefFor, navigate, onLinkClick, parentOf } from '../router.js';
import { describeError } from '../ui/describe-error.js';
import { ImageViewer } from './ImageViewer.js';
import { viewerKind } from './kinds.js';
import { MediaView } from './MediaView.js';
import { TextViewer } from './TextViewer.js';

interface Loaded {
  file: FileObject;
  address: string;
}

export function Viewer({ api, path }: { api: Api; path: string }) {
  const { t } = useI18n();
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState('');
  const folder = parentOf(path);

  useEffect(() => {
    let current = true;
    setLoaded(null);
    setError('');
    (async () => {
      const file = await api.get(path);
      if (file.type !== 0) {
        navigate({ view: 'drive', path });
        return;
      }
      const { downloadAddress } = await api.downloadAddress(file.uuid);
      if (current) setLoaded({ file, address: downloadAddress });
    })().catch((err: unknown) => current && setError(describeError(t, err)));
    return () => {
      current = false;
    };
  }, [api, path, t]);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape' && !document.fullscreenElement) navigate({ view: 'drive', path: folder });
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [folder]);

  const file = loaded?.file;
  const kind = file ? viewerKind(file.name, file.mime) : 'none';
  return (
    <main id="main" class="viewer" data-kind={kind}>
      <div class="viewer-bar">
        <a class="back" href={hrefFor({ view: 'drive', path: folder })} onClick={onLinkClick({ view: 'drive', path: folder })}>
          ← {t('viewer.back')}
        </a>
        <h1 class="viewer-title" title={path}>
          {path.slice(path.lastIndexOf('/') + 1)}
        </h1>
        {file && <span class="muted size">{formatBytes(file.size)}</span>}
        {file && (
          <button type="button" class="primary" onClick={() => void downloadFiles(api, [file]).catch((err: unknown) => setError(describeError(t, err)))}>
            {t('drive.download')}
          </button>
        )}
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {!loaded && !error && <p class="muted">{t('drive.loading')}</p>}
      {loaded && <ViewerBody api={api} file={loaded.file} address={loaded.address} kind={kind} />}
    </main>
  );
}

function ViewerBody({ api, file, address, kind }: Loaded & { api: Api; kind: ReturnType<typeof viewerKind> }) {
  const { t } = useI18n();
  switch (kind) {
    case 'video':
    case 'audio':
      return <MediaView api={api} file={file} address={address} audio={kind === 'audio'} />;
    case 'image':
      return <ImageViewer api={api} file={file} address={address} />;
    case 'text':
    case 'markdown':
      return <TextViewer file={file} address={address} markdown={kind === 'markdown'} />;
    case 'pdf':
      return (
        <iframe
          class="pdf"
          title={file.name}
          // The browser's own PDF viewer, in a frame that may run nothing of this origin.
          sandbox="allow-scripts"
          src={`${address}&inline=1`}
          data-testid="pdf"
        />
      );
    default:
      return <p class="no-preview">{t('viewer.noPreview')}</p>;
  }
}
