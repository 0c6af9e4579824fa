// Modal dialogs on the native <dialog>: it traps focus, closes on Escape and restores focus to
// what opened it, which is most of keyboard accessibility for free.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { useI18n } from '../i18n/i18n.js';
import { describeError } from './describe-error.js';

export function Dialog({ title, onClose, children, wide = false }: { title: string; onClose(): void; children: ComponentChildren; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      class={wide ? 'dialog wide' : 'dialog'}
      aria-label={title}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      <h2>{title}</h2>
      {children}
    </dialog>
  );
}

/** The end of every dialog: its error, if any, then Cancel and the dialog's own action (`children`). */
export function DialogFooter({
  error,
  onCancel,
  focusCancel = false,
  children,
}: {
  error: string;
  onCancel(): void;
  focusCancel?: boolean;
  children: ComponentChildren;
}) {
  const { t } = useI18n();
  return (
    <>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="buttons">
        {/* biome-ignore lint/a11y/noAutofocus: a dialog that confirms a destructive action opens on its harmless button (focusCancel) */}
        <button type="button" onClick={onCancel} autoFocus={focusCancel}>
          {t('common.cancel')}
        </button>
        {children}
      </div>
    </>
  );
}

export function PromptDialog({
  title,
  label,
  initial = '',
  onSubmit,
  onClose,
}: {
  title: string;
  label: string;
  initial?: string;
  onSubmit(value: string): Promise<void>;
  onClose(): void;
}) {
  const { t } = useI18n();
  const [value, setValue] = useState(initial);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <Dialog title={title} onClose={onClose}>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          if (!value.trim()) return;
          setBusy(true);
          setError('');
          try {
            await onSubmit(value.trim());
            onClose();
          } catch (err) {
            setError(describeError(t, err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <label>
          {label}
          <input autoFocus value={value} onInput={(event) => setValue(event.currentTarget.value)} required />
        </label>
        <DialogFooter error={error} onCancel={onClose}>
          <button type="submit" class="primary" disabled={busy}>
            {t('common.ok')}
          </button>
        </DialogFooter>
      </form>
    </Dialog>
  );
}

export function ConfirmDialog({
  title,
  message,
  confirm,
  onConfirm,
  onClose,
  children,
}: {
  title: string;
  message: string;
  confirm: string;
  onConfirm(): Promise<void>;
  onClose(): void;
  children?: ComponentChildren;
}) {
  const { t } = useI18n();
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <Dialog title={title} onClose={onClose}>
      <p>{message}</p>
      {children}
      <DialogFooter error={error} onCancel={onClose} focusCancel>
        <button
          type="button"
          class="danger"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            try {
              await onConfirm();
              onClose();
            } catch (err) {
              setError(describeError(t, err));
              setBusy(false);
            }
          }}
        >
          {confirm}
        </button>
      </DialogFooter>
    </Dialog>
  );
}
