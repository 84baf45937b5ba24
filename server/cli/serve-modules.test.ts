// What `railyard serve` (the compiled build) loads: openpgp only for mirror work, pg only for
// the PostgreSQL store, pino-pretty only for pretty logs (a TTY). A module hook in the child
// records every ES module it loads (a CommonJS package imported from ES code shows up by its
// entry file); a server on the SQLite default without mirror.autoRefresh, logging to a pipe,
// boots machines without ever loading openpgp, pg or pino-pretty (each is ~2-16 MiB resident,
// BENCHMARKS.md issue 18); one with autoRefresh loads openpgp for the keyring check.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI } from '../testing/cli.ts';
import { tempDir } from '../testing/fixtures.ts';

const tmp = tempDir('railyard-modules-');
const hook = join(tmp.dir, 'hook.mjs');
writeFileSync(
  hook,
  `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(process.env.MODULE_LOG, url + '\\n');
  return next(url, context);
}
`,
);
const register = join(tmp.dir, 'register.mjs');
writeFileSync(
  register,
  `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hook).href)});\n`,
);

/** Start serve with `autoRefresh`, fetch /healthz and /boot.ipxe, stop; the module URLs it loaded. */
async function modulesOf(name: string, autoRefresh: boolean): Promise<string[]> {
  const log = join(tmp.dir, `${name}.modules`);
  writeFileSync(log, '');
  const child = spawn(process.execPath, ['--import', register, CLI, 'serve', '-l', '127.0.0.1:0'], {
    cwd: tmp.dir,
    env: {
      ...process.env,
      MODULE_LOG: log,
      RAILYARD_DATA_DIR: join(tmp.dir, name),
      RAILYARD_TFTP_ENABLED: 'false',
      // log.format unset: stderr is a pipe, so JSON (pino-pretty only on a TTY).
      RAILYARD_MIRROR_AUTO_REFRESH: String(autoRefresh),
      // Nothing listens there (fetch refuses port 9): the refresh fails on loopback.
      RAILYARD_MIRROR_UPSTREAM: 'http://127.0.0.1:9/{channel}/{board}',
      RAILYARD_MIRROR_RETRIES: '0',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  try {
    const deadline = Date.now() + 60_000;
    let url: string | undefined;
    while (!url) {
      url = /HTTP listening on (http:\/\/[^\s"]+)/.exec(output)?.[1];
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`serve did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.is((await fetch(`${url}/healthz`)).status, 200);
    assert.is((await fetch(`${url}/boot.ipxe`)).status, 200);
    // No release mirrored yet: the machine's script says so and retries (503), rendered all the same.
    const ipxe = await fetch(`${url}/ipxe?mac=52:54:00:12:34:56`);
    assert.is(ipxe.status, 503);
    assert.match(await ipxe.text(), /^#!ipxe/);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  return readFileSync(log, 'utf8').split('\n').filter(Boolean);
}

const fromPackage = (urls: string[], name: string) =>
  urls.filter((u) => u.includes(`/node_modules/${name}/`));
const openpgp = (urls: string[]) => fromPackage(urls, 'openpgp');

test('SQLite default, no mirror.autoRefresh, logs to a pipe: never loads openpgp, pg or pino-pretty', async () => {
  const urls = await modulesOf('no-mirror', false);
  assert.ok(
    urls.some((u) => u.endsWith('/dist/server/main.js')),
    'the hook saw the compiled build',
  );
  assert.ok(
    urls.some((u) => u.includes('/node_modules/hono/')),
    'and its dependencies',
  );
  assert.ok(
    urls.some((u) => u.includes('/node_modules/better-sqlite3/')),
    'the hook sees CommonJS packages imported from ES code',
  );
  assert.equal(openpgp(urls), []);
  assert.equal(fromPackage(urls, 'pg'), [], 'pg only for state.driver: postgres');
  assert.equal(fromPackage(urls, 'pino-pretty'), []);
});

test('with mirror.autoRefresh, serve loads openpgp (the keyring is checked at start)', async () => {
  assert.ok(openpgp(await modulesOf('mirror', true)).length > 0);
});

test.run();
