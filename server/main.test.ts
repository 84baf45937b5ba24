// startServer's lifecycle with real listeners on loopback: the first fatal error of a
// listener (the TFTP socket, the HTTP server) or of a job stops everything, HTTP and TFTP
// alike, with that error; the one signal every job was given is aborted on stop.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from './config.ts';
import type { Job } from './lifecycle.ts';
import { type RunningServer, startServer } from './main.ts';
import { EXAMPLES_DIR, tempDir } from './testing/fixtures.ts';
import { captureLog } from './testing/log-capture.ts';
import { bindSocket } from './tftp/server.ts';

interface Started {
  server: RunningServer;
  lines: Array<{ level: number; msg: string }>;
  tftpPort: number;
  cleanup: () => Promise<void>;
}

async function start(jobs: Job[] = []): Promise<Started> {
  const tmp = tempDir('railyard-main-');
  writeFileSync(join(tmp.dir, 'undionly.kpxe'), 'ipxe');
  const config = loadConfig({
    env: {},
    cwd: tmp.dir,
    overrides: {
      dataDir: join(tmp.dir, 'data'),
      machinesDir: EXAMPLES_DIR,
      'http.listen': '127.0.0.1:0',
      'tftp.listen': '127.0.0.1:0',
      'tftp.root': tmp.dir,
      'mirror.autoRefresh': false,
      'admin.token': 'test-admin-token-0123456789abcdef',
    },
  });
  const { log, lines } = captureLog<Started['lines'][number]>();
  const server = await startServer(config, log, { jobs });
  const tftpPort = server.tftp?.listeners[0]?.address().port ?? 0;
  assert.ok(tftpPort > 0, 'TFTP is listening');
  return {
    server,
    lines,
    tftpPort,
    cleanup: async () => {
      await server.lifecycle.stop('test done', 0, true);
      tmp.cleanup();
    },
  };
}

async function healthy(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/healthz`)).status === 200;
  } catch {
    return false; // connection refused: nothing listens
  }
}

/** Whether this process can bind the port itself (the server's exclusive socket is gone). */
async function udpFree(port: number): Promise<boolean> {
  try {
    (await bindSocket('127.0.0.1', port)).close();
    return true;
  } catch {
    return false;
  }
}

/** `stopped` resolves within 10 s; its value (the fatal error, if any). */
function stoppedIn(s: Started): Promise<Error | undefined> {
  return Promise.race([
    s.server.lifecycle.stopped,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('did not stop in 10 s')), 10_000)),
  ]);
}

test('a TFTP listener error after start stops everything, the HTTP side too', async () => {
  const s = await start();
  try {
    assert.ok(await healthy(s.server.httpUrl), 'HTTP serves before');
    assert.not.ok(await udpFree(s.tftpPort), 'the TFTP port is held before');
    const boom = Object.assign(new Error('recvmsg ENOBUFS'), { code: 'ENOBUFS' });
    s.server.tftp?.listeners[0]?.emit('error', boom);
    assert.is(await stoppedIn(s), boom, 'stopped with the listener error');
    assert.not.ok(await healthy(s.server.httpUrl), 'HTTP no longer accepts');
    assert.ok(await udpFree(s.tftpPort), 'the TFTP port is released');
    assert.ok(s.server.lifecycle.signal.aborted);
    const fatal = s.lines.find((l) => l.level === 50 && /fatal error, stopping everything/.test(l.msg));
    assert.match(fatal?.msg ?? '', 'tftp: recvmsg ENOBUFS');
  } finally {
    await s.cleanup();
  }
});

test('an HTTP server error after start stops TFTP too', async () => {
  const s = await start();
  try {
    const boom = Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' });
    s.server.http.server.emit('error', boom);
    assert.is(await stoppedIn(s), boom);
    assert.ok(await udpFree(s.tftpPort), 'the TFTP port is released');
    assert.not.ok(await healthy(s.server.httpUrl));
    assert.match(
      s.lines.find((l) => l.level === 50 && /fatal/.test(l.msg))?.msg ?? '',
      'http: accept EMFILE',
    );
  } finally {
    await s.cleanup();
  }
});

test("a job's crash stops the server; every job got the one lifecycle signal", async () => {
  const signals: AbortSignal[] = [];
  let crash: (err: unknown) => void = () => undefined;
  const crashing: Job = {
    name: 'test-job',
    start: (signal, onCrash) => {
      signals.push(signal);
      crash = onCrash;
      return undefined;
    },
  };
  const s = await start([crashing]);
  try {
    assert.is(signals[0], s.server.lifecycle.signal, 'the job observes the lifecycle signal');
    assert.ok(await healthy(s.server.httpUrl), 'serving until the crash');
    crash(new Error('job blew up'));
    assert.is((await stoppedIn(s))?.message, 'job blew up');
    assert.ok(signals[0]?.aborted, 'the signal is aborted on stop');
    assert.not.ok(await healthy(s.server.httpUrl));
    assert.ok(await udpFree(s.tftpPort));
    assert.match(s.lines.find((l) => l.level === 50)?.msg ?? '', 'test-job: job blew up');
  } finally {
    await s.cleanup();
  }
});

test('a plain stop aborts the signal and resolves stopped without an error', async () => {
  const seen: AbortSignal[] = [];
  const probe: Job = {
    name: 'probe',
    start: (signal) => {
      seen.push(signal);
      return undefined;
    },
  };
  const s = await start([probe]);
  try {
    assert.not.ok(s.server.lifecycle.signal.aborted);
    await s.server.lifecycle.stop('test stop', 1000);
    assert.ok(seen[0]?.aborted);
    assert.is(await stoppedIn(s), undefined);
    assert.not.ok(await healthy(s.server.httpUrl));
    assert.ok(await udpFree(s.tftpPort));
  } finally {
    await s.cleanup();
  }
});

test.run();
