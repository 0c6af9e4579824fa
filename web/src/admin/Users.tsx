// The admin console's accounts: the users table, its actions and the new-user form.
import { useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import type { AdminUser } from '../api/types.js';
import { formatBytes, formatDate } from '../format.js';
import { useI18n } from '../i18n/i18n.js';
import { ConfirmDialog, Dialog, DialogFooter, PromptDialog } from '../ui/Dialog.js';
import { describeError } from '../ui/describe-error.js';
import { parseSizeInput } from './chart.js';
import { useLoad, ErrorLine } from './load.js';

type UserAction = { kind: 'password' | 'quota' | 'offlineQuota' | 'disable' | 'demote'; user: AdminUser } | { kind: 'create' };

export function Users({ api, me }: { api: Api; me: number }) {
  const { t, locale } = useI18n();
  const users = useLoad(() => api.adminUsers());
  const [action, setAction] = useState<UserAction | null>(null);
  const [error, setError] = useState('');
  const run = async (work: Promise<unknown>) => {
    setError('');
    try {
      await work;
      users.reload();
    } catch (err) {
      setError(describeError(t, err));
    }
  };
  const close = () => setAction(null);
  return (
    <section aria-label={t('admin.section.users')}>
      <div class="toolbar">
        <button type="button" class="primary" onClick={() => setAction({ kind: 'create' })}>
          {t('admin.users.create')}
        </button>
      </div>
      <ErrorLine error={users.error || error} />
      <div class="table-wrap">
        <table class="files admin-users">
          <thead>
            <tr>
              <th>{t('admin.users.name')}</th>
              <th>{t('admin.users.space')}</th>
              <th>{t('admin.users.offline')}</th>
              <th>{t('admin.users.role')}</th>
              <th>{t('admin.users.created')}</th>
              <th>{t('admin.users.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {users.data?.list.map((u) => (
              <tr key={u.identity} class={u.disabled ? 'disabled' : undefined}>
                <td class="name">
                  {u.name}
                  {u.disabled && <span class="badge">{t('admin.users.disabled')}</span>}
                </td>
                <td>
                  {formatBytes(u.spaceUsed)} / {formatBytes(u.spaceCapacity)}
                  <progress max={Math.max(1, u.spaceCapacity)} value={Math.min(u.spaceUsed, u.spaceCapacity)} aria-hidden="true" />
                </td>
                <td>{t('admin.users.offlineToday', { used: u.offlineUsed, quota: u.offlineQuota > 0 ? String(u.offlineQuota) : '∞' })}</td>
                <td>{u.isAdmin ? t('admin.users.admin') : t('admin.users.user')}</td>
                <td class="modified">{formatDate(u.createTime, locale)}</td>
                <td>
                  <div class="row-actions">
                    <button type="button" class="link" onClick={() => setAction({ kind: 'quota', user: u })}>
                      {t('admin.users.setQuota')}
                    </button>
                    <button type="button" class="link" onClick={() => setAction({ kind: 'offlineQuota', user: u })}>
                      {t('admin.users.setOfflineQuota')}
                    </button>
                    <button type="button" class="link" onClick={() => setAction({ kind: 'password', user: u })}>
                      {t('admin.users.resetPassword')}
                    </button>
                    {u.isAdmin ? (
                      <button type="button" class="link" disabled={u.identity === me} onClick={() => setAction({ kind: 'demote', user: u })}>
                        {t('admin.users.unmakeAdmin')}
                      </button>
                    ) : (
                      <button type="button" class="link" onClick={() => run(api.adminSetAdmin(u.identity, true))}>
                        {t('admin.users.makeAdmin')}
                      </button>
                    )}
                    {u.disabled ? (
                      <button type="button" class="link" onClick={() => run(api.adminSetDisabled(u.identity, false))}>
                        {t('admin.users.enable')}
                      </button>
                    ) : (
                      <button type="button" class="link danger-text" disabled={u.identity === me} onClick={() => setAction({ kind: 'disable', user: u })}>
                        {t('admin.users.disable')}
                      </button>
                    )}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {action?.kind === 'create' && <CreateUser api={api} onClose={close} onCreated={users.reload} />}
      {action?.kind === 'password' && (
        <PromptDialog
          title={t('admin.users.resetPasswordOf', { name: action.user.name })}
          label={t('admin.users.newPassword')}
          onSubmit={async (value) => {
            await api.adminResetPassword(action.user.identity, value);
            users.reload();
          }}
          onClose={close}
        />
      )}
      {action?.kind === 'quota' && (
        <PromptDialog
          title={t('admin.users.setQuotaOf', { name: action.user.name })}
          label={t('admin.users.quotaLabel')}
          initial={formatBytes(action.user.spaceCapacity).replace(/\.0+ /, ' ')}
          onSubmit={async (value) => {
            const bytes = parseSizeInput(value);
            if (bytes === null) throw new Error(t('admin.badSize'));
            await api.adminSetQuota(action.user.identity, { spaceCapacity: bytes });
            users.reload();
          }}
          onClose={close}
        />
      )}
      {action?.kind === 'offlineQuota' && (
        <PromptDialog
          title={t('admin.users.setOfflineQuotaOf', { name: action.user.name })}
          label={t('admin.users.offlineQuotaLabel')}
          initial={String(action.user.ownOfflineQuota)}
          onSubmit={async (value) => {
            const tasks = Number(value);
            if (!Number.isSafeInteger(tasks) || tasks < 0) throw new Error(t('admin.badNumber'));
            await api.adminSetQuota(action.user.identity, { offlineQuota: tasks });
            users.reload();
          }}
          onClose={close}
        />
      )}
      {action?.kind === 'disable' && (
        <ConfirmDialog
          title={t('admin.users.disableTitle', { name: action.user.name })}
          message={t('admin.users.disableMessage')}
          confirm={t('admin.users.disable')}
          onConfirm={async () => {
            await api.adminSetDisabled(action.user.identity, true);
            users.reload();
          }}
          onClose={close}
        />
      )}
      {action?.kind === 'demote' && (
        <ConfirmDialog
          title={t('admin.users.unmakeAdminTitle', { name: action.user.name })}
          message={t('admin.users.unmakeAdminMessage')}
          confirm={t('admin.users.unmakeAdmin')}
          onConfirm={async () => {
            await api.adminSetAdmin(action.user.identity, false);
            users.reload();
          }}
          onClose={close}
        />
      )}
    </section>
  );
}

function CreateUser({ api, onClose, onCreated }: { api: Api; onClose(): void; onCreated(): void }) {
  const { t } = useI18n();
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [isAdmin, setIsAdmin] = useState(false);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <Dialog title={t('admin.users.create')} onClose={onClose}>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          setBusy(true);
          setError('');
          try {
            await api.adminCreateUser(name.trim(), password, isAdmin);
            onCreated();
            onClose();
          } catch (err) {
            setError(describeError(t, err));
            setBusy(false);
          }
        }}
      >
        <label>
          {t('auth.name')}
          <input autoFocus value={name} onInput={(e) => setName(e.currentTarget.value)} required />
        </label>
        <label>
          {t('auth.password')}
          <input type="password" autoComplete="new-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required minLength={6} />
        </label>
        <label class="inline">
          <input type="checkbox" checked={isAdmin} onChange={(e) => setIsAdmin(e.currentTarget.checked)} />
          {t('admin.users.asAdmin')}
        </label>
        <DialogFooter error={error} onCancel={onClose}>
          <button type="submit" class="primary" disabled={busy}>
            {t('admin.users.create')}
          </button>
        </DialogFooter>
      </form>
    </Dialog>
  );
}
