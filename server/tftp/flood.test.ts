// 300 read requests that are never acknowledged, against `railyard serve` in a child process
// with a low file-descriptor limit: file opens and socket binds hit EMFILE. The process must
// answer "busy" instead of crashing, drop the silent clients, and serve normally afterwards.
// The limit is applied (prlimit --pid) once the server listens: loading its modules opens many
// files at once, and how many depends on the module graph and the machine's load, not on TFTP.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ErrorCode, encodeRequest } from './packets.ts';
import { have, run, sha256, spawnServer, tempDir, UdpProbe, writeFixtures } from './testing.ts';

const NOFILE = 80;
const REQUESTS = 300;

test('300 unanswered RRQs under a low fd limit: busy replies, no crash, serving afterwards', async () => {
  if (!(await have('prlimit'))) throw new Error('prlimit (util-linux) is not installed');
  const dir = tempDir();
  const sums = writeFixtures(dir, [70 * 1024]);
  const server = await spawnServer(['--tftp-listen', '127.0.0.1:0', '--tftp-root', dir], {
    env: {
      RAILYARD_TFTP_MAX_TRANSFERS: '1000',
      RAILYARD_TFTP_MAX_PER_CLIENT: '1000',
      RAILYARD_TFTP_RETRIES: '1',
      RAILYARD_HTTP_DRAIN_TIMEOUT: '1s',
    },
  });
  try {
    assert.ok(server.port, `server did not start:\n${server.output()}`);
    const port = server.port as number;
    const limited = await run('prlimit', [`--pid=${server.child.pid}`, `--nofile=${NOFILE}`]);
    assert.is(limited.code, 0, `prlimit --pid: ${limited.stderr}`);
    const now = await run('prlimit', [`--pid=${server.child.pid}`, '--nofile', '--raw', '--noheadings']);
    assert.match(
      now.stdout,
      new RegExp(`\\b${NOFILE}\\s+${NOFILE}\\b`),
      'the server runs with the low limit',
    );
    const replies = { data: 0, busy: 0, silent: 0, other: 0 };
    const others: string[] = [];
    for (let batch = 0; batch < REQUESTS / 50; batch++) {
      const probes = await Promise.all(Array.from({ length: 50 }, () => UdpProbe.open()));
      for (const p of probes) await p.send(encodeRequest('rrq', 'f71680'), port);
      for (const p of probes) {
        const r = await p.next(10_000);
        if (r?.packet?.op === 'data') replies.data++;
        else if (r?.packet?.op === 'error' && r.packet.code === ErrorCode.DISK_FULL) replies.busy++;
        else if (!r) replies.silent++;
        else {
          replies.other++;
          others.push(JSON.stringify(r.packet));
        }
        p.close();
      }
    }
    assert.ok(
      replies.data > 0 && replies.busy > 0,
      `expected some DATA and some busy: ${JSON.stringify(replies)}`,
    );
    // Every answer is DATA or "busy"; on a loaded machine a loopback datagram may still be
    // dropped (socket buffers), so a few unanswered requests are tolerated, not wrong answers.
    assert.is(replies.other, 0, `${JSON.stringify(replies)} ${others.join(' ')}`);
    assert.ok(replies.silent <= REQUESTS / 20, JSON.stringify(replies));
    assert.is(server.child.exitCode, null, `server died:\n${server.output().slice(-2000)}`);
    // The silent clients are dropped after one retransmit; then a real client gets the file.
    const local = join(dir, 'out.bin');
    let ok = false;
    for (let attempt = 0; attempt < 30 && !ok; attempt++) {
      rmSync(local, { force: true });
      const r = await run('tftp', ['-m', 'binary', '127.0.0.1', String(port), '-c', 'get', 'f71680', local]);
      ok = r.code === 0 && sha256(readFileSync(local)) === sums.get('f71680');
      if (!ok) await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    assert.ok(ok, 'tftp-hpa got the file after the flood');
    assert.match(server.output(), /EMFILE/);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
