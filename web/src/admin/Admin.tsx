// The admin console (administrators only; the server refuses everyone else): accounts,
// settings, every offline job, storage and the 24-hour activity chart.
import { useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import { useI18n } from '../i18n/i18n.js';
import { Users } from './Users.js';
import { Settings } from './Settings.js';
import { Jobs } from './Jobs.js';
import { Storage } from './Storage.js';

type Section = 'users' | 'settings' | 'offline' | 'storage';
const SECTIONS: readonly Section[] = ['users', 'settings', 'offline', 'storage'];

export function Admin({ api, me }: { api: Api; me: number }) {
  const { t } = useI18n();
  const [section, setSection] = useState<Section>('users');
  return (
    <main id="main" class="admin">
      <div class="page-head">
        <h1>{t('admin.title')}</h1>
      </div>
      <div class="toolbar" role="tablist" aria-label={t('admin.title')}>
        {SECTIONS.map((s) => (
          <button key={s} type="button" role="tab" class="chip" aria-selected={section === s} onClick={() => setSection(s)}>
            {t(`admin.section.${s}`)}
          </button>
        ))}
      </div>
      {section === 'users' && <Users api={api} me={me} />}
      {section === 'settings' && <Settings api={api} />}
      {section === 'offline' && <Jobs api={api} />}
      {section === 'storage' && <Storage api={api} />}
    </main>
  );
}
