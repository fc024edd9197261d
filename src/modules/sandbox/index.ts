import type { DemoSeeder, ModuleContext } from '../module-context.ts';
import { createSandboxService, type SandboxBankingData, type SandboxIdentity } from './sandbox-service.ts';

export {
  SANDBOX_CUSTOMERS,
  type SandboxCustomer,
  type SandboxResetActor,
  type SandboxService,
} from './sandbox-service.ts';

/**
 * The sandbox institution (DESIGN.md §5.4): sandbox test customers with accounts and transactions, shown
 * to developers in the portal and written to demo.json as `sandboxUsers`; reset on request.
 */
export function createSandbox(
  context: ModuleContext,
  deps: { identity: SandboxIdentity; data: SandboxBankingData },
) {
  const service = createSandboxService(context, deps);
  const demoSeeder: DemoSeeder = {
    name: 'sandbox',
    async seed(demo) {
      await service.enable();
      demo.sandboxUsers = await service.demoUsers();
    },
    // A demo seeded before the sandbox existed gets it on its next start.
    async refresh(demo) {
      if (demo.sandboxUsers) return;
      await service.enable();
      demo.sandboxUsers = await service.demoUsers();
    },
  };
  return Object.assign(service, { demoSeeder });
}

export type Sandbox = ReturnType<typeof createSandbox>;
