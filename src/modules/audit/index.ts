export { type AuditEntry, type AuditEvent, type AuditLog, createAuditLog } from './audit-log.ts';
