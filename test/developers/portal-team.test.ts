import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isoAt } from '../../src/lib/clock.ts';
import { cliActor } from '../../src/modules/developers/index.ts';
import { invitationsRepository } from '../../src/modules/developers/invitations-repository.ts';
import { type CookieJar, createCookieJar, followAuthorization, jarFetch } from '../helpers/oauth-flow.ts';
import { type DemoServer, startDemoServer, testDialects } from '../helpers/test-app.ts';
import { userActor } from './helpers.ts';

const csrfOf = (page: string) => /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';

/** Team management in the portal (issue 13 item 5): roles, removal, revoking invitations. */
for (const dialect of testDialects()) {
  describe(`${dialect}: portal team management`, () => {
    let t: DemoServer;
    let baseUrl: string;
    const jars: Record<string, CookieJar> = {};
    const ids: Record<string, string> = {};
    const password = (name: string) => `${name} has a long team passphrase 7`;

    const get = async (who: string, path: string) => {
      const response = await jarFetch(jars[who] as CookieJar, `${baseUrl}${path}`);
      return { response, page: await response.text() };
    };
    const post = async (who: string, path: string, form: Record<string, string>) =>
      jarFetch(jars[who] as CookieJar, `${baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
      });
    /** Posts a form with the CSRF token of the page it sits on. */
    const submit = async (
      who: string,
      pagePath: string,
      action: string,
      form: Record<string, string> = {},
    ) => {
      const { page } = await get(who, pagePath);
      return post(who, action, { csrf: csrfOf(page), ...form });
    };
    const organizations = () => t.app.services.developers.organizations;
    /** A fresh organization owned by olga, with rita and sam as developers. */
    const team = async (name: string) => {
      const org = await organizations().create(
        { name, owner: { userId: ids.olga ?? '', displayName: 'olga' } },
        cliActor,
      );
      for (const member of ['rita', 'sam'])
        await organizations().addMember(
          org.id,
          { userId: ids[member] ?? '', displayName: member, role: 'developer' },
          cliActor,
        );
      return org.id;
    };
    const roleOf = async (orgId: string, who: string) =>
      (await organizations().members(orgId, cliActor)).find((m) => m.userId === ids[who])?.role;

    before(async () => {
      t = await startDemoServer({ dialect });
      baseUrl = t.demo.baseUrl;
      for (const name of ['olga', 'rita', 'sam']) {
        const user = await t.app.services.identity.createUser({
          username: name,
          password: password(name),
          roles: ['developer'],
        });
        ids[name] = user.id;
        const jar = createCookieJar();
        const callback = await followAuthorization(jar, `${baseUrl}/portal/login`, {
          baseUrl,
          redirectUri: `${baseUrl}/portal/callback`,
          username: name,
          password: password(name),
        });
        assert.equal((await jarFetch(jar, callback.toString())).status, 303);
        jars[name] = jar;
      }
    });
    after(() => t.close());

    it('shows an owner a role selector and a remove button per member, a developer only the list', async () => {
      const orgId = await team('Team Page Co');
      const owner = await get('olga', `/portal/organizations/${orgId}`);
      assert.equal(owner.response.status, 200);
      assert.match(
        owner.page,
        new RegExp(`action="/portal/organizations/${orgId}/members/${ids.rita}/role"`),
      );
      assert.match(
        owner.page,
        new RegExp(`action="/portal/organizations/${orgId}/members/${ids.rita}/remove"`),
      );
      const developer = await get('rita', `/portal/organizations/${orgId}`);
      assert.equal(developer.response.status, 200);
      assert.doesNotMatch(developer.page, /\/members\/[^"]+\/(role|remove)"/);
      assert.match(developer.page, /rita <span class="muted small">\(you\)<\/span>/);
    });

    it("changes a member's role through the form, audited", async () => {
      const orgId = await team('Role Change Co');
      const path = `/portal/organizations/${orgId}`;
      const response = await submit('olga', path, `${path}/members/${ids.rita}/role`, { role: 'admin' });
      assert.equal(response.status, 303);
      assert.equal(response.headers.get('location'), `${path}#members`);
      assert.equal(await roleOf(orgId, 'rita'), 'admin');
      const audit = await t.app.context.audit.list({ targetType: 'organization', targetId: orgId });
      assert.equal(audit.filter((e) => e.action === 'organization.memberRoleChanged').length, 1);
      // The new admin may now manage the team too.
      const promoted = await submit('rita', path, `${path}/members/${ids.sam}/role`, { role: 'admin' });
      assert.equal(promoted.status, 303);
      assert.equal(await roleOf(orgId, 'sam'), 'admin');
    });

    it('refuses a role outside the list (400) and a developer changing roles (403), changing nothing', async () => {
      const orgId = await team('Role Refusal Co');
      const path = `/portal/organizations/${orgId}`;
      const bogus = await submit('olga', path, `${path}/members/${ids.rita}/role`, { role: 'superuser' });
      assert.equal(bogus.status, 400);
      const byDeveloper = await submit('sam', path, `${path}/members/${ids.rita}/role`, { role: 'owner' });
      assert.equal(byDeveloper.status, 403);
      assert.equal(await roleOf(orgId, 'rita'), 'developer');
    });

    it('keeps the last owner: neither demoted nor removed (409), by themselves or an admin', async () => {
      const orgId = await team('Last Owner Co');
      await organizations().changeRole(orgId, ids.rita ?? '', 'admin', userActor(ids.olga ?? ''));
      const path = `/portal/organizations/${orgId}`;
      const demoted = await submit('olga', path, `${path}/members/${ids.olga}/role`, { role: 'admin' });
      assert.equal(demoted.status, 409);
      assert.match(await demoted.text(), /last owner cannot be demoted/);
      const removed = await submit('rita', path, `${path}/members/${ids.olga}/remove`);
      assert.equal(removed.status, 409);
      assert.equal(await roleOf(orgId, 'olga'), 'owner');
      // With a second owner, the first may step down.
      await organizations().changeRole(orgId, ids.rita ?? '', 'owner', userActor(ids.olga ?? ''));
      const stepDown = await submit('olga', path, `${path}/members/${ids.olga}/role`, { role: 'developer' });
      assert.equal(stepDown.status, 303);
      assert.equal(await roleOf(orgId, 'olga'), 'developer');
    });

    it('keeps an owner when two owners demote each other at the same moment (one 409)', async () => {
      const orgId = await team('Race Co');
      await organizations().changeRole(orgId, ids.rita ?? '', 'owner', cliActor);
      const results = await Promise.allSettled([
        organizations().changeRole(orgId, ids.olga ?? '', 'developer', userActor(ids.rita ?? '')),
        organizations().changeRole(orgId, ids.rita ?? '', 'developer', userActor(ids.olga ?? '')),
      ]);
      assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
      const rejected = results.find((r) => r.status === 'rejected');
      assert.equal((rejected?.reason as { status?: number } | undefined)?.status, 409);
      const owners = (await organizations().members(orgId, cliActor)).filter((m) => m.role === 'owner');
      assert.equal(owners.length, 1);
    });

    it('removes a member, who loses access at once (404 on the organization page)', async () => {
      const orgId = await team('Removal Co');
      const path = `/portal/organizations/${orgId}`;
      assert.equal((await get('sam', path)).response.status, 200);
      const removed = await submit('olga', path, `${path}/members/${ids.sam}/remove`);
      assert.equal(removed.status, 303);
      assert.equal(await roleOf(orgId, 'sam'), undefined);
      assert.equal((await get('sam', path)).response.status, 404);
      assert.doesNotMatch((await get('sam', '/portal')).page, /Removal Co/);
      // Removing them again: there is no such member.
      assert.equal((await submit('olga', path, `${path}/members/${ids.sam}/remove`)).status, 404);
    });

    it('revokes an open invitation: gone from the page, and its link no longer works', async () => {
      const orgId = await team('Invitation Co');
      const path = `/portal/organizations/${orgId}`;
      const invitation = await organizations().invite(orgId, 'developer', userActor(ids.olga ?? ''));
      const before = await get('olga', path);
      const revokePath = `${path}/invitations/${invitation.id}/revoke`;
      assert.match(before.page, new RegExp(`action="${revokePath}"`));
      const revoked = await post('olga', revokePath, { csrf: csrfOf(before.page) });
      assert.equal(revoked.status, 303);
      assert.doesNotMatch((await get('olga', path)).page, new RegExp(invitation.id));
      assert.deepEqual(await organizations().openInvitations(orgId, cliActor), []);
      const link = new URL(invitation.link).pathname;
      const outsider = await createOutsider();
      assert.equal((await jarFetch(outsider, `${baseUrl}${link}`)).status, 404);
      // A second revoke finds nothing open.
      assert.equal((await submit('olga', path, revokePath)).status, 404);
      const audit = await t.app.context.audit.list({ targetType: 'organization', targetId: orgId });
      assert.equal(audit.filter((e) => e.action === 'organization.invitationRevoked').length, 1);
    });

    it('refuses, at the SQL step, an acceptance racing a revocation (the link was read while still open)', async () => {
      const orgId = await team('Revoke Race Co');
      const invitation = await organizations().invite(orgId, 'developer', userActor(ids.olga ?? ''));
      await organizations().revokeInvitation(orgId, invitation.id, userActor(ids.olga ?? ''));
      const at = isoAt(t.app.context.clock.now());
      assert.equal(
        await invitationsRepository.accept(t.app.context.db, invitation.id, ids.sam ?? '', at),
        false,
      );
    });

    it('does not let a developer revoke an invitation (403)', async () => {
      const orgId = await team('Invitation Guard Co');
      const path = `/portal/organizations/${orgId}`;
      const invitation = await organizations().invite(orgId, 'admin', userActor(ids.olga ?? ''));
      const response = await submit('rita', path, `${path}/invitations/${invitation.id}/revoke`);
      assert.equal(response.status, 403);
      assert.equal((await organizations().openInvitations(orgId, cliActor)).length, 1);
    });

    /** A signed-in user outside every team organization. */
    async function createOutsider(): Promise<CookieJar> {
      const name = `outsider${Object.keys(ids).length}`;
      const user = await t.app.services.identity.createUser({
        username: name,
        password: password(name),
        roles: ['developer'],
      });
      ids[name] = user.id;
      const jar = createCookieJar();
      const callback = await followAuthorization(jar, `${baseUrl}/portal/login`, {
        baseUrl,
        redirectUri: `${baseUrl}/portal/callback`,
        username: name,
        password: password(name),
      });
      await jarFetch(jar, callback.toString());
      return jar;
    }
  });
}
