import type { Kysely } from 'kysely';
import type { Executor } from '../db/index.ts';
import type { Database } from '../db/schema.ts';
import type { DemoDocument, DemoUser } from '../demo/demo-file.ts';
import type { Logger } from '../http/logger.ts';
import { isoAt } from '../lib/clock.ts';
import { newId } from '../lib/ids.ts';
import type { EntitlementAdmin } from '../modules/entitlements/contract.ts';
import { ACCOUNT_PERMISSIONS, newAccountNumber, ROUTING_NUMBER } from './accounts/account-opening.ts';
import type { AccountsRepository, TransactionRow } from './accounts/accounts-repository.ts';
import type { ApplicationsService } from './applications/applications-service.ts';
import { addDays, dateIn } from './calendar.ts';
import type { ProductRow, ProductsRepository } from './products/products-repository.ts';

/** The demo institution's product catalogue (amounts in cents). */
export function demoProducts(at: string): ProductRow[] {
  const product = (
    id: string,
    category: string,
    name: string,
    description: string,
    apy: string,
    minimum: number,
    fee: number,
    termMonths: number | null = null,
    business = false,
  ): ProductRow => ({
    id,
    category,
    name,
    description,
    currency: 'USD',
    apy,
    minimum_opening_deposit_minor: minimum,
    monthly_fee_minor: fee,
    term_months: termMonths,
    is_business: business ? 1 : 0,
    created_at: at,
  });
  return [
    product(
      'prd_everydayChecking',
      'checking',
      'Everyday Checking',
      'A checking account for daily spending, with a debit card and free bill pay.',
      '0.01',
      2500,
      0,
    ),
    product(
      'prd_premiumChecking',
      'checking',
      'Premium Checking',
      'Interest-bearing checking with ATM fee refunds; the fee is waived above a $5,000 balance.',
      '0.05',
      100000,
      1500,
    ),
    product(
      'prd_highYieldSavings',
      'savings',
      'High-Yield Savings',
      'Savings with a competitive variable rate and no monthly fee.',
      '4.25',
      10000,
      0,
    ),
    product(
      'prd_moneyMarket',
      'moneyMarket',
      'Money Market',
      'Tiered rates with check-writing for larger balances.',
      '4.50',
      250000,
      0,
    ),
    product(
      'prd_cd12',
      'cd',
      '12-Month Certificate of Deposit',
      'A fixed rate for twelve months.',
      '4.75',
      100000,
      0,
      12,
    ),
    product(
      'prd_cd36',
      'cd',
      '36-Month Certificate of Deposit',
      'A fixed rate for three years.',
      '4.10',
      100000,
      0,
      36,
    ),
    product(
      'prd_businessChecking',
      'business',
      'Business Checking',
      'Checking for small businesses with 300 free transactions a month.',
      '0.02',
      10000,
      1000,
      null,
      true,
    ),
  ];
}

type Relationship = keyof typeof ACCOUNT_PERMISSIONS;

export interface DemoAccountPlan {
  key: string;
  productId: string;
  name: string;
  holders: { username: string; relationship: Relationship }[];
  opening: number;
  profile: 'personal' | 'savings' | 'joint' | 'business';
  salary?: number;
}

const PLANS: DemoAccountPlan[] = [
  {
    key: 'aliceChecking',
    productId: 'prd_everydayChecking',
    name: 'Everyday Checking',
    holders: [{ username: 'alice', relationship: 'owner' }],
    opening: 320000,
    profile: 'personal',
    salary: 285000,
  },
  {
    key: 'aliceSavings',
    productId: 'prd_highYieldSavings',
    name: 'High-Yield Savings',
    holders: [{ username: 'alice', relationship: 'owner' }],
    opening: 1250000,
    profile: 'savings',
  },
  {
    key: 'joint',
    productId: 'prd_premiumChecking',
    name: 'Joint Household Checking',
    holders: [
      { username: 'alice', relationship: 'owner' },
      { username: 'bob', relationship: 'coOwner' },
    ],
    opening: 540000,
    profile: 'joint',
  },
  {
    key: 'bobChecking',
    productId: 'prd_everydayChecking',
    name: 'Everyday Checking',
    holders: [{ username: 'bob', relationship: 'owner' }],
    opening: 180000,
    profile: 'personal',
    salary: 231000,
  },
  {
    key: 'bakery',
    productId: 'prd_businessChecking',
    name: "Carol's Bakery LLC",
    holders: [
      { username: 'carol', relationship: 'owner' },
      { username: 'bob', relationship: 'beneficialOwner' },
    ],
    opening: 2200000,
    profile: 'business',
  },
];

