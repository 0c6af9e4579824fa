import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { StatsSample } from '../admin/sampler.js';
import type { StorageReport } from '../admin/storage.js';
import { AppError } from '../errors.js';
import type { OfflineAdmin } from '../offline/index.js';
import type { Settings } from '../settings/settings.js';
import type { UserRow } from '../users/users.repo.js';
import type { UsersService } from '../users/users.service.js';
import { apiRoute } from './server.js';
import { sixpanUser } from './sixpan/answers.js';
import {
  AdminJobPageSchema,
  AdminUserListSchema,
  AdminUserSchema,
  EngineStatsSchema,
  ServerSettingsSchema,
  StatsChartSchema,
  StorageReportSchema,
  type AdminUser,
} from './sixpan/admin-schemas.js';

/** What the admin routes call. */
export interface AdminConsoleDeps {
  users: UsersService;
  settings: Settings;
  offline: OfflineAdmin;
  storage(): Promise<StorageReport>;
  chart(): Promise<StatsSample[]>;
  /** Time between the chart's samples. */
  chartIntervalMs: number;
}

const Empty = Type.Object({});
/** An account, by its id (`identity`, as /v1/user/info names it) or its name. */
const Who = {
  identity: Type.Optional(Type.Integer({ minimum: 1, description: "The account's id" })),
  name: Type.Optional(Type.String({ description: 'Or its name' })),
};
const Bytes = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Create = Type.Object({
  name: Type.String(),
  password: Type.String({ description: 'Typed, 6 to 1024 characters' }),
  isAdmin: Type.Optional(Type.Boolean()),
  spaceCapacity: Type.Optional({ ...Bytes, description: 'Bytes; default: the default quota setting' }),
});
const SetDisabled = Type.Object({ ...Who, disabled: Type.Boolean() });
const ResetPassword = Type.Object({ ...Who, password: Type.String({ description: 'Typed, 6 to 1024 characters' }) });
const SetQuota = Type.Object({
  ...Who,
  spaceCapacity: Type.Optional({ ...Bytes, description: 'Bytes' }),
  offlineQuota: Type.Optional(Type.Integer({ minimum: 0, description: "Offline tasks per day; 0: the server's default" })),
});
const SetAdmin = Type.Object({ ...Who, isAdmin: Type.Boolean() });
const SettingsPatch = Type.Object({
  registration: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('closed')])),
  defaultQuota: Type.Optional(Bytes),
});
const Jobs = Type.Object({
  page: Type.Optional(Type.Integer({ minimum: 1 })),
  pageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
  unfinished: Type.Optional(Type.Boolean({ description: 'Only jobs neither done nor failed' })),
});
const Cancel = Type.Object({ jobId: Type.String() });
const ADMIN = { adminOnly: true };

