import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.ts';

/**
 * Where a repository function runs its SQL: the database itself, or a transaction a service opened.
 * Every repository function takes one, so a service can compose several repositories in one transaction.
 */
export type Executor = Kysely<Database> | Transaction<Database>;
