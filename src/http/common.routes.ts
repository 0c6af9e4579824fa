import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ok } from '../envelope.js';
import { envelopeResponses } from './server.js';

const Time = Type.String({ format: 'date-time', description: 'ISO 8601, e.g. 2026-12-06T20:25:57.993Z' });

/** `GET /v1/common/time`: the server's clock (ISO 8601), which 6pan's clients use to check their own. */
export function registerCommonRoutes(app: FastifyInstance): void {
  const schema = { summary: "The server's clock", tags: ['common'], operationId: 'commonTime', security: [], response: envelopeResponses(Time, false) };
  app.get('/v1/common/time', { schema }, async (_request, reply) => reply.send(ok(new Date().toISOString(), '')));
}
