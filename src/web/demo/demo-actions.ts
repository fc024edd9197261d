import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { dateIn } from '../../banking/index.ts';
import { type Form, type FormRequest, field, form, postForm, withDefault } from '../../http/web/index.ts';
import { type ApiAnswer, callApi } from './demo-api.ts';
import { ID, type SignedIn, signedIn } from './demo-home.ts';
import type { DemoRuntime } from './demo-session.ts';

const PROBES = ['balances', 'transferOut', 'otherAccount', 'unmasked', 'allApplications', 'noToken'] as const;
type Probe = (typeof PROBES)[number];

// The demo shows the API's own answer to what was typed, so fields are only bounded here, not judged.
const transferForm = form({
  idempotencyKey: withDefault(field.text(64), ''),
  source: withDefault(field.text(64), ''),
  target: withDefault(field.text(64), ''),
  amount: withDefault(field.text(20), ''),
  date: withDefault(field.text(32), ''),
  memo: withDefault(field.text(140), ''),
});
const emptyForm = form({});
const probeForm = form({ probe: field.oneOf(PROBES) });

/**
 * The /demo/ client's actions: each makes one API call through the gateway as the signed-in user and shows
 * the gateway's answer, as it is, on the next page.
 */
export function registerDemoActions(scope: FastifyInstance, runtime: DemoRuntime): void {
  const { app, context } = runtime;

  /** A signed-in action: make the call, keep its answer for the next page, go back to /demo/. */
  function action<V>(
    url: string,
    schema: Form<V>,
    call: (
      ctx: SignedIn,
      request: FormRequest<V>,
    ) => Promise<{ answer: ApiAnswer; title: string } | undefined>,
  ) {
    postForm(scope, url, schema, async (request, reply: FastifyReply) => {
      const ctx = await signedIn(runtime, request, reply);
      if (!ctx) return reply;
      const result = await call(ctx, request);
      if (!result) return reply.callNotFound();
      const { answer, title } = result;
      await runtime.flash.set(ctx.session, {
        title,
        status: answer.status,
        body: answer.body,
        request: answer.request,
      });
      return reply.redirect('/demo/', 303);
    });
  }
  const titled = (answer: ApiAnswer, ok: string, refused: string) => ({
    answer,
    title: answer.status < 300 ? ok : refused,
  });

  action('/demo/transfers', transferForm, async (ctx, request) => {
    const values = request.body;
    const body: Record<string, unknown> = {
      sourceAccount: { id: values.source.trim() },
      targetAccount: { id: values.target.trim() },
      amount: { value: values.amount.trim(), currency: 'USD' },
      schedule: { start: values.date, frequency: 'once' },
    };
    if (values.memo) body.memo = values.memo;
    const answer = await callApi(app, ctx.credentials, 'POST', '/transfers/scheduledTransfers', {
      body,
      headers: { 'idempotency-key': values.idempotencyKey || randomUUID() },
    });
    return titled(answer, 'Transfer scheduled', 'Transfer refused');
  });

  action('/demo/transfers/:transferId/cancel', emptyForm, async (ctx, request) => {
    const { transferId = '' } = request.params;
    if (!ID.test(transferId)) return undefined;
    const answer = await callApi(
      app,
      ctx.credentials,
      'DELETE',
      `/transfers/scheduledTransfers/${transferId}`,
    );
    return titled(answer, 'Transfer canceled', 'Cancel refused');
  });

  action('/demo/applications/:applicationId/:decision', emptyForm, async (ctx, request) => {
    const { applicationId = '', decision } = request.params;
    if (!ID.test(applicationId) || (decision !== 'approve' && decision !== 'reject')) return undefined;
    const answer = await callApi(
      app,
      ctx.credentials,
      'POST',
      `/accountApplications/accountApplications/${applicationId}/${decision}`,
      { body: decision === 'reject' ? { reason: 'Rejected in the demo back office.' } : {} },
    );
    const done = `Application ${decision === 'approve' ? 'approved' : 'rejected'}`;
    return titled(answer, done, 'Decision refused');
  });

  action('/demo/try', probeForm, async (ctx, request) => ({
    answer: await probe(ctx, request.body.probe),
    title: 'What the gateway answered',
  }));

  /** One call that shows a rule of the security model at work for the signed-in user. */
  async function probe(ctx: SignedIn, which: Probe): Promise<ApiAnswer> {
    const accounts = await callApi(app, ctx.credentials, 'GET', '/accounts/accounts?limit=100');
    const ids =
      accounts.status === 200 ? (accounts.body as { items: { id: string }[] }).items.map((a) => a.id) : [];
    // Accounts of the demo institution that this user is not entitled to (from demo.json's entitlements).
    const everyAccount = ctx.demo.users.flatMap((u) =>
      u.entitlements.filter((e) => e.resource === 'account' && e.id !== '*').map((e) => e.id),
    );
    const foreign = everyAccount.find((id) => !ids.includes(id)) ?? 'acc_doesNotExist0000000';
    const get = (url: string) => callApi(app, ctx.credentials, 'GET', url);
    switch (which) {
      case 'balances':
        return get(`/accounts/accounts/${ids[0] ?? foreign}/balance`);
      case 'transferOut': {
        const [from = foreign, to = foreign] = ids.length >= 2 ? ids.slice(-2) : [ids[0] ?? foreign, foreign];
        return callApi(app, ctx.credentials, 'POST', '/transfers/scheduledTransfers', {
          body: {
            sourceAccount: { id: from },
            targetAccount: { id: to },
            amount: { value: '1.00', currency: 'USD' },
            schedule: { start: dateIn(context.config.timeZone, context.clock.now()) },
            memo: 'Demo probe',
          },
          headers: { 'idempotency-key': randomUUID() },
        });
      }
      case 'otherAccount':
        return get(`/accounts/accounts/${foreign}`);
      case 'unmasked':
        return get(`/accounts/accounts/${ids.at(-1) ?? foreign}?unmasked=true`);
      case 'allApplications':
        return get('/accountApplications/accountApplications?state=pending');
      case 'noToken':
        return callApi(
          app,
          { apiKey: ctx.credentials.apiKey, accessToken: undefined },
          'GET',
          '/accounts/accounts',
        );
    }
  }
}
