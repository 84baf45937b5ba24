// Startup through `railyard serve` in a child process: port-69 privilege errors name the
// setting and the fixes; the built-in default falls back to an unprivileged port instead.

import { chmodSync, rmSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isRoot, unprivileged } from '../testing/unprivileged.ts';
import { CLI, run, spawnServer, tempDir, UdpProbe } from './testing.ts';

/** nobody, with the checkout reachable even when it lives in a private directory. */
const asNobody = unprivileged();
const AS_NOBODY = { wrap: asNobody.wrap, cli: asNobody.at(CLI) };
/** A working directory `nobody` can write (state.db and the secret land in ./var). */
const nobodyDir = tempDir('ryt-tftp-nobody-');
chmodSync(nobodyDir, 0o777);
test.after(() => {
  rmSync(nobodyDir, { recursive: true, force: true });
  asNobody.cleanup();
});

test('an explicit tftp.listen already in use stops startup, naming the setting', async () => {
  const holder = await UdpProbe.open();
  try {
    const server = await spawnServer(['--tftp-listen', `127.0.0.1:${holder.port}`, '--tftp-root', '/tmp']);
    assert.is(server.port, undefined);
    assert.is(await server.exitCode, 1);
    assert.match(server.output(), /tftp\.listen: cannot bind TFTP to 127\.0\.0\.1:\d+ \(EADDRINUSE\)/);
    assert.match(server.output(), /another process holds it/);
  } finally {
    holder.close();
  }
});

test('railyard serve: one log line per listener; boot.ipxe chains to publicUrl over TFTP', async () => {
  const server = await spawnServer([
    '--tftp-listen',
    '127.0.0.1:0',
    '--tftp-root',
    '/tmp',
    '--public-url',
    'http://10.0.0.5:8080',
  ]);
  try {
    assert.ok(server.port, server.output());
    assert.match(server.output(), /"listener":"tftp".*"msg":"TFTP listening on 127\.0\.0\.1:\d+"/);
    const r = await run('curl', ['-sS', `tftp://127.0.0.1:${server.port}/boot.ipxe`]);
    assert.is(r.stdout, '#!ipxe\nchain http://10.0.0.5:8080/boot.ipxe\n');
  } finally {
    await server.stop();
  }
  assert.match(server.output(), /"file":"boot.ipxe".*"bytes":44,"retransmits":0/);
});

test('port 69 without privileges: explicit setting fails with the fixes', async () => {
  if (!isRoot) {
    console.log('  skipped: needs root to drop privileges with setpriv');
    return;
  }
  const server = await spawnServer(['--tftp-listen', '127.0.0.1:69', '--tftp-root', '/tmp'], {
    ...AS_NOBODY,
    cwd: nobodyDir,
  });
  assert.is(await server.exitCode, 1, server.output());
  const text = server.output();
  for (const fix of [
    /tftp\.listen/,
    /EACCES/,
    /run as root/,
    /CAP_NET_BIND_SERVICE/,
    /setcap/,
    /AmbientCapabilities/,
  ]) {
    assert.match(text, fix);
  }
});

test('port 69 without privileges: the built-in default comes up on an unprivileged port', async () => {
  if (!isRoot) {
    console.log('  skipped: needs root to drop privileges with setpriv');
    return;
  }
  const server = await spawnServer(['--tftp-root', '/tmp'], { ...AS_NOBODY, cwd: nobodyDir });
  try {
    assert.ok(server.port, server.output());
    assert.ok((server.port as number) >= 1024);
    assert.match(server.output(), /using unprivileged port/);
  } finally {
    await server.stop();
  }
});

test.run();
