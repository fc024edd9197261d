import type { ProblemCatalogue } from '../../errors/index.ts';
import { type CheckAnswer, type CompiledCheck, type Fail, isObject, pointerTokens } from './compiled-api.ts';
import type { EntitlementResolver } from './contract.ts';

/** What the entitlement extension of one operation may refer to. */
export interface CheckContext {
  /** The document (for the description of a type it declares). */
  source: string;
  where: string;
  pathParams: readonly string[];
  queryNames: readonly string[];
  hasBody: boolean;
  resolvers: Record<string, EntitlementResolver> | undefined;
  upstream: boolean;
  /** The app's problem types: a type the document declares joins them (its status must agree). */
  problems: ProblemCatalogue;
  fail: Fail;
}

/**
 * Compiles an operation's `x-strongroom-entitlement` (one check or a list; see contract.ts): where the id
 * is found, the permission, an optional resolver, and the problems a failed check answers with.
 */
export function compileChecks(raw: unknown, ctx: CheckContext): CompiledCheck[] {
  if (raw === undefined) return [];
  const list = Array.isArray(raw) ? raw : [raw];
  const checks: CompiledCheck[] = [];
  for (const [index, entry] of list.entries()) {
    const where = `${ctx.where} x-strongroom-entitlement[${index}]`;
    if (!isObject(entry)) return ctx.fail(`${where} must be an object`);
    if (typeof entry.resource !== 'string' || typeof entry.permission !== 'string') {
      ctx.fail(`${where} needs "resource" and "permission"`);
    }
    // A list operation filters its own results with call.entitlements.ids(); nothing to check up front.
    if (entry.list === true) continue;
    const location = entry.in;
    const name = entry.name;
    if (typeof name !== 'string') return ctx.fail(`${where} needs "name"`);
    if (location === 'path' && !ctx.pathParams.includes(name))
      ctx.fail(`${where}: no path parameter "${name}"`);
    if (location === 'query' && !ctx.queryNames.includes(name))
      ctx.fail(`${where}: no query parameter "${name}"`);
    if (location === 'body' && (!ctx.hasBody || !name.startsWith('/'))) {
      ctx.fail(`${where}: body checks need a request body and a JSON pointer name such as /sourceAccount/id`);
    }
    if (location !== 'path' && location !== 'query' && location !== 'body') {
      return ctx.fail(`${where}: "in" must be path, query or body`);
    }
    let resolve: EntitlementResolver | undefined;
    if (entry.resolver !== undefined) {
      if (ctx.upstream) ctx.fail(`${where}: resolvers are available to in-process APIs only`);
      resolve = ctx.resolvers?.[String(entry.resolver)];
      if (!resolve) ctx.fail(`${where}: no resolver "${String(entry.resolver)}"`);
    }
    const answer = (value: unknown, fallback: CheckAnswer, what: string): CheckAnswer => {
      if (value === undefined) return fallback;
      if (!isObject(value) || !Number.isInteger(value.status) || typeof value.type !== 'string') {
        return ctx.fail(`${where}: "${what}" needs an integer "status" and a problem "type"`);
      }
      const status = value.status as number;
      const known = ctx.problems.get(value.type);
      if (known && known.status !== status)
        ctx.fail(`${where}: problem type "${value.type}" has status ${known.status}`);
      const type = ctx.problems.register(value.type, {
        status,
        title: titleOf(value.type),
        description: `Declared by ${ctx.source}.`,
      });
      return { status, type };
    };
    const bodyCheck = location === 'body';
    checks.push({
      resource: entry.resource as string,
      in: location,
      name,
      permission: entry.permission as string,
      resolver: entry.resolver as string | undefined,
      pointer: bodyCheck ? pointerTokens(name) : [],
      notVisibleAnswer: answer(
        entry.notVisible,
        bodyCheck ? { status: 422, type: 'unprocessableEntity' } : { status: 404, type: 'notFound' },
        'notVisible',
      ),
      notPermittedAnswer: answer(
        entry.notPermitted,
        bodyCheck ? { status: 403, type: 'forbidden' } : { status: 404, type: 'notFound' },
        'notPermitted',
      ),
      resolve,
    });
  }
  return checks;
}

/** `invalidAccountId` → `Invalid account id`. */
function titleOf(type: string): string {
  const words = type.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
