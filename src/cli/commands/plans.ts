import { type AbuseSettings, cliActor } from '../../modules/developers/index.ts';
import { appCommand, type Command, EXIT, output } from '../command.ts';
import { flag, positiveIntegerOption, requireOption } from '../options.ts';
import { table } from '../table.ts';

/** `plans list|set` — rate plans (per second, burst, per day; abuse exemption). */
export const plansCommands: Command[] = [
  appCommand({ name: 'plans list', summary: 'list rate plans' }, async (app, args, io) => {
    const plans = await app.services.developers.plans.list();
    output(io, args.json, plans, () =>
      table(plans, ['id', 'name', 'perSecond', 'burst', 'perDay', 'abuseExempt']),
    );
    return EXIT.ok;
  }),
  appCommand(
    {
      name: 'plans set',
      summary: 'create or change a rate plan',
      options: {
        name: { type: 'string' },
        'per-second': { type: 'string' },
        burst: { type: 'string' },
        'per-day': { type: 'string' },
        'abuse-exempt': { type: 'boolean' },
      },
      usage:
        'strongroom plans set --name gold --per-second 500 --burst 1000 --per-day 10000000 [--abuse-exempt]',
    },
    async (app, args, io) => {
      const name = requireOption(args, io, 'name');
      if (!name) return EXIT.usage;
      const limits = (['per-second', 'burst', 'per-day'] as const).map((option) => {
        const value = positiveIntegerOption(args, io, option);
        if (value === undefined) io.stderr.write(`--${option} is required\n`);
        return value;
      });
      const [perSecond, burst, perDay] = limits;
      if (typeof perSecond !== 'number' || typeof burst !== 'number' || typeof perDay !== 'number') {
        return EXIT.usage;
      }
      const plan = await app.services.developers.plans.set(
        { name, perSecond, burst, perDay, abuseExempt: flag(args, 'abuse-exempt') },
        cliActor,
      );
      output(
        io,
        args.json,
        plan,
        () => `Rate plan ${plan.name}: ${plan.perSecond}/s (burst ${plan.burst}), ${plan.perDay}/day.`,
      );
      return EXIT.ok;
    },
  ),
];

const ABUSE_OPTIONS = [
  ['max-refusals', 'maxRefusals'],
  ['max-rate-limited', 'maxRateLimited'],
  ['window-seconds', 'windowSeconds'],
] as const;

/** `abuse show|set` — the automatic suspension thresholds (institution setting, effective within 1 s). */
export const abuseCommands: Command[] = [
  appCommand(
    { name: 'abuse show', summary: 'show the abuse auto-suspension thresholds' },
    async (app, args, io) => {
      const settings = await app.services.developers.abuseSettings.get();
      output(
        io,
        args.json,
        settings,
        () =>
          `A key is suspended after more than ${settings.maxRefusals} refused (401/403/404) or ${settings.maxRateLimited} rate-limited answers within ${settings.windowSeconds} s (load-test plans exempt).`,
      );
      return EXIT.ok;
    },
  ),
  appCommand(
    {
      name: 'abuse set',
      summary: 'change the abuse auto-suspension thresholds',
      options: Object.fromEntries(ABUSE_OPTIONS.map(([option]) => [option, { type: 'string' as const }])),
      usage: 'strongroom abuse set [--max-refusals 200] [--max-rate-limited 6000] [--window-seconds 60]',
    },
    async (app, args, io) => {
      const patch: Partial<AbuseSettings> = {};
      for (const [option, field] of ABUSE_OPTIONS) {
        const value = positiveIntegerOption(args, io, option);
        if (value === null) return EXIT.usage;
        if (value !== undefined) patch[field] = value;
      }
      const next = await app.services.developers.abuseSettings.set(patch, cliActor);
      output(io, args.json, next, () => `Abuse thresholds: ${JSON.stringify(next)}`);
      return EXIT.ok;
    },
  ),
];
