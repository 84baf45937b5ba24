// The compiled build as users get it. (1) The container image's files, laid out as the
// Dockerfile's final stage copies them (dist/, bin/, assets/, examples/, package.json and
// only the production dependencies of package-lock.json: no tsx, no TypeScript, no
// sources), run `railyard serve`, which answers. (2) A checkout rebuilds a stale dist/ at
// start, drops the output of a deleted source, and without TypeScript runs a stale build
// with a warning. (No Docker engine here: the layout is taken from the Dockerfile itself.)
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PACKAGE, PACKAGE_ROOT } from './package-root.ts';
// Builds this checkout's dist/ first if stale: the image test copies it.
import './testing/cli.ts';
import { tempDir } from './testing/fixtures.ts';

const tmp = tempDir('railyard-compiled-');
const ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('RAILYARD_')));

/** node_modules/ as `npm ci --omit=dev` leaves it: the lockfile's non-dev packages (linked). */
function productionModules(into: string): string[] {
  const lock = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  const linked: string[] = [];
  for (const [path, meta] of Object.entries(lock.packages)) {
    if (!path.startsWith('node_modules/') || path.lastIndexOf('node_modules/') !== 0 || meta.dev) continue;
    if (!existsSync(join(PACKAGE_ROOT, path))) continue; // an optional package for another platform
    mkdirSync(dirname(join(into, path)), { recursive: true });
    symlinkSync(join(PACKAGE_ROOT, path), join(into, path));
    linked.push(path.slice('node_modules/'.length));
  }
  return linked;
}

/** The Dockerfile's final stage: its COPY instructions into WORKDIR /app. */
function imageCopies(): { from?: string; src: string; dest: string }[] {
  const dockerfile = readFileSync(join(PACKAGE_ROOT, 'Dockerfile'), 'utf8');
  const stage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  return [...stage.matchAll(/^COPY (--from=\S+ )?(\S+) (\S+)$/gm)]
    .filter((m) => !(m[3] as string).startsWith('/'))
    .map((m) => ({ ...(m[1] ? { from: m[1] } : {}), src: m[2] as string, dest: m[3] as string }));
}

function waitForListening(child: ChildProcess): Promise<{ url: string; output: () => string }> {
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`railyard did not start:\n${output}`)), 60_000);
    child.stderr?.on('data', (d: Buffer) => {
      output += d.toString();
      const m = /HTTP listening on (http:\/\/[^\s"]+)/.exec(output);
      if (m && /TFTP listening on/.test(output)) {
        clearTimeout(timer);
        resolve({ url: m[1] as string, output: () => output });
      }
    });
    child.on('exit', () => reject(new Error(`railyard exited:\n${output}`)));
  });
}

