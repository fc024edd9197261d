import { cliActor } from '../../modules/developers/index.ts';
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
