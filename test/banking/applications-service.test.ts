import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { NewApplication } from '../../src/banking/applications/applications-service.ts';
import { SAMPLE_PDF } from '../../src/banking/demo-seed.ts';
import { AppError } from '../../src/errors/index.ts';
import { createManualClock, type ManualClock } from '../../src/lib/clock.ts';
import { rejectsWith } from '../helpers/assertions.ts';
import { createTestApp, type TestApp, testDialects } from '../helpers/test-app.ts';
import { bankingOf, ensureProducts } from './banking-fixtures.ts';

const APPLICANT = 'usr_applicant_apps';
const OTHER = 'usr_other_apps';
const REVIEWER = 'usr_reviewer_apps';
const applicant = { userId: APPLICANT, reviewer: false };
const reviewer = { userId: REVIEWER, reviewer: true };

const application = (overrides: Partial<NewApplication> = {}): NewApplication => ({
  productId: 'prd_highYieldSavings',
  applicant: {
    firstName: 'Erin',
    lastName: 'Example',
    email: 'erin@example.com',
    dateOfBirth: '1990-01-02',
    address: { line1: '1 Main St', city: 'Springfield', region: 'IL', postalCode: '62704', country: 'US' },
  },
  identityDocument: { type: 'passport', number: 'X98765432', issuingCountry: 'US', expiresOn: '2031-01-01' },
  initialDeposit: { value: '250.00', currency: 'USD' },
  ...overrides,
});

