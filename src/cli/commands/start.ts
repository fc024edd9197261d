import { createApp } from '../../app.ts';
import { demoFilePath, readDemoFile } from '../../demo/demo-file.ts';
import { type Command, EXIT, writeLine } from '../command.ts';

export const startCommand: Command = {
  name: 'start',
  summary: 'run the platform (authorization server, gateway, portal, APIs)',
  usage: 'Example: strongroom start --demo --port 8443',
  async run({ config }, io) {
    const app = await createApp(config);
    let url: string;
    try {
      url = await app.listen();
    } catch (error) {
      writeLine(io.stderr, `strongroom start: ${(error as Error).message}`);
      await app.close().catch(() => {});
      return EXIT.failure;
    }
    const lines = [`Strongroom is running at ${config.publicUrl} (listening on ${url})`];
    if (app.tls?.caFile) {
      lines.push(`  TLS: trust the local CA ${app.tls.caFile}`);
      lines.push(`       e.g. curl --cacert ${app.tls.caFile} ${config.publicUrl}/health/ready`);
    }
    if (config.demo) {
      const demo = await readDemoFile(config.dataDir);
      lines.push(`  Demo:   ${config.publicUrl}/demo/`, `  Portal: ${config.publicUrl}/portal/`);
      if (demo?.users.length)
        lines.push(`  Demo users: ${demo.users.map((u) => `${u.username} (${u.persona})`).join(', ')}`);
      if (demo?.sandboxUsers?.length)
        lines.push(
          `  Sandbox customers (sandbox apps only): ${demo.sandboxUsers.map((u) => u.username).join(', ')}`,
        );
      // Point only at a demo.json this data dir really holds (another instance may have seeded the store).
      if (demo)
        lines.push(
          `  Passwords, keys and client secrets are in ${demoFilePath(config.dataDir)} (mode 0600).`,
        );
      else
        lines.push(
          `  The demo was seeded earlier or by another instance: ${demoFilePath(config.dataDir)} was not written here.`,
        );
    }
    for (const line of lines) writeLine(io.stdout, line);

    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        writeLine(io.stdout, `Received ${signal}; shutting down gracefully.`);
        resolve();
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    await app.close();
    return EXIT.ok;
  },
};
