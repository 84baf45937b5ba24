// The compiled build: `tsc -p tsconfig.build.json` turns server/**/*.ts (tests excluded) into
// JavaScript under dist/, which bin/railyard.js runs. Plain JavaScript (no build step of its
// own): bin/railyard.js uses it to rebuild a stale dist/ in a checkout.
//   node scripts/build.js            build now (npm run build)
//   node scripts/build.js --if-stale build only when a source is newer than the last build
//   node scripts/build.js --prepare  npm's prepare step: build, or say why not when TypeScript
//                                    is not installed (npm ci --omit=dev) and exit 0
// dist/.built marks a complete build; its mtime is when that build started, so a source saved
// during a build makes the next start build again. Concurrent builders wait on dist/.lock.
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const STAMP = join(DIST, '.built');
const LOCK = join(DIST, '.lock');
/** Files outside server/ whose change changes the output. */
const CONFIGS = ['tsconfig.json', 'tsconfig.build.json'];
/** Not compiled (tsconfig.build.json excludes them): their changes never make dist/ stale. */
const SKIPPED_DIRS = new Set(['fixtures', 'testdata', 'testing', 'node_modules']);

/** True when this is a checkout (server/ sources present), not a packaged build. */
export function hasSources(root = ROOT) {
  return existsSync(join(root, 'server'));
}

/** The newest mtime (ms) among compiled sources, their directories (for deletions) and configs. */
function newestInput(root) {
  let newest = 0;
  const visit = (dir) => {
    newest = Math.max(newest, statSync(dir).mtimeMs);
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) visit(path);
      } else if (
        entry.name.endsWith('.ts') &&
        !entry.name.endsWith('.test.ts') &&
        entry.name !== 'testing.ts'
      ) {
        newest = Math.max(newest, statSync(path).mtimeMs);
      }
    }
  };
  visit(join(root, 'server'));
  for (const file of CONFIGS) newest = Math.max(newest, statSync(join(root, file)).mtimeMs);
  return newest;
}

/** True when dist/ is missing, incomplete or older than a source it is built from. */
export function isStale(root = ROOT) {
  const stamp = join(root, 'dist/.built');
  if (!existsSync(stamp)) return true;
  return newestInput(root) > statSync(stamp).mtimeMs;
}

/** The tsc entry point of the installed TypeScript, or undefined (npm ci --omit=dev). */
export function findTsc(root = ROOT) {
  try {
    const pkg = createRequire(join(root, 'package.json')).resolve('typescript/package.json');
    return join(dirname(pkg), 'bin/tsc');
  } catch {
    return undefined;
  }
}

/** Wait for the build lock (another process may be building), up to two minutes. */
function lock() {
  mkdirSync(DIST, { recursive: true });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      closeSync(openSync(LOCK, 'wx'));
      return;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      // A lock left by a killed build: older than any build takes.
      if (Date.now() - statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs > 120_000)
        rmSync(LOCK, { force: true });
      if (Date.now() > deadline)
        throw new Error(`${LOCK}: another build holds the lock; remove it if none runs`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
}

/** dist/ files whose source is gone (a renamed or deleted module). */
function removeOrphans(dir = join(DIST, 'server')) {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      removeOrphans(path);
      continue;
    }
    const source = join(ROOT, relative(DIST, path)).replace(/\.js(\.map)?$/, '.ts');
    if (!existsSync(source)) unlinkSync(path);
  }
}

/**
 * Build dist/ with tsc (under the lock; with `ifStale`, only when still stale once the lock is
 * held). Throws with tsc's output when the build fails; tsc's output never reaches stdout.
 */
export function build({ ifStale = false } = {}) {
  const tsc = findTsc();
  if (!tsc)
    throw new Error('TypeScript is not installed (npm ci --omit=dev?): run npm ci, then npm run build');
  lock();
  try {
    if (ifStale && !isStale()) return false;
    const started = new Date();
    rmSync(STAMP, { force: true });
    const run = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    if (run.status !== 0) {
      throw new Error(
        `tsc -p tsconfig.build.json failed (exit ${run.status ?? run.signal}):\n${run.stdout}${run.stderr}`,
      );
    }
    removeOrphans();
    writeFileSync(STAMP, `${started.toISOString()}\n`);
    utimesSync(STAMP, started, started);
    return true;
  } finally {
    rmSync(LOCK, { force: true });
  }
}

function main(args) {
  if (args.includes('--prepare') && !findTsc()) {
    process.stderr.write(
      'railyard: TypeScript is not installed, dist/ not built (npm run build needs npm ci)\n',
    );
    return 0;
  }
  try {
    const built = build({ ifStale: args.includes('--if-stale') });
    if (built && !args.includes('--quiet')) process.stderr.write(`railyard: built ${DIST}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`railyard: ${err.message}\n`);
    return 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
