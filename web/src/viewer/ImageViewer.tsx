// One image, fitted to the screen, with the previous and next image of its folder (by name;
// ← and → too).
import { useEffect, useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import type { FileObject } from '../api/types.js';
import { useI18n } from '../i18n/i18n.js';
import { navigate, parentOf } from '../router.js';
import { viewerKind } from './kinds.js';

/** Images looked at for previous/next: the folder's first this many entries by name. */
const SIBLINGS_LIMIT = 999;

export function ImageViewer({ api, file, address }: { api: Api; file: FileObject; address: string }) {
  const { t } = useI18n();
  const [images, setImages] = useState<string[]>([]);
  useEffect(() => {
    let current = true;
    api
      .page(parentOf(file.path), 1, SIBLINGS_LIMIT, { field: 'name', desc: false })
      .then((answer) => {
        if (current) setImages(answer.list.filter((e) => e.type === 0 && viewerKind(e.name, e.mime) === 'image').map((e) => e.path));
      })
      .catch(() => {});
    return () => {
      current = false;
    };
  }, [api, file.path]);

  const at = images.indexOf(file.path);
  const previous = at > 0 ? images[at - 1] : null;
  const next = at >= 0 && at < images.length - 1 ? images[at + 1] : null;
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'ArrowLeft' && previous) navigate({ view: 'file', path: previous });
      else if (event.key === 'ArrowRight' && next) navigate({ view: 'file', path: next });
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [previous, next]);

  return (
    <div class="image-view">
      <button
        type="button"
        class="nav prev"
        disabled={!previous}
        aria-label={t('viewer.previous')}
        onClick={() => previous && navigate({ view: 'file', path: previous })}
      >
        ‹
      </button>
      <img src={address} alt={file.name} data-testid="image" />
      <button type="button" class="nav next" disabled={!next} aria-label={t('viewer.next')} onClick={() => next && navigate({ view: 'file', path: next })}>
        ›
      </button>
      {at >= 0 && images.length > 1 && <p class="muted counter">{t('viewer.counter', { at: at + 1, count: images.length })}</p>}
    </div>
  );
}
