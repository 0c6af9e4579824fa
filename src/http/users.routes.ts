import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';
import { apiRoute, publicRoute } from './server.js';
import { sixpanUser } from './sixpan/answers.js';
import { LoginThrottled } from '../users/login-limiter.js';
import type { UsersService } from '../users/users.service.js';

const OptStr = Type.Optional(Type.String());
const Register = Type.Object({ name: OptStr, password: OptStr, phone: OptStr, code: OptStr, phoneInfo: OptStr });
/** 6pan's clients send `value` (name or phone) and md5 hex of the password; openpan's, `name` and the password. */
const Login = Type.Object({ value: OptStr, name: OptStr, password: OptStr, countryCode: OptStr });
const Name = Type.Object({ name: OptStr });
const ChangePassword = Type.Object({ oldPassword: OptStr, newPassword: OptStr });
const Any = Type.Object({});

/** 6pan's text-message routes: openpan sends no SMS, and says so in words a person understands. */
const SMS_PUBLIC = ['sendRegisterMessage', 'sendLoginMessage', 'loginByMessage', 'sendChangePasswordMessage2', 'changePasswordByMessage2'];
const SMS_SIGNED_IN = ['sendChangePasswordMessage', 'changePasswordByMessage'];

function smsUnavailable(): never {
  throw new AppError('SMS_UNAVAILABLE', 'This server sends no text messages: sign in with your user name and password, or ask its operator to reset your password.');
}

function required(value: string | undefined, field: string, code: '{VALUE}_REQUIRED' | '{PASSWORD}_REQUIRED' | 'BAD_REQUEST' = 'BAD_REQUEST'): string {
  if (!value) throw new AppError(code, `Field "${field}" is required.`);
  return value;
}

export function registerUserRoutes(app: FastifyInstance, users: UsersService): void {
  publicRoute(app, '/v1/user/register', Register, async ({ body }) => {
    // 6pan registered by phone with a texted code; openpan by name and password.
    if (!body.name && (body.phone || body.code || body.phoneInfo)) smsUnavailable();
    const session = await users.register(required(body.name, 'name'), required(body.password, 'password'));
    return { result: sixpanUser(session.user), token: session.token };
  });
  publicRoute(app, '/v1/user/login', Login, async ({ body, request }) => {
    const session = await users.login(required(body.value || body.name, 'value', '{VALUE}_REQUIRED'), required(body.password, 'password', '{PASSWORD}_REQUIRED'), request.ip);
    return { result: sixpanUser(session.user), token: session.token };
  });
  app.addHook('onError', async (_request, reply, err) => {
    if (err instanceof LoginThrottled) reply.header('Retry-After', String(err.retryAfterSeconds));
  });
  // Signing out needs no valid session: the desktop client drops its token before it asks.
  publicRoute(app, '/v1/user/logout', Any, async ({ request }) => {
    if (request.bearer) await users.logout(request.bearer);
    return { result: true };
  });
  // The token check already read the account in this request: no second query.
  apiRoute(app, '/v1/user/info', Any, async ({ user }) => sixpanUser(user.view));
  // The gateway answered `false` for an empty name, and the account for changeNameAndGet.
  apiRoute(app, '/v1/user/changeName', Name, async ({ user, body }) => {
    if (!body.name) return false;
    await users.changeName(user.id, body.name);
    return true;
  });
  apiRoute(app, '/v1/user/changeNameAndGet', Name, async ({ user, body }) =>
    body.name ? sixpanUser(await users.changeName(user.id, body.name)) : false,
  );
  apiRoute(app, '/v1/user/changePassword', ChangePassword, async ({ user, body, token }) =>
    sixpanUser(await users.changePassword(user.id, required(body.oldPassword, 'oldPassword'), required(body.newPassword, 'newPassword'), token)),
  );
  // Client updates were 6pan's own builds; openpan offers none.
  publicRoute(app, '/v1/user/checkUpdate', Any, async () => ({ result: [] }));
  for (const name of SMS_PUBLIC) publicRoute(app, `/v1/user/${name}`, Any, async () => smsUnavailable());
  for (const name of SMS_SIGNED_IN) apiRoute(app, `/v1/user/${name}`, Any, async () => smsUnavailable());
}
