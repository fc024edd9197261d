import type { FastifyInstance } from 'fastify';
import type { ModuleContext } from '../../modules/module-context.ts';

/** The /demo/ back-office browser client (placeholder until built). */
export function registerDemoClient(_app: FastifyInstance, _context: ModuleContext): void {}