/** A small deterministic PRNG (mulberry32), so every seeded institution has the same history. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Entry {
  type: 'debit' | 'credit';
  amount: number;
  description: string;
  category: string;
}

const GROCERS = ['Green Grocer Market', 'FreshWay Foods', 'Corner Co-op', 'Harvest Supermarket'];
const DINING = ['Luigi’s Trattoria', 'Blue Door Café', 'Sushi Koi', 'Taqueria El Sol', 'The Noodle Bar'];
const SHOPS = ['Online Marketplace', 'City Hardware', 'Bookhaven', 'Threads Apparel'];

function dayEntries(plan: DemoAccountPlan, date: string, random: () => number): Entry[] {
  const day = Number(date.slice(8, 10));
  const weekday = new Date(`${date}T00:00:00Z`).getUTCDay();
  const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)] as T;
  const cents = (min: number, max: number) => Math.round((min + random() * (max - min)) * 100);
  const out: Entry[] = [];
  if (plan.profile === 'personal') {
    if ((day === 1 || day === 15) && plan.salary)
      out.push({
        type: 'credit',
        amount: plan.salary,
        description: 'Payroll — Northwind Traders',
        category: 'income',
      });
    if (day === 1)
      out.push({
        type: 'debit',
        amount: 145000,
        description: 'Rent — Maple Court Apartments',
        category: 'housing',
      });
    if (day === 5)
      out.push({
        type: 'debit',
        amount: cents(60, 140),
        description: 'City Power & Light',
        category: 'utilities',
      });
    if (day === 12)
      out.push({
        type: 'debit',
        amount: 1549,
        description: 'StreamFlix subscription',
        category: 'entertainment',
      });
    if (day === 20)
      out.push({ type: 'debit', amount: 30000, description: 'Transfer to savings', category: 'transfer' });
    if (weekday === 2 || weekday === 6)
      out.push({ type: 'debit', amount: cents(35, 140), description: pick(GROCERS), category: 'groceries' });
    if (random() < 0.35)
      out.push({ type: 'debit', amount: cents(4, 7), description: 'Bean There Coffee', category: 'dining' });
    if (random() < 0.15)
      out.push({ type: 'debit', amount: cents(18, 85), description: pick(DINING), category: 'dining' });
    if (random() < 0.08)
      out.push({
        type: 'debit',
        amount: cents(30, 60),
        description: 'QuickFuel Station',
        category: 'transportation',
      });
    if (random() < 0.06)
      out.push({ type: 'debit', amount: cents(12, 160), description: pick(SHOPS), category: 'shopping' });
  } else if (plan.profile === 'savings') {
    if (day === 20)
      out.push({
        type: 'credit',
        amount: 30000,
        description: 'Transfer from checking',
        category: 'transfer',
      });
    if (day === 28)
      out.push({ type: 'credit', amount: cents(40, 48), description: 'Interest paid', category: 'interest' });
  } else if (plan.profile === 'joint') {
    if (day === 2)
      out.push({
        type: 'credit',
        amount: 120000,
        description: 'Deposit — household contribution',
        category: 'transfer',
      });
    if (day === 3)
      out.push({
        type: 'credit',
        amount: 120000,
        description: 'Deposit — household contribution',
        category: 'transfer',
      });
    if (day === 4)
      out.push({
        type: 'debit',
        amount: 189000,
        description: 'Mortgage — Lakeside Home Loans',
        category: 'housing',
      });
    if (day === 9)
      out.push({
        type: 'debit',
        amount: cents(80, 120),
        description: 'Metro Water & Sewer',
        category: 'utilities',
      });
    if (day === 14)
      out.push({ type: 'debit', amount: 8999, description: 'FiberNet Internet', category: 'utilities' });
    if (weekday === 0)
      out.push({ type: 'debit', amount: cents(90, 220), description: pick(GROCERS), category: 'groceries' });
    if (random() < 0.05)
      out.push({ type: 'debit', amount: cents(40, 300), description: pick(SHOPS), category: 'shopping' });
  } else {
    if (weekday !== 0)
      out.push({
        type: 'credit',
        amount: cents(380, 1450),
        description: 'Card sales settlement',
        category: 'income',
      });
    if (weekday === 1)
      out.push({
        type: 'debit',
        amount: cents(600, 1400),
        description: 'Golden Mill Flour Co.',
        category: 'supplies',
      });
    if (weekday === 3)
      out.push({ type: 'debit', amount: cents(150, 420), description: 'Dairy Direct', category: 'supplies' });
    if (weekday === 5 && Number(date.slice(8, 10)) % 2 === 1)
      out.push({
        type: 'debit',
        amount: cents(3800, 4600),
        description: 'Payroll — Gusto',
        category: 'payroll',
      });
    if (day === 1)
      out.push({
        type: 'debit',
        amount: 320000,
        description: 'Lease — 18 Baker Street',
        category: 'housing',
      });
    if (day === 10)
      out.push({
        type: 'debit',
        amount: cents(260, 420),
        description: 'Gas & Electric — commercial',
        category: 'utilities',
      });
  }
  return out;
}

/**
 * Open one planned account with about six months of deterministic history (seeded by `seed`) up to
 * `today`, in the caller's transaction; returns its id. Entitlements are the caller's business.
 */
