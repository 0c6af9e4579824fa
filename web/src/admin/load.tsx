// What every admin section shares: loading with a reload, and the error line.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { useI18n } from '../i18n/i18n.js';
import { describeError } from '../ui/describe-error.js';

/** Loads with `load`, again on `reload()`; the error in words. */
export function useLoad<T>(load: () => Promise<T>): { data: T | null; error: string; reload(): void } {
  const { t } = useI18n();
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState('');
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (value) => {
        if (!live) return;
        setData(value);
        setError('');
      },
      (err: unknown) => live && setError(describeError(t, err)),
    );
    return () => {
      live = false;
    };
  }, [tick]);
  return { data, error, reload: useCallback(() => setTick((n) => n + 1), []) };
}

export function ErrorLine({ error }: { error: string }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}
