// Guard: the project runs on the Node.js pinned in package.json (the `node` dependency).
// npm scripts fall back to the system Node when `npm install --ignore-scripts` skipped its binary.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(
    `strongroom needs Node.js 24 (found ${process.version}).\n` +
      'Run `npm install` (without --ignore-scripts) so node_modules/.bin/node is the pinned Node 24, ' +
      'then use `npm start` / `npm test` / `npm run strongroom -- <command>`.',
  );
  process.exit(1);
}
