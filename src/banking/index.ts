import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { EntitlementAdmin } from '../modules/entitlements/contract.ts';
import type { ApiModule, EntitlementService, OpenApiDocument } from '../modules/gateway/contract.ts';
import type { DemoSeeder, ModuleContext } from '../modules/module-context.ts';
import { createAccountsHandlers } from './accounts/accounts-handlers.ts';
import { accountsRepository as accounts } from './accounts/accounts-repository.ts';
import { createApplicationsHandlers } from './applications/applications-handlers.ts';
import { applicationsRepository } from './applications/applications-repository.ts';
import { createApplicationsService } from './applications/applications-service.ts';
import { seedDemoBanking } from './demo-seed.ts';
import { createProductsCatalogue } from './products/products-catalogue.ts';
import { createProductsHandlers } from './products/products-handlers.ts';
import { productsRepository as products } from './products/products-repository.ts';
import { createSandboxData } from './sandbox/sandbox-data.ts';
import { createTransferProcessor } from './transfer-processor.ts';
import { createTransfersHandlers } from './transfers/transfers-handlers.ts';
import { transfersRepository as transfers } from './transfers/transfers-repository.ts';
import { createTransfersService } from './transfers/transfers-service.ts';

/** Today's date in a time zone (the institution's), as transfers are scheduled. */
export { dateIn } from './calendar.ts';
export { BANKING_PROBLEM_TYPES } from './problems.ts';
export type { SandboxData, SandboxHolder } from './sandbox/sandbox-data.ts';

/** The API names (path prefixes) of the banking APIs, each with its document in `openapi/<name>.yaml`. */
export const BANKING_APIS = [
  'accounts',
  'transactions',
  'transfers',
  'products',
  'accountApplications',
] as const;

const parsedDocuments = new Map<string, OpenApiDocument>();

/**
 * The OpenAPI document of a banking API (a copy the caller may change). The files are parsed once per
 * process: parsing the YAML was a large share of building an app.
 */
export function loadBankingDocument(name: (typeof BANKING_APIS)[number]): OpenApiDocument {
  let document = parsedDocuments.get(name);
  if (!document) {
    const file = path.join(import.meta.dirname, 'openapi', `${name}.yaml`);
    document = YAML.parse(readFileSync(file, 'utf8')) as OpenApiDocument;
    parsedDocuments.set(name, document);
  }
  return structuredClone(document);
}

/**
 * The demo institution's digital banking APIs (accounts, transactions, transfers, products, account
 * applications) and the transfer processor.
 */
export function createBanking(
  context: ModuleContext,
  deps: { entitlements: EntitlementService & EntitlementAdmin },
) {
  const { db, clock, config, logger } = context;
  const applications = createApplicationsService({
    db,
    applications: applicationsRepository,
    accounts,
    products,
    entitlements: deps.entitlements,
    sealer: context.sealer,
    timeZone: config.timeZone,
  });
  let lastExpiry = 0;
  const processor = createTransferProcessor({
    db,
    accounts,
    transfers,
    clock,
    timeZone: config.timeZone,
    logger,
    onTick: async () => {
      // Expiry is not urgent: once a minute is enough and keeps idle ticks read-only.
      if (clock.now() - lastExpiry < 60_000) return;
      lastExpiry = clock.now();
      await applications.expire(clock.now());
    },
  });
  const transfersService = createTransfersService({
    db,
    accounts,
    transfers,
    timeZone: config.timeZone,
    onDueTransfer: () => processor.kick(),
  });

  const accountHandlers = createAccountsHandlers({ db, accounts, products });
  const { getTransactions, ...accountOperations } = accountHandlers;
  const apis: ApiModule[] = [
    { name: 'accounts', document: loadBankingDocument('accounts'), handlers: accountOperations },
    {
      name: 'transactions',
      document: loadBankingDocument('transactions'),
      handlers: { getTransactions: getTransactions as NonNullable<typeof getTransactions> },
    },
    {
      name: 'transfers',
      document: loadBankingDocument('transfers'),
      handlers: createTransfersHandlers({ db, service: transfersService, transfers }),
      resolvers: { transferSourceAccount: (id) => transfers.sourceAccountOf(db, id) },
    },
    {
      name: 'products',
      document: loadBankingDocument('products'),
      handlers: createProductsHandlers({
        catalogue: createProductsCatalogue({ db, products, changes: context.changes }),
      }),
    },
    {
      name: 'accountApplications',
      document: loadBankingDocument('accountApplications'),
      handlers: createApplicationsHandlers(applications),
    },
  ];

  const demoSeeder: DemoSeeder = {
    name: 'banking',
    async seed(demo) {
      await seedDemoBanking(demo, {
        db,
        accounts,
        products,
        applications,
        entitlements: deps.entitlements,
        timeZone: config.timeZone,
        now: clock.now(),
        logger,
      });
    },
  };

  return {
    apis,
    demoSeeder,
    /** The sandbox customers' banking data (seed and clear in a transaction), for the sandbox module. */
    sandboxData: createSandboxData({
      accounts,
      products,
      entitlements: deps.entitlements,
      timeZone: config.timeZone,
    }),
    /** Domain services, for the CLI and tests. */
    services: { accounts, products, transfers, transfersService, applications, processor },
    start(): void {
      processor.start();
    },
    async stop(): Promise<void> {
      await processor.stop();
    },
  };
}

export type Banking = ReturnType<typeof createBanking>;
