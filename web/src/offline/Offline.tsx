// The offline download screen: add a torrent or links, and the live task list.
import { useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import { useI18n } from '../i18n/i18n.js';
import { AddDialog, type AddMode } from './AddDialog.js';
import { EditFilesDialog } from './EditFilesDialog.js';
import { TaskList } from './TaskList.js';
import type { Tasks } from './useTasks.js';
import { Icon } from '../ui/Icon.js';

export function Offline({ api, tasks, lastFolder }: { api: Api; tasks: Tasks; lastFolder: string }) {
  const { t } = useI18n();
  const [adding, setAdding] = useState<AddMode | null>(null);
  /** The task whose files are being changed. */
  const [editing, setEditing] = useState<string | null>(null);
  /** A task pointed at from the add dialog (the user already had it): marked in the list. */
  const [highlight, setHighlight] = useState('');
  return (
    <main id="main" class="offline">
      <div class="page-head">
        <h1>{t('offline.title')}</h1>
        <span class={tasks.live ? 'live on' : 'live'} title={tasks.live ? t('offline.live') : t('offline.notLive')}>
          <span aria-hidden="true">●</span> <span class="live-text">{tasks.live ? t('offline.live') : t('offline.notLive')}</span>
        </span>
      </div>
      <div class="toolbar">
        <button type="button" class="primary" onClick={() => setAdding('torrent')}>
          <Icon name="plus" /> {t('offline.addTorrent')}
        </button>
        <button type="button" onClick={() => setAdding('links')}>
          <Icon name="link" /> {t('offline.addLinks')}
        </button>
      </div>
      <TaskList api={api} tasks={tasks} highlight={highlight} onEditFiles={(task) => setEditing(task.taskId)} />
      {adding && (
        <AddDialog
          api={api}
          mode={adding}
          destination={lastFolder}
          onClose={() => setAdding(null)}
          onStarted={(started) => started.forEach(tasks.add)}
          onEditExisting={(taskId) => {
            setHighlight(taskId);
            setEditing(taskId);
          }}
        />
      )}
      {editing && <EditFilesDialog api={api} taskId={editing} onSaved={tasks.upsert} onClose={() => setEditing(null)} />}
    </main>
  );
}
