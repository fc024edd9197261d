import { AppError, problems } from '../../errors/index.ts';
import type { Clock } from '../../lib/clock.ts';
import { isoAt } from '../../lib/clock.ts';
import { sha256Hex } from '../../lib/hash.ts';
import { newId, randomBase62 } from '../../lib/ids.ts';
import type { AuditLog } from '../audit/index.ts';
import type { Access, Actor } from './access.ts';
import type { DevelopersRepository } from './developers-repository.ts';
import { MEMBER_ROLES, type Member, type MemberRole, type Organization } from './model.ts';

const INVITATION_TTL_MS = 7 * 24 * 3600 * 1000;

/** Organizations, their members and invitation links (the token is shown once; only its hash is kept). */
export function createOrganizations(deps: {
  repo: DevelopersRepository;
  access: Access;
  clock: Clock;
  audit: AuditLog;
  baseUrl: string;
}) {
  const { repo, access, clock, audit, baseUrl } = deps;
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
      await repo.db.transaction().execute(async (trx) => {
        await repo.insertOrganization({ ...org, createdBy: actor.id }, trx);
        if (owner) {
          await repo.upsertMember(
            {
              organizationId: org.id,
              userId: owner.userId,
              displayName: owner.displayName,
              role: 'owner',
              createdAt: at,
            },
            trx,
          );
        }
        await audit.record(
          {
            actor: { type: actor.type, id: actor.id },
            action: 'organization.created',
            target: { type: 'organization', id: org.id },
            after: { name, owner: owner?.userId ?? null },
            requestId: actor.requestId,
          },
          trx,
        );
      });
      return org;
    },

    async list(actor: Actor): Promise<Organization[]> {
      return repo.listOrganizations(await access.visibleOrganizations(actor));
    },

    async get(organizationId: string, actor: Actor): Promise<Organization> {
      await access.requireOrganization(actor, organizationId, 'read');
      const org = await repo.findOrganization(organizationId);
      if (!org) throw problems.notFound();
      return org;
    },

    async members(organizationId: string, actor: Actor): Promise<Member[]> {
      await access.requireOrganization(actor, organizationId, 'read');
      return repo.listMembers(organizationId);
    },

    /** The role of the actor in each of their organizations. */
    async rolesOf(userId: string): Promise<Map<string, MemberRole>> {
      return repo.membershipsOf(userId);
    },

    async addMember(
      organizationId: string,
      member: { userId: string; displayName: string; role: MemberRole },
      actor: Actor,
    ): Promise<void> {
      await access.requireOrganization(actor, organizationId, 'manage');
      if (!MEMBER_ROLES.includes(member.role)) throw problems.badRequest('Unknown member role.');
      await repo.db.transaction().execute(async (trx) => {
        await repo.upsertMember({ organizationId, ...member, createdAt: isoAt(now()) }, trx);
        await audit.record(
          {
            actor: { type: actor.type, id: actor.id },
            action: 'organization.memberAdded',
            target: { type: 'organization', id: organizationId },
            after: { userId: member.userId, role: member.role },
            requestId: actor.requestId,
          },
          trx,
        );
      });
    },

    async removeMember(organizationId: string, userId: string, actor: Actor): Promise<void> {
      await access.requireOrganization(actor, organizationId, 'manage');
      const members = await repo.listMembers(organizationId);
      const target = members.find((m) => m.userId === userId);
      if (!target) throw problems.notFound();
      if (target.role === 'owner' && members.filter((m) => m.role === 'owner').length === 1) {
        throw problems.conflict('An organization keeps at least one owner.');
      }
      await repo.db.transaction().execute(async (trx) => {
        await repo.deleteMember(organizationId, userId, trx);
        await audit.record(
          {
            actor: { type: actor.type, id: actor.id },
            action: 'organization.memberRemoved',
            target: { type: 'organization', id: organizationId },
            before: { userId, role: target.role },
            requestId: actor.requestId,
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
      if (!MEMBER_ROLES.includes(role)) throw problems.badRequest('Unknown member role.');
      const token = randomBase62(32);
      const id = newId('inv');
      const expiresAt = isoAt(now() + INVITATION_TTL_MS);
      await repo.db.transaction().execute(async (trx) => {
        await repo.insertInvitation(
          {
            id,
            organizationId,
            role,
            tokenHash: sha256Hex(token),
            createdBy: actor.id,
            createdAt: isoAt(now()),
            expiresAt,
          },
          trx,
        );
        await audit.record(
          {
            actor: { type: actor.type, id: actor.id },
            action: 'organization.invitationCreated',
            target: { type: 'organization', id: organizationId },
            after: { invitationId: id, role, expiresAt },
            requestId: actor.requestId,
          },
          trx,
        );
      });
      return { id, link: `${baseUrl}/portal/invitations/${token}`, expiresAt };
    },

    async openInvitations(organizationId: string, actor: Actor) {
      await access.requireOrganization(actor, organizationId, 'manage');
      return repo.listOpenInvitations(organizationId, isoAt(now()));
    },

    /** Accept an invitation as the signed-in user; 404 for unknown, used or expired links alike. */
    async accept(token: string, user: { userId: string; displayName: string }): Promise<Organization> {
      const invitation = await repo.findInvitationByHash(sha256Hex(token));
      if (!invitation || invitation.accepted_at || Date.parse(invitation.expires_at) <= now()) {
        throw problems.notFound('This invitation link is not valid (unknown, already used or expired).');
      }
      const at = isoAt(now());
      await repo.db.transaction().execute(async (trx) => {
        if (!(await repo.acceptInvitation(invitation.id, user.userId, at, trx))) throw problems.notFound();
        const existing = (await repo.membershipsOf(user.userId, trx)).get(invitation.organization_id);
        if (!existing) {
          await repo.upsertMember(
            {
              organizationId: invitation.organization_id,
              userId: user.userId,
              displayName: user.displayName,
              role: invitation.role as MemberRole,
              createdAt: at,
            },
            trx,
          );
        }
        await audit.record(
          {
            actor: { type: 'user', id: user.userId },
            action: 'organization.invitationAccepted',
            target: { type: 'organization', id: invitation.organization_id },
            after: { invitationId: invitation.id, role: invitation.role },
          },
          trx,
        );
      });
      const org = await repo.findOrganization(invitation.organization_id);
      if (!org) throw problems.notFound();
      return org;
    },
  };
}

export type Organizations = ReturnType<typeof createOrganizations>;
