import { isoAt } from '../../../lib/clock.ts';
import { sha256Hex } from '../../../lib/hash.ts';
import { invitationsRepository } from '../invitations-repository.ts';
import { organizationsRepository } from '../organizations-repository.ts';
import type { Portal } from './portal-context.ts';

/** What an invitation link offers, for the page that asks to accept it; undefined once used or expired. */
export async function invitationDetails(portal: Portal, token: string) {
  const { db, clock } = portal.deps.context;
  const invitation = await invitationsRepository.findByHash(db, sha256Hex(token));
  if (!invitation || invitation.acceptedAt || invitation.expiresAt <= isoAt(clock.now())) return undefined;
  const org = await organizationsRepository.find(db, invitation.organizationId);
  const inviter = invitation.createdBy ? await portal.deps.identity.getUser(invitation.createdBy) : undefined;
  return {
    organizationName: org?.name ?? invitation.organizationId,
    role: invitation.role,
    inviter: inviter?.username,
    expiresAt: invitation.expiresAt,
  };
}