export async function insertPlannedAccount(
  trx: Executor,
  accounts: AccountsRepository,
  plan: DemoAccountPlan,
  options: { seed: number; today: string; environment?: 'production' | 'sandbox'; id?: string },
): Promise<string> {
  const { today } = options;
  const first = addDays(today, -182);
  const id = options.id ?? newId('acc');
  const random = prng(options.seed);
  const openedAt = `${first}T14:00:00.000Z`;
  const rows: TransactionRow[] = [];
  let balance = 0;
  let sequence = 0;
  const push = (date: string, entry: Entry, hour: number) => {
    if (entry.type === 'debit' && entry.amount > balance) return;
    balance += entry.type === 'debit' ? -entry.amount : entry.amount;
    sequence++;
    rows.push({
      id: newId('trn'),
      account_id: id,
      posted_on: date,
      occurred_at: `${date}T${String(hour).padStart(2, '0')}:${String((sequence * 7) % 60).padStart(2, '0')}:00.000Z`,
      type: entry.type,
      amount_minor: entry.amount,
      balance_after_minor: balance,
      description: entry.description,
      category: entry.category,
      transfer_id: null,
      sequence,
    });
  };
  push(
    first,
    { type: 'credit', amount: plan.opening, description: 'Opening deposit', category: 'deposit' },
    14,
  );
  for (let date = addDays(first, 1); date < today; date = addDays(date, 1)) {
    dayEntries(plan, date, random).forEach((entry, i) => {
      push(date, entry, Math.min(23, 8 + i * 2));
    });
  }
  await accounts.insert(trx, {
    id,
    product_id: plan.productId,
    name: plan.name,
    account_number: newAccountNumber(),
    routing_number: ROUTING_NUMBER,
    currency: 'USD',
    current_minor: 0,
    available_minor: 0,
    state: 'open',
    opened_at: openedAt,
    updated_at: openedAt,
    revision: 1,
    environment: options.environment ?? 'production',
  });
  await accounts.insertHistory(trx, id, rows, balance, rows.at(-1)?.occurred_at ?? openedAt);
  return id;
}