test("the image's files run railyard without dev dependencies or sources", async () => {
  const app = join(tmp.dir, 'app');
  const copies = imageCopies();
  const sources = copies.filter((c) => !c.from).map((c) => c.src);
  assert.equal(
    copies.filter((c) => c.from).map((c) => c.src),
    ['/app/node_modules', '/app/dist'],
    'from the build stage',
  );
  for (const src of sources) cpSync(join(PACKAGE_ROOT, src), join(app, src), { recursive: true });
  assert.not.ok(existsSync(join(app, 'server')), 'no TypeScript sources in the image');
  cpSync(join(PACKAGE_ROOT, 'dist'), join(app, 'dist'), { recursive: true });
  const modules = productionModules(app);
  for (const dev of ['tsx', 'typescript', 'uvu']) assert.not.ok(modules.includes(dev), dev);
  assert.ok(modules.includes('hono') && modules.includes('better-sqlite3'));

  const version = spawnSync(process.execPath, [join(app, 'bin/railyard.js'), '--version'], {
    encoding: 'utf8',
  });
  assert.is(version.stdout, `${PACKAGE.version}\n`, version.stderr);
  assert.is(version.stderr, '');

  const tftpRoot = join(tmp.dir, 'tftp');
  mkdirSync(tftpRoot);
  writeFileSync(join(tftpRoot, 'undionly.kpxe'), 'x');
  const args = ['serve', '-l', '127.0.0.1:0', '--tftp-listen', '127.0.0.1:0', '--tftp-root', tftpRoot];
  const child = spawn(process.execPath, [join(app, 'bin/railyard.js'), ...args], {
    cwd: tmp.dir,
    env: { ...ENV, RAILYARD_DATA_DIR: join(tmp.dir, 'data'), RAILYARD_MIRROR_AUTO_REFRESH: 'false' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  try {
    const { url, output } = await waitForListening(child);
    const health = await fetch(`${url}/healthz`);
    assert.is(health.status, 200);
    assert.match(await health.text(), PACKAGE.version);
    const boot = await fetch(`${url}/boot.ipxe`);
    assert.is(boot.status, 200);
    assert.match(await boot.text(), /^#!ipxe/);
    assert.is((await fetch(`${url}/ui/login`)).status, 200, 'UI templates (assets/ui)');
    assert.not.match(output(), /"level":(50|60)/);
  } finally {
    child.kill('SIGTERM');
  }
  const status = spawnSync(process.execPath, [join(app, 'bin/railyard.js'), 'mirror', 'status'], {
    cwd: tmp.dir,
    env: { ...ENV, RAILYARD_DATA_DIR: join(tmp.dir, 'data') },
    encoding: 'utf8',
  });
  assert.is(status.status, 0, status.stderr);
});

test("the image's derivation worker runs from dist/ (no tsx to load, none installed)", async () => {
  const app = join(tmp.dir, 'app');
  const zst = join(tmp.dir, 'payload.zst');
  const payload = Buffer.alloc(256 * 1024, 'railyard');
  writeFileSync(join(tmp.dir, 'payload'), payload);
  const zstd = spawnSync('zstd', ['-q', '-f', join(tmp.dir, 'payload'), '-o', zst], { encoding: 'utf8' });
  assert.is(zstd.status, 0, zstd.stderr);
  const spawnModule = join(app, 'dist/server/mirror/derive-spawn.js');
  const { runWorker, workerArgv } = (await import(spawnModule)) as typeof import('./mirror/derive-spawn.ts');
  assert.equal(workerArgv(), [join(app, 'dist/server/mirror/derive-worker.js')]);
  let pid = 0;
  const out = await runWorker({ kind: 'roundtrip', files: [zst] }, { onStart: (p) => (pid = p) });
  assert.ok(pid > 0);
  assert.equal(out.result.decoded, [
    { size: payload.length, sha256: createHash('sha256').update(payload).digest('hex') },
  ]);
});

/** A copy of the checkout's build inputs; `modules`: all (linked) or production only. */
function checkout(name: string, modules: 'all' | 'production'): string {
  const dir = join(tmp.dir, name);
  for (const path of ['server', 'bin', 'scripts/build.js', 'assets', 'examples', 'package.json']) {
    cpSync(join(PACKAGE_ROOT, path), join(dir, path), { recursive: true });
  }
  for (const file of ['tsconfig.json', 'tsconfig.build.json'])
    cpSync(join(PACKAGE_ROOT, file), join(dir, file));
  if (modules === 'all') symlinkSync(join(PACKAGE_ROOT, 'node_modules'), join(dir, 'node_modules'));
  else productionModules(dir);
  return dir;
}

function version(dir: string) {
  const run = spawnSync(process.execPath, [join(dir, 'bin/railyard.js'), '--version'], { encoding: 'utf8' });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

test('a checkout builds dist/ at start when it is missing or stale, and only then', () => {
  const dir = checkout('checkout', 'all');
  const first = version(dir);
  assert.is(first.stdout, `${PACKAGE.version}\n`, first.stderr);
  assert.match(first.stderr, 'rebuilt dist/');
  assert.is(version(dir).stderr, '', 'a current build is not rebuilt');

  writeFileSync(join(dir, 'server/zz-added.ts'), 'export const ADDED = 1;\n');
  assert.match(version(dir).stderr, 'rebuilt dist/');
  assert.ok(existsSync(join(dir, 'dist/server/zz-added.js')));
  rmSync(join(dir, 'server/zz-added.ts'));
  assert.match(version(dir).stderr, 'rebuilt dist/', 'a deleted source is a change');
  assert.not.ok(existsSync(join(dir, 'dist/server/zz-added.js')), 'its output is removed');
  // A test file is no input to the build.
  const future = new Date(Date.now() + 60_000);
  utimesSync(join(dir, 'server/config.test.ts'), future, future);
  assert.is(version(dir).stderr, '');
});

test('a source that does not compile stops the start with the compiler message, exit 1', () => {
  const dir = checkout('broken', 'all');
  writeFileSync(join(dir, 'server/zz-broken.ts'), 'export const BROKEN: number = "text";\n');
  const run = version(dir);
  assert.is(run.code, 1);
  assert.is(run.stdout, '');
  assert.match(run.stderr, 'zz-broken.ts');
  assert.match(run.stderr, 'rebuilding dist/ failed');
});

test('without TypeScript (npm ci --omit=dev): a stale build runs with a warning, none is an error', () => {
  const dir = checkout('omit-dev', 'production');
  const none = version(dir);
  assert.is(none.code, 1);
  assert.match(none.stderr, 'dist/ is missing: build it with npm ci && npm run build');
  cpSync(join(PACKAGE_ROOT, 'dist'), join(dir, 'dist'), { recursive: true, preserveTimestamps: true });
  const future = new Date(Date.now() + 60_000);
  utimesSync(join(dir, 'server/log.ts'), future, future);
  const stale = version(dir);
  assert.is(stale.stdout, `${PACKAGE.version}\n`);
  assert.match(stale.stderr, 'warning: dist/ is older than server/');
});

test.run();
