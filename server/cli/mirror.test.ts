// `railyard mirror` as a child process: exit codes, --json, and kill -9 mid-download.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import { PACKAGE_ROOT } from '../config.ts';
import { buildRelease, setLink, versionTxt } from '../mirror/testing/fake-upstream.ts';
import { createHarness, type Harness } from '../mirror/testing/harness.ts';
import { CLI } from '../testing/cli.ts';
import { isRoot, unprivileged } from '../testing/unprivileged.ts';

const IMAGE = 'flatcar_production_image.bin.bz2';

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Run the CLI as a child process; `asNobody` (root only) runs the real entry point as nobody,
 * through a bind mount of the checkout (testing/unprivileged.ts).
 */
function railyard(args: string[], asNobody = false): { child: ChildProcess; done: Promise<Result> } {
  const env = { PATH: process.env['PATH'] ?? '', HOME: tmpdir() };
  const nobody = asNobody ? unprivileged() : undefined;
  const child = nobody
    ? spawn(nobody.wrap[0] as string, [...nobody.wrap.slice(1), process.execPath, nobody.at(CLI), ...args], {
        cwd: tmpdir(),
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    : spawn(process.execPath, [CLI, ...args], {
        cwd: PACKAGE_ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
  child.on('close', () => nobody?.cleanup());
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const done = new Promise<Result>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

function writeConfig(h: Harness, mirror: Record<string, unknown> = {}): string {
  const file = join(h.dir, 'railyard.yaml');
  const config = {
    dataDir: h.dataDir,
    log: { level: 'info', format: 'json' },
    mirror: {
      upstream: h.upstream.template,
      keyring: h.keyringPath,
      fingerprint: h.key.fingerprint,
      retries: 1,
      retryDelay: '10ms',
      releases: [{ channel: 'stable', board: 'amd64-usr', versions: ['current'], keep: 3 }],
      ...mirror,
    },
  };
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

async function withRelease(fn: (h: Harness, config: string) => Promise<void>) {
  const h = await createHarness();
  try {
    await buildRelease(h.upstreamRoot, h.key, '100.0.0');
    setLink(h.upstreamRoot, '100.0.0');
    await fn(h, writeConfig(h));
  } finally {
    await h.close();
  }
}

/** Every regular file under the served tree (names starting with "." are never served). */
function servedFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.'))
    .flatMap((e) => (e.isDirectory() ? servedFiles(join(dir, e.name)) : [join(dir, e.name)]));
}

test('refresh of a replayed release: exit 1 naming the flag; --allow-duplicate-release publishes it', () =>
  withRelease(async (h, config) => {
    assert.equal((await railyard(['mirror', 'refresh', '--config', config, '--quiet']).done).code, 0);
    const src = join(h.upstreamRoot, 'stable/amd64-usr/100.0.0');
    const dst = join(h.upstreamRoot, 'stable/amd64-usr/200.0.0');
    cpSync(src, dst, { recursive: true });
    for (const f of readdirSync(dst).filter((n) => n.startsWith('version.txt'))) rmSync(join(dst, f));
    writeFileSync(join(dst, 'version.txt'), versionTxt('200.0.0'));
    setLink(h.upstreamRoot, '200.0.0');
    const refused = await railyard(['mirror', 'refresh', '--config', config, '--quiet']).done;
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /byte-identical to stable\/amd64-usr 100\.0\.0.*--allow-duplicate-release/);
    const allowed = await railyard([
      'mirror',
      'refresh',
      '--config',
      config,
      '--quiet',
      '--allow-duplicate-release',
    ]).done;
    assert.equal(allowed.code, 0, allowed.stderr);
  }));

test('refresh --json: exit 0 and a summary per version', () =>
  withRelease(async (_h, config) => {
    const r = await railyard(['mirror', 'refresh', '--config', config, '--json']).done;
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.ok, true);
    assert.deepEqual(
      summary.versions.map((v: { version: string; status: string }) => [v.version, v.status]),
      [['100.0.0', 'new']],
    );
    assert.equal(typeof summary.versions[0].bytes, 'number');
    assert.equal(typeof summary.versions[0].seconds, 'number');
    const status = await railyard(['mirror', 'status', '--config', config, '--json']).done;
    assert.equal(status.code, 0, status.stderr);
    const listing = JSON.parse(status.stdout);
    assert.deepEqual(listing.boards[0].links, { current: '100.0.0' });
    assert.equal(listing.status.lastRefresh.ok, true);
    const text = await railyard(['mirror', 'status', '--config', config]).done;
    assert.match(text.stdout, /100\.0\.0 .* <- current/);
  }));

test('usage errors exit 2, verification failures exit 1', () =>
  withRelease(async (h, config) => {
    const usage = await railyard(['mirror', 'refresh', '--config', config, '--channel', 'nightly']).done;
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--channel nightly: expected one of stable, beta, alpha, lts/);
    assert.equal((await railyard(['mirror', 'frobnicate']).done).code, 2);
    const wrongKey = writeConfig(h, { fingerprint: '0'.repeat(40) });
    const config2 = await railyard(['mirror', 'refresh', '--config', wrongKey]).done;
    assert.equal(config2.code, 2);
    assert.match(config2.stderr, /holds no primary key with the pinned fingerprint 0{40}/);
    writeConfig(h);
    writeFileSync(join(h.upstreamRoot, 'stable/amd64-usr/100.0.0', IMAGE), 'not the image');
    const bad = await railyard(['mirror', 'refresh', '--config', config, '--quiet']).done;
    assert.equal(bad.code, 1);
    assert.equal(bad.stdout, '');
    assert.match(bad.stderr, /flatcar_production_image\.bin\.bz2: bad signature/);
  }));

test('permission denied: clear error, exit 1, nothing published', async () => {
  if (!isRoot) {
    console.log('    skipped: the permission test runs the CLI as nobody, which needs root');
    return;
  }
  await withRelease(async (h, config) => {
    const { chmodSync, mkdirSync } = await import('node:fs');
    for (const p of [h.dir, config, h.keyringPath]) chmodSync(p, 0o755);
    mkdirSync(h.mirrorPath('stable'), { recursive: true, mode: 0o755 }); // root-owned: not writable by nobody
    chmodSync(h.dataDir, 0o777);
    chmodSync(h.mirrorPath(), 0o777);
    const r = await railyard(['mirror', 'refresh', '--config', config, '--quiet'], true).done;
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /100\.0\.0: permission denied \(EACCES\) at .*mirror\/stable\/amd64-usr/);
    assert.deepEqual(servedFiles(h.mirrorPath()), []);
    chmodSync(h.mirrorPath('stable'), 0o777);
    const again = await railyard(['mirror', 'refresh', '--config', config, '--quiet'], true).done;
    assert.equal(again.code, 0, again.stderr);
  });
});

test('kill -9 mid-download leaves nothing partial served; the next run resumes', () =>
  withRelease(async (h, config) => {
    h.upstream.fault(`/stable/amd64-usr/100.0.0/${IMAGE}`, { slowMs: 40 });
    const run = railyard(['mirror', 'refresh', '--config', config]);
    const partial = h.mirrorPath('.staging/stable/amd64-usr/100.0.0', IMAGE);
    while (!existsSync(partial) || statSync(partial).size < 40_000)
      await new Promise((r) => setTimeout(r, 5));
    run.child.kill('SIGKILL');
    const killed = await run.done;
    assert.equal(killed.signal, 'SIGKILL');
    assert.deepEqual(servedFiles(h.mirrorPath()), [], 'nothing visible under /mirror/');
    assert.ok(existsSync(h.mirrorPath('.lock')), 'the dead run left its lock');
    const size = statSync(partial).size;
    const again = await railyard(['mirror', 'refresh', '--config', config, '--json']).done;
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).versions[0].status, 'new');
    assert.match(again.stderr, /stale mirror lock/);
    assert.equal(h.upstream.gets(`/100.0.0/${IMAGE}`).at(-1)?.range, `bytes=${size}-`);
    assert.equal(servedFiles(h.mirrorPath('stable/amd64-usr/100.0.0')).length, 4 * 4);
  }));

test.run();
