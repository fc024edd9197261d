import type { Executor } from '../../db/index.ts';
import { AppError, problems } from '../../errors/index.ts';
import type { AuditEvent } from '../audit/index.ts';
import type { Principal } from '../gateway/contract.ts';
import { applicationsRepository } from './applications-repository.ts';
import type { ClientApplication, MemberRole } from './model.ts';
import { organizationsRepository } from './organizations-repository.ts';

/**
 * Who is acting. `institution` actors (the FI administrator's `admin/full`, the CLI, the system itself)
 * see and may change every organization; users see only organizations they are members of.
 */
export interface Actor {
  type: 'user' | 'cli' | 'system';
  id: string | null;
  institution: boolean;
  requestId?: string;
}

export const systemActor: Actor = Object.freeze({ type: 'system', id: null, institution: true });
export const cliActor: Actor = Object.freeze({ type: 'cli', id: null, institution: true });

/** The actor part of an audit record: who, and the request they acted in. */
export function auditedBy(actor: Actor): Pick<AuditEvent, 'actor' | 'requestId'> {
  return { actor: { type: actor.type, id: actor.id }, requestId: actor.requestId };
}

/** The actor of a platform API call (the gateway expands `admin/full` ⇒ `admin/*`). */
export function actorFromPrincipal(principal: Principal | undefined, requestId: string): Actor {
  if (!principal?.userId) {
    // Operations of these APIs always need a user's token; a bare key gets nothing.
    throw new AppError('forbidden', {
      detail: 'This operation needs a user access token.',
      reason: 'noUser',
    });
  }
  return {
    type: 'user',
    id: principal.userId,
    institution: principal.scopes.has('admin/full'),
    requestId,
  };
}

export function actorFromScopes(userId: string, scopes: readonly string[], requestId?: string): Actor {
  return { type: 'user', id: userId, institution: scopes.includes('admin/full'), requestId };
}

/** 403 unless the actor acts for the institution. */
export function requireInstitution(actor: Actor, what: string): void {
  if (!actor.institution) {
    throw new AppError('forbidden', {
      detail: `Only the institution's administrator may ${what}.`,
      reason: 'notInstitution',
    });
  }
}

/** What a member role may do inside its organization. */
type Need = 'read' | 'write' | 'manage';
const ROLE_ALLOWS: Record<MemberRole, readonly Need[]> = {
  owner: ['read', 'write', 'manage'],
  admin: ['read', 'write', 'manage'],
  developer: ['read', 'write'],
};

/**
 * The one authorization rule of the developers module, shared by the platform API handlers, the portal
 * and the CLI: a resource outside the caller's organizations does not exist for them (404, identical to
 * a missing id); inside, the member role decides (403).
 */
export function createAccess(db: Executor) {
  async function roleIn(
    actor: Actor,
    organizationId: string,
  ): Promise<MemberRole | 'institution' | undefined> {
    if (actor.institution) return 'institution';
    if (!actor.id) return undefined;
    return (await organizationsRepository.membershipsOf(db, actor.id)).get(organizationId);
  }

  return {
    /** Organization ids the actor may see, or `*`. */
    async visibleOrganizations(actor: Actor): Promise<string[] | '*'> {
      if (actor.institution) return '*';
      if (!actor.id) return [];
      return [...(await organizationsRepository.membershipsOf(db, actor.id)).keys()];
    },

    async requireOrganization(actor: Actor, organizationId: string, need: Need): Promise<void> {
      const role = await roleIn(actor, organizationId);
      if (!role) throw problems.notFound();
      if (role !== 'institution' && !ROLE_ALLOWS[role].includes(need)) {
        throw new AppError('forbidden', {
          detail: `Your role in this organization (${role}) does not allow this.`,
          reason: `memberRole:${role}`,
        });
      }
    },

    /**
     * The application if the actor may `need` it; 404 for other organizations and deleted apps. A
     * first-party application (it skips consent) belongs to the institution (DESIGN.md §5.1): it does not
     * exist for anyone else, whatever organization it sits in — changing its redirect URIs or secret would
     * hand its users' codes, the FI administrator's included, to whoever did it.
     */
    async requireApplication(actor: Actor, applicationId: string, need: Need): Promise<ClientApplication> {
      const app = await applicationsRepository.find(db, applicationId);
      if (!app || app.state === 'deleted') throw problems.notFound();
      if (app.firstParty && !actor.institution) throw problems.notFound();
      await this.requireOrganization(actor, app.organizationId, need);
      return app;
    },

    requireInstitution,
  };
}

export type Access = ReturnType<typeof createAccess>;