for (const dialect of testDialects()) {
  describe(`account applications service (${dialect})`, () => {
    let t: TestApp;
    let clock: ManualClock;
    before(async () => {
      clock = createManualClock(Date.parse('2026-11-29T10:00:00Z'));
      t = await createTestApp({ dialect, clock });
      await ensureProducts(t);
    });
    after(() => t.close());

    test('a new application is incomplete, masks the document number and expires in 30 days', async () => {
      const { body } = await bankingOf(t).applications.create(APPLICANT, application(), clock.now());
      assert.equal(body.state, 'incomplete');
      assert.equal(body.identityDocument.number, '****5432');
      assert.equal(body.expiresAt, '2026-12-29T10:00:00.000Z');
      assert.equal(body.documentCount, 0);
    });

    test('uploading the identity document makes it pending; the reviewer can download it unchanged', async () => {
      const { applications } = bankingOf(t);
      const { body } = await applications.create(APPLICANT, application(), clock.now());
      const document = await applications.upload(
        APPLICANT,
        body.id,
        { kind: 'identityDocument', contentType: 'application/pdf', content: SAMPLE_PDF },
        clock.now(),
      );
      assert.equal((await applications.get(body.id, applicant)).body.state, 'pending');
      const content = await applications.documentContent(body.id, document.id, reviewer);
      assert.equal(content.contentType, 'application/pdf');
      assert.deepEqual(content.content, SAMPLE_PDF);
    });

    test('the stored document is encrypted at rest', async () => {
      const { applications } = bankingOf(t);
      const { body } = await applications.create(APPLICANT, application(), clock.now());
      await applications.upload(
        APPLICANT,
        body.id,
        { kind: 'identityDocument', contentType: 'application/pdf', content: SAMPLE_PDF },
        clock.now(),
      );
      const row = await t.app.context.db
        .selectFrom('banking_application_documents')
        .select('content_sealed')
        .where('application_id', '=', body.id)
        .executeTakeFirstOrThrow();
      assert.ok(!row.content_sealed.includes(SAMPLE_PDF.toString('base64').slice(0, 20)));
    });

    test('a file whose content does not match its media type is invalidDocument', async () => {
      const { applications } = bankingOf(t);
      const { body } = await applications.create(APPLICANT, application(), clock.now());
      await assert.rejects(
        applications.upload(
          APPLICANT,
          body.id,
          { kind: 'identityDocument', contentType: 'image/png', content: SAMPLE_PDF },
          clock.now(),
        ),
        rejectsWith('invalidDocument'),
      );
    });

    test('another customer sees neither the application nor its documents (404)', async () => {
      const { applications } = bankingOf(t);
      const { body } = await applications.create(APPLICANT, application(), clock.now());
      const other = { userId: OTHER, reviewer: false };
      await assert.rejects(applications.get(body.id, other), rejectsWith('notFound'));
      await assert.rejects(applications.documents(body.id, other), rejectsWith('notFound'));
      const { items } = await applications.list(other, {}, { start: 0, limit: 100 });
      assert.equal(items.length, 0);
    });

    test('an unknown product is invalidProductId; a deposit below the minimum is invalidAmount', async () => {
      const { applications } = bankingOf(t);
      await assert.rejects(
        applications.create(APPLICANT, application({ productId: 'prd_nope' }), clock.now()),
        rejectsWith('invalidProductId'),
      );
      await assert.rejects(
        applications.create(
          APPLICANT,
          application({ initialDeposit: { value: '1.00', currency: 'USD' } }),
          clock.now(),
        ),
        rejectsWith('invalidAmount'),
      );
    });

    test('approval opens a funded account and makes the applicant its owner', async () => {
      const { applications, accounts } = bankingOf(t);
      const { body } = await applications.create(APPLICANT, application(), clock.now());
      await applications.upload(
        APPLICANT,
        body.id,
        { kind: 'identityDocument', contentType: 'application/pdf', content: SAMPLE_PDF },
        clock.now(),
      );
      const approved = await applications.approve(body.id, REVIEWER, clock.now());
      assert.equal(approved.body.state, 'approved');
      const accountId = approved.body.accountId as string;
      const account = await accounts.find(t.app.context.db, accountId);
      assert.equal(Number(account?.current_minor), 25_000);
      const entitlements = t.app.services.entitlements;
      assert.equal(await entitlements.has(APPLICANT, 'account', accountId, 'transferFrom'), true);
      assert.equal(await entitlements.has(OTHER, 'account', accountId, 'view'), false);
    });

    test('an incomplete application cannot be approved (applicationNotPending) but can be rejected', async () => {
      const { applications } = bankingOf(t);
      const { body } = await applications.create(APPLICANT, application(), clock.now());
      await assert.rejects(
        applications.approve(body.id, REVIEWER, clock.now()),
        rejectsWith('applicationNotPending'),
      );
      const rejected = await applications.reject(body.id, REVIEWER, 'Missing documents', clock.now());
      assert.equal(rejected.body.state, 'rejected');
      assert.equal(rejected.body.decisionReason, 'Missing documents');
      await assert.rejects(
        applications.upload(
          APPLICANT,
          body.id,
          { kind: 'identityDocument', contentType: 'application/pdf', content: SAMPLE_PDF },
          clock.now(),
        ),
        rejectsWith('applicationClosed'),
      );
    });

    test('If-Match with a stale ETag is 412 and changes nothing', async () => {
      const { applications } = bankingOf(t);
      const { body } = await applications.create(APPLICANT, application(), clock.now());
      await assert.rejects(
        applications.reject(body.id, REVIEWER, undefined, clock.now(), () => {
          throw new AppError('preconditionFailed');
        }),
        rejectsWith('preconditionFailed'),
      );
      assert.equal((await applications.get(body.id, applicant)).body.state, 'incomplete');
    });

    test('incomplete applications expire after 30 days; pending ones do not', async () => {
      const { applications } = bankingOf(t);
      const incomplete = await applications.create(APPLICANT, application(), clock.now());
      const pending = await applications.create(APPLICANT, application(), clock.now());
      await applications.upload(
        APPLICANT,
        pending.body.id,
        { kind: 'identityDocument', contentType: 'application/pdf', content: SAMPLE_PDF },
        clock.now(),
      );
      clock.advance(30 * 86_400_000 + 1000);
      assert.ok((await applications.expire(clock.now())) >= 1);
      assert.equal((await applications.get(incomplete.body.id, applicant)).body.state, 'expired');
      assert.equal((await applications.get(pending.body.id, applicant)).body.state, 'pending');
    });
  });
}
