import type { FastifyInstance } from 'fastify';
import { ok } from '../envelope.js';

/** `GET /v1/common/time`: the server's clock (ISO 8601), which 6pan's clients use to check their own. */
export function registerCommonRoutes(app: FastifyInstance): void {
  app.get('/v1/common/time', async (_request, reply) => reply.send(ok(new Date().toISOString(), '')));
}
