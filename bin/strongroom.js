#!/usr/bin/env node
// Entry point of the `strongroom` command. Checks the runtime, then runs the TypeScript CLI directly
// (Node 24 strips types natively; there is no build step).
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(
    `strongroom needs Node.js 24 (found ${process.version}). Run it through npm (\`npm run strongroom -- <command>\`), ` +
      'which uses the Node 24 pinned in node_modules/.bin/node.',
  );
  process.exit(1);
}
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
// The command is done: a handle some library left open (a socket to a stalled upstream or database)
// must not keep the process alive (DESIGN.md §5.2: exit at most 2 s after the shutdown grace).
setTimeout(() => process.exit(), 250).unref();
