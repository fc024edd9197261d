import { ABUSE_COUNTS, type AbuseSettings, cliActor } from '../../modules/developers/index.ts';
import { appCommand, type Command, EXIT, output } from '../command.ts';
import { listOption, positiveIntegerOption } from '../options.ts';

/** `--grant-refusals-per-minute` ⇄ `grantRefusalsPerMinute`. */
const optionOf = (field: string) => field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

const describe = (s: AbuseSettings) =>
  [
    `A grant is revoked after more than ${s.grantRefusalsPerMinute} authenticated refusals (403/404/422) of its tokens within 60 s.`,
    `A confidential client's key is suspended once abuse revoked grants of ${s.revokedGrantsToSuspend} users within ${s.revokedGrantsWindowMinutes} min,`,
    `or after more than ${s.keyRefusalsPerMinute} refusals without user tokens within 60 s. Public clients' keys are never suspended (an alert instead).`,
    `Exempt plans: ${s.exemptPlans.join(', ') || '(none)'}. No-token, bad-token and 429 answers never count.`,
  ].join('\n');

/** `abuse show|set` — the abuse detection thresholds (institution setting, effective within 1 s; DESIGN.md §5.1). */
export const abuseCommands: Command[] = [
  appCommand(
    { name: 'abuse show', summary: 'show the abuse detection thresholds' },
    async (app, args, io) => {
      const settings = await app.services.developers.abuseSettings.get();
      output(io, args.json, settings, () => describe(settings));
      return EXIT.ok;
    },
  ),
  appCommand(
    {
      name: 'abuse set',
      summary: 'change the abuse detection thresholds',
      options: {
        ...Object.fromEntries(ABUSE_COUNTS.map((field) => [optionOf(field), { type: 'string' as const }])),
        'exempt-plans': { type: 'string' },
      },
      usage:
        'strongroom abuse set [--grant-refusals-per-minute 50] [--revoked-grants-to-suspend 3] [--revoked-grants-window-minutes 10] [--key-refusals-per-minute 200] [--exempt-plans loadTest,…]',
    },
    async (app, args, io) => {
      const patch: Partial<AbuseSettings> = {};
      for (const field of ABUSE_COUNTS) {
        const value = positiveIntegerOption(args, io, optionOf(field));
        if (value === null) return EXIT.usage;
        if (value !== undefined) patch[field] = value;
      }
      const exempt = listOption(args, 'exempt-plans');
      if (exempt !== undefined) patch.exemptPlans = exempt;
      const next = await app.services.developers.abuseSettings.set(patch, cliActor);
      output(io, args.json, next, () => describe(next));
      return EXIT.ok;
    },
  ),
];
