import { type Command, EXIT, output, withApp } from '../command.ts';

/** `apis list` — the APIs the gateway serves (in-process and upstream) and their operations. */
export const apisCommands: Command[] = [
  {
    name: 'apis list',
    summary: 'list the registered APIs and their operations',
    usage: 'strongroom apis list [--api name=file --upstream name=url …] [--json]',
    async run(args, io) {
      const apis = await withApp(args.config, async (app) => app.services.gateway.apis());
      output(io, args.json, apis, () =>
        apis
          .map(
            (api) =>
              `${api.name} — ${api.title} ${api.version} (${api.upstream ? `upstream ${api.upstream}` : 'in-process'})\n${api.operations
                .map((op) => `  ${op.method.padEnd(6)} ${op.url}  ${op.operationId}`)
                .join('\n')}`,
          )
          .join('\n\n'),
      );
      return EXIT.ok;
    },
  },
];
