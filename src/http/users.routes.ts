import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';
import { apiRoute, publicRoute } from './server.js';
import { sixpanUser } from './sixpan/answers.js';
import { UserSchema } from './sixpan/schemas.js';
import { LoginThrottled } from '../users/login-limiter.js';
import type { UsersService } from '../users/users.service.js';

const OptStr = Type.Optional(Type.String());
const Register = Type.Object({ name: OptStr, password: OptStr, phone: OptStr, code: OptStr, phoneInfo: OptStr });
/** 6pan's clients send `value` (name or phone) and md5 hex of the password; openpan's, `name` and the password. */
const Login = Type.Object({ value: OptStr, name: OptStr, password: OptStr, countryCode: OptStr });
const Name = Type.Object({ name: OptStr });
const ChangePassword = Type.Object({ oldPassword: OptStr, newPassword: OptStr });
const Any = Type.Object({});
const True = Type.Literal(true);
const SMS_DESCRIPTION = "6pan's text-message call: openpan sends no SMS and answers SMS_UNAVAILABLE (501).";

/** 6pan's text-message routes: openpan sends no SMS, and says so in words a person understands. */
const SMS_PUBLIC = ['sendRegisterMessage', 'sendLoginMessage', 'loginByMessage', 'sendChangePasswordMessage2', 'changePasswordByMessage2'];
const SMS_SIGNED_IN = ['sendChangePasswordMessage', 'changePasswordByMessage'];

function smsUnavailable(): never {
  throw new AppError(
    'SMS_UNAVAILABLE',
    'This server sends no text messages: sign in with your user name and password, or ask its operator to reset your password.',
  );
}

function required(value: string | undefined, field: string, code: '{VALUE}_REQUIRED' | '{PASSWORD}_REQUIRED' | 'BAD_REQUEST' = 'BAD_REQUEST'): string {
  if (!value) throw new AppError(code, `Field "${field}" is required.`);
  return value;
}

export function registerUserRoutes(app: FastifyInstance, users: UsersService): void {
  publicRoute(
    app,
    '/v1/user/register',
    {
      body: Register,
      result: UserSchema,
      summary: 'Creates an account and signs it in (the new session token in `token`)',
      description: 'Needs OPENPAN_REGISTRATION=open (else REGISTRATION_CLOSED). `password` is the typed password, 6 to 1024 characters.',
    },
    async ({ body }) => {
      // 6pan registered by phone with a texted code; openpan by name and password.
      if (!body.name && (body.phone || body.code || body.phoneInfo)) smsUnavailable();
      const session = await users.register(required(body.name, 'name'), required(body.password, 'password'));
      return { result: sixpanUser(session.user), token: session.token };
    },
  );
  publicRoute(
    app,
    '/v1/user/login',
    {
      body: Login,
      result: UserSchema,
      summary: 'Signs in (the new session token in `token` and in `Authorization`)',
      description:
        '`value` (or `name`) is the user name; `password` the typed password or its md5 in hex. Failed logins are limited (TOO_MANY_REQUESTS with Retry-After).',
    },
    async ({ body, request }) => {
      const session = await users.login(
        required(body.value || body.name, 'value', '{VALUE}_REQUIRED'),
        required(body.password, 'password', '{PASSWORD}_REQUIRED'),
        request.ip,
      );
      return { result: sixpanUser(session.user), token: session.token };
    },
  );
  app.addHook('onError', async (_request, reply, err) => {
    if (err instanceof LoginThrottled) reply.header('Retry-After', String(err.retryAfterSeconds));
  });
  // Signing out needs no valid session: the desktop client drops its token before it asks.
  publicRoute(app, '/v1/user/logout', { body: Any, result: True, summary: 'Ends the session the token names, if any' }, async ({ request }) => {
    if (request.bearer) await users.logout(request.bearer);
    return { result: true as const };
  });
  // The token check already read the account in this request: no second query.
  apiRoute(app, '/v1/user/info', { body: Any, result: UserSchema, summary: "The caller's account" }, async ({ user }) => sixpanUser(user.view));
  // The gateway answered `false` for an empty name, and the account for changeNameAndGet.
  apiRoute(
    app,
    '/v1/user/changeName',
    { body: Name, result: Type.Boolean(), summary: 'Renames the caller (`false` when `name` is empty)' },
    async ({ user, body }) => {
      if (!body.name) return false;
      await users.changeName(user.id, body.name);
      return true;
    },
  );
  apiRoute(
    app,
    '/v1/user/changeNameAndGet',
    {
      body: Name,
      result: Type.Union([UserSchema, Type.Literal(false)]),
      summary: 'Renames the caller and answers the account (`false` when `name` is empty)',
    },
    async ({ user, body }) => (body.name ? sixpanUser(await users.changeName(user.id, body.name)) : false),
  );
  apiRoute(
    app,
    '/v1/user/changePassword',
    {
      body: ChangePassword,
      result: UserSchema,
      summary: 'Changes the password; every other session of the account ends',
      description: '`oldPassword` typed or md5 hex; `newPassword` md5 hex (32 hex digits).',
    },
    async ({ user, body, token }) =>
      sixpanUser(await users.changePassword(user.id, required(body.oldPassword, 'oldPassword'), required(body.newPassword, 'newPassword'), token)),
  );
  // Client updates were 6pan's own builds; openpan offers none.
  publicRoute(
    app,
    '/v1/user/checkUpdate',
    {
      body: Any,
      result: Type.Array(Type.Unknown(), { maxItems: 0 }),
      summary: "6pan's client update check: always an empty list",
    },
    async () => ({ result: [] }),
  );
  const sms = { body: Any, result: Type.Never(), summary: 'Not offered: SMS_UNAVAILABLE', description: SMS_DESCRIPTION };
  for (const name of SMS_PUBLIC) publicRoute(app, `/v1/user/${name}`, sms, async () => smsUnavailable());
  for (const name of SMS_SIGNED_IN) apiRoute(app, `/v1/user/${name}`, sms, async () => smsUnavailable());
}
