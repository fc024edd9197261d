import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { AppError } from '../../errors/index.ts';
import { isoAt } from '../../lib/clock.ts';
import { newId } from '../../lib/ids.ts';
import type { Sealer } from '../../lib/sealer.ts';
import type { EntitlementAdmin } from '../../modules/entitlements/contract.ts';
import { openAccount } from '../accounts/account-opening.ts';
import type { AccountsRepository } from '../accounts/accounts-repository.ts';
import { dateIn, isCalendarDate } from '../calendar.ts';
import { etagOf } from '../http-util.ts';
import { type Money, money, toMinor } from '../money.ts';
import type { ProductsRepository } from '../products/products-repository.ts';
import type { ApplicationRow, ApplicationsRepository } from './applications-repository.ts';

export interface NewApplication {
  productId: string;
  applicant: {
    firstName: string;
    lastName: string;
    email: string;
    phone?: string;
    dateOfBirth: string;
    address: Record<string, string>;
  };
  identityDocument: { type: string; number: string; issuingCountry: string; expiresOn: string };
  initialDeposit: Money;
}

/** Who looks at an application: its applicant, or a reviewer (`data/*` scope + `reviewApplications`). */
export interface Viewer {
  userId: string;
  reviewer: boolean;
  /** The calling application's environment (default `production`): it sees only that environment's applications. */
  environment?: 'production' | 'sandbox';
}

