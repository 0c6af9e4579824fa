// The admin console's answers (/v1/admin/*) as TypeBox schemas: the routes declare them (so
// /v1/openapi.json describes them), and the web UI and the CLI import their types. Like
// schemas.ts, free of Node and server code.
import { Type, type Static } from '@sinclair/typebox';
import { UserSchema } from './schemas.js';

const Int = (description?: string) => Type.Integer(description ? { description } : {});
const Num = (description: string) => Type.Number({ description });
const Str = (description?: string) => Type.String(description ? { description } : {});
const Millis = (description: string) => Type.Integer({ description: `${description} (ms since the epoch)` });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

export const AdminUserSchema = Type.Object(
  {
    ...UserSchema.properties,
    disabled: Type.Boolean({ description: 'Cannot sign in; has no session' }),
    ownOfflineQuota: Int("The account's own daily offline task quota; 0: the server's default (offlineQuota is the one in force)"),
  },
  { title: 'AdminUser' },
);
export type AdminUser = Static<typeof AdminUserSchema>;
export const AdminUserListSchema = Type.Object({ list: Type.Array(AdminUserSchema), totalCount: Int() });
export type AdminUserList = Static<typeof AdminUserListSchema>;

export const ServerSettingsSchema = Type.Object(
  {
    registration: Type.Union([Type.Literal('open'), Type.Literal('closed')], { description: 'Whether anyone may create an account' }),
    defaultQuota: Int('Space of a new account, bytes'),
  },
  { title: 'ServerSettings' },
);
export type ServerSettingsAnswer = Static<typeof ServerSettingsSchema>;

export const AdminTaskSchema = Type.Object({
  taskId: Str(),
  userId: Int(),
  userName: Str(),
  status: Int('As a task object'),
  size: Int('Bytes'),
  finishedSize: Int('Bytes'),
  progress: Int('Percent'),
  errorCode: Str('openpan\'s code ("" none)'),
  createTime: Millis('Created'),
});
export type AdminTask = Static<typeof AdminTaskSchema>;

export const AdminJobSchema = Type.Object(
  {
    jobId: Str('The system task id (32 hex digits)'),
    type: Int('0 torrent, 10 magnet, 20 URL'),
    name: Str(),
    infoHash: Str('"" for a URL'),
    phase: Type.Union(
      ['queued', 'downloading', 'importing', 'paused', 'done', 'failed'].map((p) => Type.Literal(p)),
      {
        description: 'queued, downloading, importing, paused, done, failed',
      },
    ),
    size: Int('Bytes given to the engine'),
    downloaded: Int('Verified bytes of them'),
    speed: Int('Bytes per second, while the engine runs the job'),
    peers: Int('Connected peers or sources'),
    seeding: Nullable(Type.Object({ uploaded: Int('Bytes uploaded after the import'), peers: Int() })),
    errorCode: Str(),
    message: Str(),
    createTime: Millis('Created'),
    updateTime: Millis('Last changed'),
    finishTime: Millis('Finished (0 while not)'),
    taskCount: Int('User tasks of the job (at most 100 listed)'),
    tasks: Type.Array(AdminTaskSchema),
  },
  { title: 'AdminJob' },
);
export type AdminJob = Static<typeof AdminJobSchema>;
export const AdminJobPageSchema = Type.Object({ list: Type.Array(AdminJobSchema), totalCount: Int() });
export type AdminJobPage = Static<typeof AdminJobPageSchema>;

export const EngineStatsSchema = Type.Object(
  {
    name: Str('webtorrent, http'),
    jobs: Type.Optional(Int('Jobs the engine holds')),
    activeJobs: Type.Optional(Int('Jobs transferring now')),
    seeds: Type.Optional(Int('Seeds uploading after their import')),
    connections: Type.Optional(Int('Connected peers and sources')),
    downloadSpeed: Type.Optional(Int('Bytes per second')),
    uploadSpeed: Type.Optional(Int('Bytes per second')),
    downloadLimit: Type.Optional(Nullable(Int('Bytes per second; null: unlimited'))),
    uploadLimit: Type.Optional(Nullable(Int('Bytes per second; null: unlimited'))),
  },
  { title: 'EngineStats' },
);
export type EngineStatsAnswer = Static<typeof EngineStatsSchema>;

const CollectorRunSchema = Type.Object({
  startedAt: Millis('Started'),
  finishedAt: Millis('Finished'),
  freed: Int('Contents freed'),
  freedBytes: Int('Their bytes'),
  error: Nullable(Str()),
});

const SweepRunSchema = Type.Object({
  at: Millis('Ran'),
  tempFilesRemoved: Int('Temporary files removed'),
  error: Nullable(Str()),
});

export const StorageReportSchema = Type.Object(
  {
    contents: Int('Contents stored (each once, however many entries share it)'),
    storedBytes: Int('Their bytes'),
    referencedBytes: Int('Bytes of every file entry of every user: the store without deduplication'),
    dedupRatio: Num('referencedBytes ÷ storedBytes'),
    unreferenced: Int('Contents waiting for the collector'),
    unreferencedBytes: Int('Their bytes'),
    disk: Nullable(Type.Object({ totalBytes: Int(), freeBytes: Int('Free for the server') })),
    collector: Nullable(CollectorRunSchema),
    sweep: Nullable(SweepRunSchema),
  },
  { title: 'StorageReport' },
);
export type StorageReportAnswer = Static<typeof StorageReportSchema>;

export const StatsSampleSchema = Type.Object({
  at: Millis('End of the interval'),
  downloadSpeed: Int('Average bytes per second'),
  uploadSpeed: Int('Average bytes per second'),
  activeTasks: Int('Active user tasks'),
  activeJobs: Int('Jobs running in an engine'),
});
export type StatsSample = Static<typeof StatsSampleSchema>;
export const StatsChartSchema = Type.Object({
  intervalMs: Int('Time between samples'),
  samples: Type.Array(StatsSampleSchema),
});
export type StatsChart = Static<typeof StatsChartSchema>;
