// TFTP slots against clients that never answer (forged sources, a flood): a silent
// transfer frees its slot within 10 s of its request whatever `retries` says, and a flood of
// unanswered requests from hundreds of source addresses (127.1.x.y) cannot keep a new
// client out: its request takes the slot of the oldest silent transfer, and tftp-hpa-like
// clients (our raw client, curl) get their file at once.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeRequest } from './packets.ts';
import {
  rawGet,
  rootSource,
  run,
  sha256,
  startTestServer,
  tempDir,
  UdpProbe,
  writeFixtures,
} from './testing.ts';

const dir = tempDir();
const sums = writeFixtures(dir, [70 * 1024]);
const FILE = 'f71680';
test.after(() => rmSync(dir, { recursive: true, force: true }));

const waitFor = async (cond: () => boolean, ms: number) => {
  const t0 = Date.now();
  while (!cond() && Date.now() - t0 < ms) await new Promise((r) => setTimeout(r, 50));
  return Date.now() - t0;
};

test('a client that never answers frees its slot within 10 s (retries: 20 notwithstanding)', async () => {
  const { server, port } = await startTestServer(rootSource(dir), { retries: 20 });
  const probe = await UdpProbe.open();
  try {
    const t0 = Date.now();
    await probe.send(encodeRequest('rrq', FILE, 'octet', { timeout: '255' }), port);
    await waitFor(() => server.activeTransfers === 1, 2000);
    assert.is(server.activeTransfers, 1);
    await waitFor(() => server.activeTransfers === 0, 15_000);
    const freed = Date.now() - t0;
    assert.is(server.activeTransfers, 0);
    assert.ok(freed <= 10_800, `slot freed after ${freed} ms`);
    assert.ok(freed >= 9_000, `slot freed after ${freed} ms: too early for a slow client`);
    const sent = await probe.drain(200);
    assert.is(sent[0]?.packet?.op, 'oack', 'the OACK went out (no retransmit: the client asked timeout=255)');
  } finally {
    probe.close();
    await server.stop(Date.now());
  }
});

test('a flood of silent requests from 300 source addresses cannot lock out a new client', async () => {
  const { server, port } = await startTestServer(rootSource(dir), { maxTransfers: 100, maxPerClient: 8 });
  const flood: UdpProbe[] = [];
  let stop = false;
  try {
    for (let i = 0; i < 300; i++) flood.push(await UdpProbe.open(`127.1.${i >> 7}.${(i & 127) + 1}`));
    for (const p of flood) await p.send(encodeRequest('rrq', FILE), port);
    await waitFor(() => server.activeTransfers === 100, 5000);
    assert.is(server.activeTransfers, 100, 'every slot is held by a silent client');
    // The flood goes on (fresh requests from the same 300 addresses) while new clients ask.
    let n = 0;
    const flooding = (async () => {
      while (!stop) {
        await flood[n++ % flood.length]?.send(encodeRequest('rrq', FILE), port).catch(() => {});
        if (n % 20 === 0) await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const lockouts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const client = await UdpProbe.open(`127.2.0.${i + 1}`);
      const t0 = Date.now();
      const got = await rawGet(client, port, FILE);
      lockouts.push(Date.now() - t0);
      client.close();
      assert.is(got.error, undefined, `client ${i}: ${JSON.stringify(got.error)}`);
      assert.is(sha256(got.bytes), sums.get(FILE));
    }
    const out = join(dir, 'curl.out');
    const curl = await run('curl', [
      '-sS',
      '--interface',
      '127.2.1.1',
      '-o',
      out,
      `tftp://127.0.0.1:${port}/${FILE}`,
    ]);
    assert.is(curl.code, 0, curl.stderr);
    assert.is(sha256(readFileSync(out)), sums.get(FILE));
    console.log(
      `  new clients got their file in ${lockouts.join(', ')} ms during the flood (${n} flood RRQs)`,
    );
    assert.ok(Math.max(...lockouts) < 5000, `lock-out ${lockouts.join(', ')} ms`);
    assert.ok(server.evictions > 0);
    stop = true;
    await flooding;
  } finally {
    stop = true;
    for (const p of flood) p.close();
    await server.stop(Date.now());
  }
});

test.run();
