import type { Kysely } from 'kysely';
import type { Database, Executor } from '../../db/index.ts';
import { AppError, problems } from '../../errors/index.ts';
import { type Clock, isoAt, parseIso } from '../../lib/clock.ts';
import { sha256Hex } from '../../lib/hash.ts';
import { newId, randomBase62 } from '../../lib/ids.ts';
import type { AuditLog } from '../audit/index.ts';
import { type Access, type Actor, auditedBy } from './access.ts';
import { invitationsRepository as invitations } from './invitations-repository.ts';
import { MEMBER_ROLES, type Member, type MemberRole, type Organization } from './model.ts';
import { organizationsRepository as organizations } from './organizations-repository.ts';
import { oneOf } from './rules.ts';

const INVITATION_TTL_MS = 7 * 24 * 3600 * 1000;

/** The member, or 404. */
async function memberOf(ex: Executor, organizationId: string, userId: string): Promise<Member> {
  const member = (await organizations.listMembers(ex, organizationId)).find((m) => m.userId === userId);
  if (!member) throw problems.notFound('This person is not a member of the organization.');
  return member;
}

/** The member, unless they are its last owner (409: an organization keeps at least one owner). */
async function memberOrOwnerGuard(
  ex: Executor,
  organizationId: string,
  userId: string,
  change: 'removed' | 'demoted',
): Promise<Member> {
  const members = await organizations.listMembers(ex, organizationId);
  const target = members.find((m) => m.userId === userId);
  if (!target) throw problems.notFound('This person is not a member of the organization.');
  if (target.role === 'owner' && members.filter((m) => m.role === 'owner').length === 1) {
    throw problems.conflict(`The last owner cannot be ${change}: an organization keeps at least one owner.`);
  }
  return target;
}

