// Startup through `railyard serve` in a child process: port-69 privilege errors name the
// setting and the fixes; the built-in default falls back to an unprivileged port instead.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnServer, UdpProbe } from './testing.ts';

const AS_NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all'];
const isRoot = process.getuid?.() === 0;

test('an explicit tftp.listen already in use stops startup, naming the setting', async () => {
  const holder = await UdpProbe.open();
  try {
    const server = await spawnServer(['--tftp-listen', `127.0.0.1:${holder.port}`, '--tftp-root', '/tmp']);
    assert.is(server.port, undefined);
    assert.is(await server.exitCode, 2);
    assert.match(server.output(), /tftp\.listen: cannot bind TFTP to 127\.0\.0\.1:\d+ \(EADDRINUSE\)/);
    assert.match(server.output(), /another process holds it/);
  } finally {
    holder.close();
  }
});

test('port 69 without privileges: explicit setting fails with the fixes', async () => {
  if (!isRoot) {
    console.log('  skipped: needs root to drop privileges with setpriv');
    return;
  }
  const server = await spawnServer(['--tftp-listen', '127.0.0.1:69', '--tftp-root', '/tmp'], {
    wrap: AS_NOBODY,
    cwd: '/tmp',
  });
  assert.is(await server.exitCode, 2, server.output());
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
  const server = await spawnServer(['--tftp-root', '/tmp'], { wrap: AS_NOBODY, cwd: '/tmp' });
  try {
    assert.ok(server.port, server.output());
    assert.ok((server.port as number) >= 1024);
    assert.match(server.output(), /using unprivileged port/);
  } finally {
    await server.stop();
  }
});

test.run();
