import type { FastifyInstance } from 'fastify';

/** What a worker says of itself at `GET /health`. */
export interface WorkerHealth {
  status: 'ok';
  role: 'worker';
  /** This worker's id in the `owner` column of the jobs it drives. */
  workerId: string;
  /** Offline jobs it holds a lease of now. */
  jobs: number;
}

/**
 * `GET /health`: the one route of a worker (OPENPAN_ROLE=worker), for a supervisor or a load
 * balancer's check. Plain JSON, no envelope: it is no part of the 6pan API.
 */
export function registerHealthRoute(app: FastifyInstance, health: () => WorkerHealth): void {
  app.get('/health', async (_request, reply) => reply.header('cache-control', 'no-store').send(health()));
}