/** Organizations, their members and invitation links (the token is shown once; only its hash is kept). */
export function createOrganizations(deps: {
  db: Kysely<Database>;
  access: Access;
  clock: Clock;
  audit: AuditLog;
  baseUrl: string;
}) {
  const { db, access, clock, audit, baseUrl } = deps;
  const now = () => clock.now();

  return {
    async create(
      input: { name: string; owner?: { userId: string; displayName: string } },
      actor: Actor,
    ): Promise<Organization> {
      const name = input.name.trim();
      if (!name || name.length > 200) {
        throw new AppError('badRequest', {
          detail: 'The organization needs a name of 1 to 200 characters.',
          errors: [{ in: 'body', name: 'name', message: 'must be 1 to 200 characters' }],
        });
      }
      const owner =
        input.owner ??
        (actor.type === 'user' && actor.id ? { userId: actor.id, displayName: actor.id } : undefined);
      const at = isoAt(now());
      const org: Organization = { id: newId('org'), name, createdAt: at, updatedAt: at };
      await db.transaction().execute(async (trx) => {
        await organizations.insert(trx, { ...org, createdBy: actor.id });
        if (owner) {
          await organizations.upsertMember(trx, {
            organizationId: org.id,
            userId: owner.userId,
            displayName: owner.displayName,
            role: 'owner',
            createdAt: at,
          });
        }
        await audit.record(
          {
            ...auditedBy(actor),
            action: 'organization.created',
            target: { type: 'organization', id: org.id },
            after: { name, owner: owner?.userId ?? null },
          },
          trx,
        );
      });
      return org;
    },

    async list(actor: Actor): Promise<Organization[]> {
      return organizations.list(db, await access.visibleOrganizations(actor));
    },

    async get(organizationId: string, actor: Actor): Promise<Organization> {
      await access.requireOrganization(actor, organizationId, 'read');
      const org = await organizations.find(db, organizationId);
      if (!org) throw problems.notFound();
      return org;
    },

    async members(organizationId: string, actor: Actor): Promise<Member[]> {
      await access.requireOrganization(actor, organizationId, 'read');
      return organizations.listMembers(db, organizationId);
    },

    /** The role of the actor in each of their organizations. */
    async rolesOf(userId: string): Promise<Map<string, MemberRole>> {
      return organizations.membershipsOf(db, userId);
    },

    async addMember(
      organizationId: string,
      member: { userId: string; displayName: string; role: MemberRole },
      actor: Actor,
    ): Promise<void> {
      await access.requireOrganization(actor, organizationId, 'manage');
      const role = oneOf('role', MEMBER_ROLES, member.role);
      await db.transaction().execute(async (trx) => {
        await organizations.upsertMember(trx, { organizationId, ...member, role, createdAt: isoAt(now()) });
        await audit.record(
          {
            ...auditedBy(actor),
            action: 'organization.memberAdded',
            target: { type: 'organization', id: organizationId },
            after: { userId: member.userId, role },
          },
          trx,
        );
      });
    },

    /** Remove a member (their access ends at once); the last owner stays (409). */
    async removeMember(organizationId: string, userId: string, actor: Actor): Promise<void> {
      await access.requireOrganization(actor, organizationId, 'manage');
      await db.transaction().execute(async (trx) => {
        await organizations.lock(trx, organizationId, isoAt(now()));
        const target = await memberOrOwnerGuard(trx, organizationId, userId, 'removed');
        await organizations.deleteMember(trx, organizationId, userId);
        await audit.record(
          {
            ...auditedBy(actor),
            action: 'organization.memberRemoved',
            target: { type: 'organization', id: organizationId },
            before: { userId, role: target.role },
          },
          trx,
        );
      });
    },

    /** Change a member's role; the last owner cannot be demoted (409). */
    async changeRole(organizationId: string, userId: string, role: MemberRole, actor: Actor): Promise<void> {
      await access.requireOrganization(actor, organizationId, 'manage');
      const next = oneOf('role', MEMBER_ROLES, role);
      await db.transaction().execute(async (trx) => {
        await organizations.lock(trx, organizationId, isoAt(now()));
        const target =
          next === 'owner'
            ? await memberOf(trx, organizationId, userId)
            : await memberOrOwnerGuard(trx, organizationId, userId, 'demoted');
        if (target.role === next) return;
        await organizations.setMemberRole(trx, organizationId, userId, next);
        await audit.record(
          {
            ...auditedBy(actor),
            action: 'organization.memberRoleChanged',
            target: { type: 'organization', id: organizationId },
            before: { userId, role: target.role },
            after: { userId, role: next },
          },
          trx,
        );
      });
    },

    /** Revoke an open invitation: its link stops working at once; 404 for used, expired or unknown ones. */
    async revokeInvitation(organizationId: string, invitationId: string, actor: Actor): Promise<void> {
      await access.requireOrganization(actor, organizationId, 'manage');
      await db.transaction().execute(async (trx) => {
        if (!(await invitations.revoke(trx, organizationId, invitationId, isoAt(now())))) {
          throw problems.notFound('This invitation is not open (unknown, already used, expired or revoked).');
        }
        await audit.record(
          {
            ...auditedBy(actor),
            action: 'organization.invitationRevoked',
            target: { type: 'organization', id: organizationId },
            before: { invitationId },
          },
          trx,
        );
      });
    },

    /** A single-use invitation link valid for 7 days; the link is returned once. */
    async invite(
      organizationId: string,
      role: MemberRole,
      actor: Actor,
    ): Promise<{ id: string; link: string; expiresAt: string }> {
      await access.requireOrganization(actor, organizationId, 'manage');
      oneOf('role', MEMBER_ROLES, role);
      const token = randomBase62(32);
      const id = newId('inv');
      const expiresAt = isoAt(now() + INVITATION_TTL_MS);
      await db.transaction().execute(async (trx) => {
        await invitations.insert(trx, {
          id,
          organizationId,
          role,
          tokenHash: sha256Hex(token),
          createdBy: actor.id,
          createdAt: isoAt(now()),
          expiresAt,
        });
        await audit.record(
          {
            ...auditedBy(actor),
            action: 'organization.invitationCreated',
            target: { type: 'organization', id: organizationId },
            after: { invitationId: id, role, expiresAt },
          },
          trx,
        );
      });
      return { id, link: `${baseUrl}/portal/invitations/${token}`, expiresAt };
    },

    async openInvitations(organizationId: string, actor: Actor) {
      await access.requireOrganization(actor, organizationId, 'manage');
      return invitations.listOpen(db, organizationId, isoAt(now()));
    },

    /** Accept an invitation as the signed-in user; 404 for unknown, used or expired links alike. */
    async accept(token: string, user: { userId: string; displayName: string }): Promise<Organization> {
      const invitation = await invitations.findByHash(db, sha256Hex(token));
      if (!invitation || invitation.acceptedAt || parseIso(invitation.expiresAt) <= now()) {
        throw problems.notFound('This invitation link is not valid (unknown, already used or expired).');
      }
      const at = isoAt(now());
      await db.transaction().execute(async (trx) => {
        if (!(await invitations.accept(trx, invitation.id, user.userId, at))) throw problems.notFound();
        const existing = (await organizations.membershipsOf(trx, user.userId)).get(invitation.organizationId);
        if (!existing) {
          await organizations.upsertMember(trx, {
            organizationId: invitation.organizationId,
            userId: user.userId,
            displayName: user.displayName,
            role: invitation.role,
            createdAt: at,
          });
        }
        await audit.record(
          {
            actor: { type: 'user', id: user.userId },
            action: 'organization.invitationAccepted',
            target: { type: 'organization', id: invitation.organizationId },
            after: { invitationId: invitation.id, role: invitation.role },
          },
          trx,
        );
      });
      const org = await organizations.find(db, invitation.organizationId);
      if (!org) throw problems.notFound();
      return org;
    },
  };
}

export type Organizations = ReturnType<typeof createOrganizations>;
