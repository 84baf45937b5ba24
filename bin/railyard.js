#!/usr/bin/env node
// Entry point for the installed `railyard` command: runs the compiled build (dist/, made by
// `npm run build`; tsc, see scripts/build.js). In a checkout (server/ present) a dist/ older
// than the sources is rebuilt first, so `npm start` and tests run the current code; without
// TypeScript (npm ci --omit=dev) a stale build runs with a warning. No tsx at run time.
import { existsSync } from 'node:fs';

const root = new URL('..', import.meta.url);
if (existsSync(new URL('server', root))) {
  const { build, findTsc, isStale } = await import('../scripts/build.js');
  if (isStale()) {
    if (findTsc()) {
      try {
        if (build({ ifStale: true })) process.stderr.write('railyard: sources changed: rebuilt dist/\n');
      } catch (err) {
        process.stderr.write(`railyard: rebuilding dist/ failed: ${err.message}\n`);
        process.exit(1);
      }
    } else if (existsSync(new URL('dist/server/cli.js', root))) {
      process.stderr.write('railyard: warning: dist/ is older than server/ (run npm ci && npm run build)\n');
    }
  }
}
if (!existsSync(new URL('dist/server/cli.js', root))) {
  process.stderr.write('railyard: dist/ is missing: build it with npm ci && npm run build\n');
  process.exit(1);
}
await import('../dist/server/cli.js');
