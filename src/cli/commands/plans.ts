import { ABUSE_SETTING, DEFAULT_ABUSE } from '../../modules/developers/index.ts';
import type { Command } from '../command.ts';
import { appCommand, developersOf, EXIT, output, requireOption, table } from './developers-cli.ts';

/** `plans list|set` — rate plans (per second, burst, per day; abuse exemption). */
export const plansCommands: Command[] = [
  appCommand({ name: 'plans list', summary: 'list rate plans' }, async (app, args, io) => {
    const plans = await developersOf(app).repo.listPlans();
    output(io, args.json, plans, () =>
      table(plans as never, ['id', 'name', 'perSecond', 'burst', 'perDay', 'abuseExempt']),
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
      const numbers: number[] = [];
      for (const option of ['per-second', 'burst', 'per-day']) {
        const value = Number(args.options[option]);
        if (!Number.isSafeInteger(value) || value <= 0) {
          io.stderr.write(`--${option} must be a positive integer\n`);
          return EXIT.usage;
        }
        numbers.push(value);
      }
      const [perSecond = 0, burst = 0, perDay = 0] = numbers;
      const dev = developersOf(app);
      const plan = await dev.setPlan({
        name,
        perSecond,
        burst,
        perDay,
        abuseExempt: args.options['abuse-exempt'] === true,
      });
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

/** `abuse show|set` — the automatic suspension thresholds (institution setting, effective within 1 s). */
export const abuseCommands: Command[] = [
  appCommand(
    { name: 'abuse show', summary: 'show the abuse auto-suspension thresholds' },
    async (app, args, io) => {
      const value = await app.context.settings.get(ABUSE_SETTING, DEFAULT_ABUSE);
      const settings = { ...DEFAULT_ABUSE, ...value };
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
      options: {
        'max-refusals': { type: 'string' },
        'max-rate-limited': { type: 'string' },
        'window-seconds': { type: 'string' },
      },
      usage: 'strongroom abuse set [--max-refusals 200] [--max-rate-limited 6000] [--window-seconds 60]',
    },
    async (app, args, io) => {
      const current = { ...DEFAULT_ABUSE, ...(await app.context.settings.get(ABUSE_SETTING, DEFAULT_ABUSE)) };
      const next = { ...current };
      for (const [option, field] of [
        ['max-refusals', 'maxRefusals'],
        ['max-rate-limited', 'maxRateLimited'],
        ['window-seconds', 'windowSeconds'],
      ] as const) {
        const raw = args.options[option];
        if (raw === undefined) continue;
        const value = Number(raw);
        if (!Number.isSafeInteger(value) || value <= 0) {
          io.stderr.write(`--${option} must be a positive integer\n`);
          return EXIT.usage;
        }
        next[field] = value;
      }
      await app.context.settings.set(ABUSE_SETTING, next);
      await app.context.audit.record({
        actor: { type: 'cli' },
        action: 'setting.changed',
        target: { type: 'setting', id: ABUSE_SETTING },
        before: current,
        after: next,
      });
      output(io, args.json, next, () => `Abuse thresholds: ${JSON.stringify(next)}`);
      return EXIT.ok;
    },
  ),
];