const INCOMPLETE_LIFETIME_MS = 30 * 86_400_000;
const MAX_DOCUMENT_BYTES = 5 * 1024 * 1024;
const MAX_DOCUMENTS = 10;
const SIGNATURES: Record<string, (b: Buffer) => boolean> = {
  'application/pdf': (b) => b.subarray(0, 5).toString('latin1') === '%PDF-',
  'image/png': (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  'image/jpeg': (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff,
};

const notFound = () => new AppError('notFound', { detail: 'The requested resource does not exist.' });

function applicationRepresentation(row: ApplicationRow, documentCount: number) {
  const document = JSON.parse(row.identity_document_json) as NewApplication['identityDocument'];
  return {
    id: row.id,
    productId: row.product_id,
    state: row.state,
    applicant: JSON.parse(row.applicant_json) as NewApplication['applicant'],
    identityDocument: { ...document, number: `****${document.number.slice(-4)}` },
    initialDeposit: money(Number(row.initial_deposit_minor), row.currency),
    documentCount,
    ...(row.decision_reason ? { decisionReason: row.decision_reason } : {}),
    ...(row.decided_at ? { decidedAt: row.decided_at } : {}),
    ...(row.account_id ? { accountId: row.account_id } : {}),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    expiresAt: row.expires_at,
    _links: {
      self: { href: `/accountApplications/accountApplications/${row.id}` },
      documents: { href: `/accountApplications/accountApplications/${row.id}/documents` },
    },
  };
}

/** Account applications: apply, upload documents, review, approve (opens the account) or reject. */
export function createApplicationsService(deps: {
  db: Kysely<Database>;
  applications: ApplicationsRepository;
  accounts: AccountsRepository;
  products: ProductsRepository;
  entitlements: EntitlementAdmin;
  sealer: Sealer;
  timeZone: string;
}) {
  const { db, applications, accounts, products, sealer } = deps;

  async function visible(id: string, viewer: Viewer): Promise<ApplicationRow> {
    const row = await applications.find(db, id);
    if (!row || (!viewer.reviewer && row.applicant_id !== viewer.userId)) throw notFound();
    if (row.environment !== (viewer.environment ?? 'production')) throw notFound();
    return row;
  }

  async function represent(row: ApplicationRow) {
    return applicationRepresentation(row, await applications.documentCount(db, row.id));
  }

  /** Decide a pending application; the state change comes first so SQLite takes its write lock first. */
  async function decide(
    id: string,
    reviewerId: string,
    now: number,
    decision: { approve: boolean; reason?: string },
    ifMatch?: (etag: string) => void,
  ) {
    const row = await applications.find(db, id);
    if (!row) throw notFound();
    ifMatch?.(etagOf('apl', row.id, row.revision));
    const at = isoAt(now);
    const from = decision.approve ? ['pending'] : ['pending', 'incomplete'];
    let accountId: string | null = null;
    const done = await db.transaction().execute(async (trx) => {
      const moved = await applications.transition(trx, id, {
        from,
        to: decision.approve ? 'approved' : 'rejected',
        revision: row.revision,
        at,
        decidedBy: reviewerId,
        decisionReason: decision.reason ?? null,
      });
      if (!moved) return false;
      if (decision.approve) {
        const product = await products.find(trx, row.product_id);
        if (!product) throw new AppError('invalidProductId', { detail: 'The product no longer exists.' });
        const applicant = JSON.parse(row.applicant_json) as NewApplication['applicant'];
        accountId = await openAccount(
          trx,
          { accounts, entitlements: deps.entitlements },
          {
            productId: product.id,
            name: product.is_business ? `${applicant.lastName} business` : product.name,
            currency: row.currency,
            at,
            holders: [{ userId: row.applicant_id, relationship: 'owner' }],
            environment: row.environment === 'sandbox' ? 'sandbox' : 'production',
          },
        );
        if (Number(row.initial_deposit_minor) > 0) {
          await accounts.post(trx, {
            accountId,
            type: 'credit',
            amountMinor: Number(row.initial_deposit_minor),
            postedOn: dateIn(deps.timeZone, now),
            occurredAt: at,
            description: 'Opening deposit',
            category: 'deposit',
          });
        }
        await applications.transition(trx, id, { from: ['approved'], to: 'approved', at, accountId });
      }
      return true;
    });
    if (!done) {
      const current = await applications.find(db, id);
      if (current && from.includes(current.state)) {
        throw new AppError('preconditionFailed', { detail: 'The application changed; fetch it again.' });
      }
      throw new AppError('applicationNotPending', {
        detail: `The application is ${current?.state ?? row.state}; only ${from.join(' or ')} applications can be decided.`,
      });
    }
    const updated = (await applications.find(db, id)) as ApplicationRow;
    return { body: await represent(updated), etag: etagOf('apl', id, updated.revision), accountId };
  }

  return {
    async create(
      applicantId: string,
      input: NewApplication,
      now: number,
      environment: 'production' | 'sandbox' = 'production',
    ) {
      const product = await products.find(db, input.productId);
      if (!product) throw new AppError('invalidProductId', { detail: 'There is no such product.' });
      const deposit = toMinor(input.initialDeposit.value, input.initialDeposit.currency);
      if (input.initialDeposit.currency !== product.currency) {
        throw new AppError('currencyMismatch', {
          detail: `The initial deposit must be in ${product.currency}.`,
        });
      }
      if (deposit === undefined || deposit < Number(product.minimum_opening_deposit_minor)) {
        throw new AppError('invalidAmount', {
          detail: `The initial deposit must be at least ${money(Number(product.minimum_opening_deposit_minor), product.currency).value} ${product.currency}.`,
        });
      }
      const today = dateIn(deps.timeZone, now);
      const { expiresOn } = input.identityDocument;
      if (!isCalendarDate(expiresOn) || expiresOn <= today) {
        throw new AppError('invalidDocument', { detail: 'The identity document has expired.' });
      }
      if (!isCalendarDate(input.applicant.dateOfBirth) || input.applicant.dateOfBirth >= today) {
        throw new AppError('unprocessableEntity', { detail: 'The date of birth is not valid.' });
      }
      const at = isoAt(now);
      const row: ApplicationRow = {
        id: newId('apl'),
        applicant_id: applicantId,
        product_id: product.id,
        state: 'incomplete',
        applicant_json: JSON.stringify(input.applicant),
        identity_document_json: JSON.stringify(input.identityDocument),
        initial_deposit_minor: deposit,
        currency: product.currency,
        decision_reason: null,
        decided_by: null,
        decided_at: null,
        account_id: null,
        created_at: at,
        updated_at: at,
        expires_at: isoAt(now + INCOMPLETE_LIFETIME_MS),
        revision: 1,
        environment,
      };
      await applications.insert(db, row);
      return { body: applicationRepresentation(row, 0), etag: etagOf('apl', row.id, row.revision) };
    },

    async list(viewer: Viewer, filter: { state?: string }, page: { start: number; limit: number }) {
      const { rows, count } = await applications.list(
        db,
        {
          state: filter.state,
          applicantId: viewer.reviewer ? undefined : viewer.userId,
          environment: viewer.environment ?? 'production',
        },
        page,
      );
      const items = [];
      for (const row of rows) items.push(await represent(row));
      return { items, count };
    },

    async get(id: string, viewer: Viewer) {
      const row = await visible(id, viewer);
      return { body: await represent(row), etag: etagOf('apl', row.id, row.revision) };
    },

    async documents(id: string, viewer: Viewer) {
      await visible(id, viewer);
      return (await applications.documents(db, id)).map((d) => ({
        id: d.id,
        kind: d.kind,
        contentType: d.content_type,
        size: Number(d.size_bytes),
        sha256: d.sha256,
        uploadedAt: d.uploaded_at,
        _links: {
          content: { href: `/accountApplications/accountApplications/${id}/documents/${d.id}/content` },
        },
      }));
    },

    async documentContent(id: string, documentId: string, viewer: Viewer) {
      await visible(id, viewer);
      const document = await applications.document(db, id, documentId);
      if (!document) throw notFound();
      const content = Buffer.from(sealer.open(document.content_sealed, `document:${document.id}`), 'base64');
      return { contentType: document.content_type, content };
    },

    /** Store an uploaded file (the applicant's own application only); the first one completes it. */
    async upload(
      applicantId: string,
      id: string,
      file: { kind: string; contentType: string; content: Buffer },
      now: number,
      environment: 'production' | 'sandbox' = 'production',
    ) {
      const row = await visible(id, { userId: applicantId, reviewer: false, environment });
      if (row.state !== 'incomplete' && row.state !== 'pending') {
        throw new AppError('applicationClosed', { detail: `The application is ${row.state}.` });
      }
      const check = SIGNATURES[file.contentType];
      if (file.content.length === 0 || file.content.length > MAX_DOCUMENT_BYTES || !check?.(file.content)) {
        throw new AppError('invalidDocument', {
          detail: 'The file is empty, too large, or its content does not match its media type.',
        });
      }
      if ((await applications.documentCount(db, id)) >= MAX_DOCUMENTS) {
        throw new AppError('invalidDocument', {
          detail: `At most ${MAX_DOCUMENTS} documents per application.`,
        });
      }
      const documentId = newId('doc');
      const at = isoAt(now);
      const sha256 = createHash('sha256').update(file.content).digest('hex');
      await db.transaction().execute(async (trx) => {
        await applications.insertDocument(trx, {
          id: documentId,
          application_id: id,
          kind: file.kind,
          content_type: file.contentType,
          size_bytes: file.content.length,
          sha256,
          content_sealed: sealer.seal(file.content.toString('base64'), `document:${documentId}`),
          uploaded_at: at,
        });
        const moved = await applications.transition(trx, id, {
          from: ['incomplete', 'pending'],
          to: 'pending',
          at,
        });
        if (!moved) throw new AppError('applicationClosed', { detail: 'The application was just decided.' });
      });
      return {
        id: documentId,
        kind: file.kind,
        contentType: file.contentType,
        size: file.content.length,
        sha256,
        uploadedAt: at,
        _links: {
          content: { href: `/accountApplications/accountApplications/${id}/documents/${documentId}/content` },
        },
      };
    },

    approve: (id: string, reviewerId: string, now: number, ifMatch?: (etag: string) => void) =>
      decide(id, reviewerId, now, { approve: true }, ifMatch),
    reject: (
      id: string,
      reviewerId: string,
      reason: string | undefined,
      now: number,
      ifMatch?: (etag: string) => void,
    ) => decide(id, reviewerId, now, { approve: false, reason }, ifMatch),

    /** Expire incomplete applications older than 30 days. */
    expire: (now: number) => applications.expire(db, isoAt(now)),
  };
}

export type ApplicationsService = ReturnType<typeof createApplicationsService>;