/**
 * The banking part of the demo institution: products, the five accounts of DESIGN.md §3 with about six
 * months of deterministic history, entitlements (granted through the entitlements module and written
 * into `demo.users[].entitlements`) and a pending account application by alice.
 */
export async function seedDemoBanking(
  demo: DemoDocument,
  deps: {
    db: Kysely<Database>;
    accounts: AccountsRepository;
    products: ProductsRepository;
    applications: ApplicationsService;
    entitlements: EntitlementAdmin;
    timeZone: string;
    now: number;
    logger: Pick<Logger, 'warn'>;
  },
): Promise<void> {
  const { db, accounts, entitlements, now } = deps;
  const at = isoAt(now);
  await deps.products.upsertAll(deps.db, demoProducts(at));
  const byName = new Map<string, DemoUser>(demo.users.map((u) => [u.username, u]));
  const user = (username: string) => {
    const found = byName.get(username);
    if (!found) deps.logger.warn({ username }, 'demo user not found; banking entitlements skipped');
    return found;
  };
  const remember = (u: DemoUser, resource: string, id: string, permissions: readonly string[]) => {
    u.entitlements ??= [];
    u.entitlements.push({ resource, id, permissions: [...permissions] });
  };

  const today = dateIn(deps.timeZone, now);
  let seed = 20260101;
  for (const plan of PLANS) {
    const id = await db
      .transaction()
      .execute((trx) => insertPlannedAccount(trx, accounts, plan, { seed: seed++, today }));
    for (const holder of plan.holders) {
      const u = user(holder.username);
      if (!u) continue;
      const permissions = ACCOUNT_PERMISSIONS[holder.relationship];
      await entitlements.grant({
        subject: u.id,
        resource: 'account',
        resourceId: id,
        permissions: [...permissions],
        relationship: holder.relationship,
      });
      remember(u, 'account', id, permissions);
    }
  }

  const tom = user('tom');
  if (tom) {
    await entitlements.grant({
      subject: tom.id,
      resource: 'account',
      resourceId: '*',
      permissions: [...ACCOUNT_PERMISSIONS.teller],
      relationship: 'teller',
    });
    remember(tom, 'account', '*', ACCOUNT_PERMISSIONS.teller);
  }
  const dana = user('dana');
  if (dana) {
    await entitlements.grant({
      subject: dana.id,
      resource: 'accountApplication',
      resourceId: '*',
      permissions: ['reviewApplications'],
      relationship: 'institution',
    });
    remember(dana, 'accountApplication', '*', ['reviewApplications']);
  }
  for (const username of ['ivan', 'fiona', 'carol', 'bob', 'alice']) {
    const u = byName.get(username);
    if (u) u.entitlements ??= [];
  }

  const alice = user('alice');
  if (alice) {
    const application = await deps.applications.create(
      alice.id,
      {
        productId: 'prd_cd12',
        applicant: {
          firstName: 'Alice',
          lastName: 'Archer',
          email: 'alice@example.com',
          phone: '+15555550101',
          dateOfBirth: '1988-04-12',
          address: {
            line1: '12 Elm Street',
            city: 'Springfield',
            region: 'IL',
            postalCode: '62704',
            country: 'US',
          },
        },
        identityDocument: {
          type: 'driversLicense',
          number: 'D1234567',
          issuingCountry: 'US',
          expiresOn: addDays(today, 3 * 365),
        },
        initialDeposit: { value: '5000.00', currency: 'USD' },
      },
      now,
    );
    await deps.applications.upload(
      alice.id,
      application.body.id,
      { kind: 'identityDocument', contentType: 'application/pdf', content: SAMPLE_PDF },
      now,
    );
  }
}

/** A minimal one-page PDF standing in for a scanned driver's license. */
export const SAMPLE_PDF = Buffer.from(
  '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n' +
    '3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 190]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
  'latin1',
);
