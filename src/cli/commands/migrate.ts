import { migrateToLatest, openStore } from '../../db/index.ts';
import { type Command, EXIT, output } from '../command.ts';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'apply pending database migrations (also done at start)',
  async run({ config, json }, io) {
    const store = openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    try {
      const report = await migrateToLatest(store, config.databaseUrl);
      output(io, json, { store: store.location, applied: report.applied }, () =>
        report.applied.length
          ? `Applied ${report.applied.length} migration(s) to ${store.location}:\n${report.applied.map((m) => `  ${m}`).join('\n')}`
          : `${store.location} is up to date.`,
      );
      return EXIT.ok;
    } finally {
      await store.close();
    }
  },
};