/** Every /v1/admin route: administrators only (FORBIDDEN for anyone else, before the body is read). */
export function registerAdminRoutes(app: FastifyInstance, d: AdminConsoleDeps): void {
  // The 6pan user object, with what only the console shows.
  const view = (row: UserRow): AdminUser => {
    const { disabled, ownOfflineQuota, ...user } = d.users.adminView(row);
    return { ...sixpanUser(user), disabled, ownOfflineQuota };
  };
  const account = async (who: { identity?: number; name?: string }): Promise<UserRow> => {
    if (who.identity !== undefined) return d.users.byId(who.identity);
    if (who.name) return d.users.byName(who.name);
    throw new AppError('BAD_REQUEST', 'Field "identity" (or "name") is required.');
  };
  const changed = async (row: UserRow) => view(await d.users.byId(row.id));

  apiRoute(
    app,
    '/v1/admin/users/list',
    { body: Empty, result: AdminUserListSchema, summary: 'Every account, oldest first, with space and offline use' },
    async () => {
      const rows = await d.users.list();
      return { list: rows.map(view), totalCount: rows.length };
    },
    ADMIN,
  );
  apiRoute(
    app,
    '/v1/admin/users/create',
    {
      body: Create,
      result: AdminUserSchema,
      summary: 'Creates an account (registration closed or not)',
      description: 'Errors: BAD_REQUEST (name or password), USER_ALREADY_EXISTS.',
    },
    async ({ body }) => view(await d.users.create(body.name, body.password, { isAdmin: body.isAdmin ?? false, quota: body.spaceCapacity })),
    ADMIN,
  );
  apiRoute(
    app,
    '/v1/admin/users/setDisabled',
    {
      body: SetDisabled,
      result: AdminUserSchema,
      summary: 'Disables an account (it cannot sign in, its sessions end) or enables it',
      description: 'Errors: USER_NOT_FOUND, LAST_ADMIN (the last enabled administrator).',
    },
    async ({ body }) => {
      const row = await account(body);
      await d.users.setDisabled(row.id, body.disabled);
      return changed(row);
    },
    ADMIN,
  );
  apiRoute(
    app,
    '/v1/admin/users/resetPassword',
    {
      body: ResetPassword,
      result: AdminUserSchema,
      summary: "Sets an account's password; every session of it ends",
      description: 'Errors: USER_NOT_FOUND, BAD_REQUEST.',
    },
    async ({ body }) => {
      const row = await account(body);
      await d.users.resetPassword(row.id, body.password);
      return changed(row);
    },
    ADMIN,
  );
  apiRoute(
    app,
    '/v1/admin/users/setQuota',
    {
      body: SetQuota,
      result: AdminUserSchema,
      summary: "Sets an account's space capacity and/or its daily offline task quota",
      description: 'Errors: USER_NOT_FOUND.',
    },
    async ({ body }) => {
      const row = await account(body);
      if (body.spaceCapacity !== undefined) await d.users.setCapacity(row.id, body.spaceCapacity);
      if (body.offlineQuota !== undefined) await d.users.setOfflineQuota(row.id, body.offlineQuota);
      return changed(row);
    },
    ADMIN,
  );
  apiRoute(
    app,
    '/v1/admin/users/setAdmin',
    {
      body: SetAdmin,
      result: AdminUserSchema,
      summary: 'Makes an account an administrator, or takes that away',
      description: 'Errors: USER_NOT_FOUND, LAST_ADMIN (the last enabled administrator).',
    },
    async ({ body }) => {
      const row = await account(body);
      await d.users.setAdmin(row.id, body.isAdmin);
      return changed(row);
    },
    ADMIN,
  );

  apiRoute(
    app,
    '/v1/admin/settings/get',
    { body: Empty, result: ServerSettingsSchema, summary: 'The settings in force (stored ones over the OPENPAN_* values)' },
    async () => d.settings.all(),
    ADMIN,
  );
  apiRoute(
    app,
    '/v1/admin/settings/set',
    { body: SettingsPatch, result: ServerSettingsSchema, summary: 'Stores settings in the database (the ones not given stay); answers them all' },
    async ({ body }) => d.settings.update(body),
    ADMIN,
  );

  apiRoute(
    app,
    '/v1/admin/offline/jobs',
    { body: Jobs, result: AdminJobPageSchema, summary: "Every system job, newest first, with its users' tasks and live speed and peers" },
    async ({ body }) => d.offline.jobs(body),
    ADMIN,
  );
  apiRoute(
    app,
    '/v1/admin/offline/cancel',
    {
      body: Cancel,
      result: Type.Object({ cancelledTasks: Type.Integer({ description: 'Open tasks that failed with JOB_CANCELLED' }) }),
      summary: 'Cancels a job: each of its open tasks fails with JOB_CANCELLED, the engine stops and the partial data goes',
      description: "Files already in users' drives stay. Errors: JOB_NOT_FOUND.",
    },
    async ({ body }) => ({ cancelledTasks: await d.offline.cancel(body.jobId) }),
    ADMIN,
  );
  apiRoute(
    app,
    '/v1/admin/offline/engines',
    { body: Empty, result: Type.Array(EngineStatsSchema), summary: "The engines' totals now: jobs, connections, speeds, rate limits" },
    async () => d.offline.engines(),
    ADMIN,
  );

  apiRoute(
    app,
    '/v1/admin/storage/info',
    { body: Empty, result: StorageReportSchema, summary: 'Contents, deduplication, disk space, and the last collector and sweep runs' },
    async () => d.storage(),
    ADMIN,
  );
  apiRoute(
    app,
    '/v1/admin/storage/chart',
    { body: Empty, result: StatsChartSchema, summary: 'Download and upload speed and active tasks over the last 24 hours, one sample per interval' },
    async () => ({ intervalMs: d.chartIntervalMs, samples: await d.chart() }),
    ADMIN,
  );
}
