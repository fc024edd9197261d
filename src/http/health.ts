import type { FastifyInstance } from 'fastify';

/** `/health/live` (the process answers) and `/health/ready` (the store answers); no credentials. */
export function registerHealthRoutes(app: FastifyInstance, deps: { isReady: () => Promise<boolean> }): void {
  app.get('/health/live', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return { status: 'live' };
  });
  app.get('/health/ready', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    const ready = await deps.isReady();
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable' });
  });
}
