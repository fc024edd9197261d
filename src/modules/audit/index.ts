export {
  ACTOR_TYPES,
  type ActorType,
  type AuditEntry,
  type AuditEvent,
  type AuditLog,
  createAuditLog,
} from './audit-log.ts';
