import type { FastifyInstance } from 'fastify';

/** What `/health/ready` answers: its status decides the HTTP status (`unavailable` → 503). */
export interface ReadinessAnswer {
  status: 'ready' | 'degraded' | 'unavailable';
  checks: Record<string, string>;
}

/**
 * `/health/live` (the process answers; touches no dependency) and `/health/ready` (DESIGN.md §5.2:
 * `ready` or `degraded` → 200, `unavailable` → 503); no credentials.
 */
export function registerHealthRoutes(
  app: FastifyInstance,
  deps: { readiness: () => Promise<ReadinessAnswer> },
): void {
  app.get('/health/live', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return { status: 'live' };
  });
  app.get('/health/ready', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    const answer = await deps.readiness();
    return reply.code(answer.status === 'unavailable' ? 503 : 200).send(answer);
  });
}
