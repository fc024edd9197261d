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
