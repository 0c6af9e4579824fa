// Text, code and Markdown: the first MAX_TEXT_BYTES only, decoded as UTF-8, shown as text
// (Markdown through a renderer that never produces HTML from the file).
import { useEffect, useState } from 'preact/hooks';
import type { FileObject } from '../api/types.js';
import { formatBytes } from '../format.js';
import { useI18n } from '../i18n/i18n.js';
import { Markdown } from './Markdown.js';

export const MAX_TEXT_BYTES = 1024 * 1024;

export function TextViewer({ file, address, markdown }: { file: FileObject; address: string; markdown: boolean }) {
  const { t } = useI18n();
  const [text, setText] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  const truncated = file.size > MAX_TEXT_BYTES;

  useEffect(() => {
    const abort = new AbortController();
    setText(null);
    setFailed(false);
    const headers: Record<string, string> = file.size > 0 ? { range: `bytes=0-${Math.min(file.size, MAX_TEXT_BYTES) - 1}` } : {};
    fetch(address, { headers, signal: abort.signal })
      .then(async (res) => {
        if (!res.ok) throw new Error(String(res.status));
        const bytes = new Uint8Array(await res.arrayBuffer()).subarray(0, MAX_TEXT_BYTES);
        setText(new TextDecoder('utf-8').decode(bytes));
      })
      .catch(() => !abort.signal.aborted && setFailed(true));
    return () => abort.abort();
  }, [address, file.size]);

  if (failed) return <p class="error">{t('viewer.loadFailed')}</p>;
  if (text === null) return <p class="muted">{t('drive.loading')}</p>;
  return (
    <div class="text-view">
      {truncated && <p class="muted">{t('viewer.truncated', { shown: formatBytes(MAX_TEXT_BYTES), total: formatBytes(file.size) })}</p>}
      {markdown ? (
        <Markdown source={text} />
      ) : (
        <pre class="code" data-testid="text">
          {text}
        </pre>
      )}
    </div>
  );
}
