#!/usr/bin/env node
// Entry point for the installed `railyard` command: runs the compiled build (dist/, made by
// `npm run build`; tsc, see scripts/build.js). In a checkout (server/ present) a dist/ older
// than the sources is rebuilt first, so `npm start` and tests run the current code; without
// TypeScript (npm ci --omit=dev) a stale build runs with a warning. No tsx at run time.
import { existsSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

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
// Loading the modules keeps most of what it allocates, so V8 would grow its young generation
// to the 16 MiB semi-space maximum while starting and hold it (≈ 15 MiB RSS) until its memory
// reducer runs, often not within 30 s (BENCHMARKS.md, issue 18). Keep the young generation at
// its initial size while loading; `serve` restores V8's default (2) once it listens, so a boot
// storm still grows it.
setFlagsFromString('--semi-space-growth-factor=1');
await import('../dist/server/cli.js');
