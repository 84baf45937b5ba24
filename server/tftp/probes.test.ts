// Raw-packet probes against an in-process server on 127.0.0.1: hostile and odd input, the
// option edge cases, the TID check, duplicate ACKs, windows and block-number rollover.
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ErrorCode, encodeAck, encodeError, encodeRequest } from './packets.ts';
import type { TftpServer } from './server.ts';
import {
  have,
  rawGet,
  rootSource,
  run,
  startTestServer,
  tempDir,
  UdpProbe,
  writeFixtures,
} from './testing.ts';

const dir = tempDir();
writeFixtures(dir, [0, 1, 511, 512, 513, 5120, 70 * 1024]);
mkdirSync(join(dir, 'sub'));
writeFileSync(join(dir, 'sub', 'inner.bin'), 'inner');
writeFileSync(join(dir, 'crlf.txt'), 'a\r\nb\nc\r\0d');
symlinkSync('/etc/passwd', join(dir, 'escape'));
symlinkSync(join(dir, 'f513'), join(dir, 'alias'));
const file = (name: string) => readFileSync(join(dir, name));

let server: TftpServer;
let port: number;
let probe: UdpProbe;

test.before(async () => {
  ({ server, port } = await startTestServer(rootSource(dir), { retries: 1 }));
});
test.after(async () => {
  await server.stop(Date.now());
  rmSync(dir, { recursive: true, force: true });
});
test.before.each(async () => {
  probe = await UdpProbe.open();
});
test.after.each(() => probe.close());

async function expectError(request: Buffer, codes: number[]) {
  await probe.send(request, port);
  const r = await probe.next();
  assert.ok(r, 'an answer');
  assert.is(r?.packet?.op, 'error', `expected ERROR, got ${r?.packet?.op}`);
  if (r?.packet?.op === 'error') assert.ok(codes.includes(r.packet.code), `code ${r.packet.code}`);
}

test('plain RRQ serves every size byte for byte (no options: no OACK)', async () => {
  for (const name of ['f0', 'f1', 'f511', 'f512', 'f513', 'f71680']) {
    const got = await rawGet(probe, port, name);
    assert.is(got.oack, undefined);
    assert.equal(got.bytes, file(name), name);
  }
});

test('traversal and escapes are refused; names inside the root work', async () => {
  for (const name of ['../etc/passwd', '..\\..\\etc\\passwd', 'sub/../../etc/passwd', '%2e%2e/etc/passwd']) {
    await expectError(encodeRequest('rrq', name), [ErrorCode.NOT_FOUND, ErrorCode.ACCESS_VIOLATION]);
  }
  await expectError(encodeRequest('rrq', '/etc/passwd'), [ErrorCode.NOT_FOUND]);
  await expectError(encodeRequest('rrq', 'escape'), [ErrorCode.NOT_FOUND]);
  await expectError(encodeRequest('rrq', '.hidden'), [ErrorCode.NOT_FOUND]);
  assert.equal((await rawGet(probe, port, 'sub\\inner.bin')).bytes, Buffer.from('inner'));
  assert.equal((await rawGet(probe, port, '/sub/inner.bin')).bytes, Buffer.from('inner'));
  assert.equal((await rawGet(probe, port, 'alias')).bytes, file('f513'));
});

test('WRQ, missing file, bad modes, malformed requests get the right ERROR', async () => {
  await expectError(encodeRequest('wrq', 'f1'), [ErrorCode.ACCESS_VIOLATION]);
  await expectError(encodeRequest('wrq', 'new-file'), [ErrorCode.ACCESS_VIOLATION]);
  await expectError(encodeRequest('rrq', 'nope'), [ErrorCode.NOT_FOUND]);
  await expectError(encodeRequest('rrq', 'f1', 'mail'), [ErrorCode.ILLEGAL_OPERATION]);
  await expectError(encodeRequest('rrq', 'f1', 'binary'), [ErrorCode.ILLEGAL_OPERATION]);
  await expectError(Buffer.from('\x00\x01f1'), [ErrorCode.ILLEGAL_OPERATION]);
  await expectError(Buffer.from('\x00\x01f1\x00octet'), [ErrorCode.ILLEGAL_OPERATION]);
  await expectError(Buffer.from('\x00\x01\x00octet\x00'), [ErrorCode.ILLEGAL_OPERATION]);
  assert.equal((await rawGet(probe, port, 'f1')).bytes, file('f1'), 'still serving');
});

test('netascii is served byte for byte, like octet', async () => {
  await probe.send(encodeRequest('rrq', 'crlf.txt', 'NetASCII'), port);
  const r = await probe.next();
  assert.is(r?.packet?.op, 'data');
  if (r?.packet?.op === 'data') assert.equal(r.packet.data, file('crlf.txt'));
  await probe.send(encodeAck(1), r?.port ?? 0);
});

test('blksize: huge clamps to the max, zero to 8, non-numeric is ignored; tsize is the size', async () => {
  let got = await rawGet(probe, port, 'f5120', { blksize: '99999', tsize: '0' });
  assert.equal(
    [...(got.oack ?? [])],
    [
      ['blksize', '1468'],
      ['tsize', '5120'],
    ],
  );
  assert.equal(got.bytes, file('f5120'));
  assert.is(got.dataPackets, 4);
  got = await rawGet(probe, port, 'f513', { blksize: '0' });
  assert.is(got.oack?.get('blksize'), '8');
  assert.equal(got.bytes, file('f513'));
  got = await rawGet(probe, port, 'f513', { blksize: 'big' });
  assert.is(got.oack, undefined);
  assert.is(got.dataPackets, 2);
  got = await rawGet(probe, port, 'f1', { TimeOut: '999', unknown: 'x' });
  assert.equal([...(got.oack ?? [])], [['timeout', '255']]);
});

test('datagrams shorter than 4 bytes are ignored on the request port and on a transfer port', async () => {
  for (const bytes of [[], [0], [0, 1], [0, 4, 0]]) await probe.send(Buffer.from(bytes), port);
  await probe.send(Buffer.from('\x00\x03junk data'), port);
  await probe.send(encodeAck(1), port);
  await probe.send(encodeError(0, 'x'), port);
  assert.equal(await probe.drain(300), [], 'no reply to junk on the request port');
  await probe.send(encodeRequest('rrq', 'f5120'), port);
  const first = await probe.next();
  assert.is(first?.packet?.op === 'data' && first.packet.block, 1);
  for (const bytes of [[], [0], [0, 4], [0, 4, 0]]) await probe.send(Buffer.from(bytes), first?.port ?? 0);
  await probe.send(encodeAck(1), first?.port ?? 0);
  const second = await probe.next();
  assert.is(second?.packet?.op === 'data' && second.packet.block, 2, 'transfer carries on');
  await probe.send(encodeError(0, 'enough'), first?.port ?? 0);
});

test('requests forged from source port 0 (raw socket) do not crash the server', async () => {
  if (process.getuid?.() !== 0 || !(await have('python3'))) {
    console.log('  skipped: needs root and python3 for a raw socket');
    return;
  }
  // UDP header by hand: source port 0, checksum 0 (none, allowed over IPv4).
  const script = `
import socket, struct, sys
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
for payload in (b'\\x00\\x01nope\\x00octet\\x00', b'\\x00\\x02f1\\x00octet\\x00', b'\\x00\\x01f1\\x00octet\\x00'):
    s.sendto(struct.pack('!HHHH', 0, port, 8 + len(payload), 0) + payload, ('127.0.0.1', 0))
`;
  const r = await run('python3', ['-c', script, String(port)]);
  assert.is(r.code, 0, r.stderr);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal((await rawGet(probe, port, 'f1')).bytes, file('f1'), 'still serving');
});

test('foreign transfer ID: ACK gets ERROR 5, ERROR gets nothing, transfer carries on', async () => {
  const intruder = await UdpProbe.open();
  try {
    await probe.send(encodeRequest('rrq', 'f5120'), port);
    const first = await probe.next();
    const tid = first?.port ?? 0;
    await intruder.send(encodeAck(1), tid);
    const answer = await intruder.next();
    assert.is(answer?.packet?.op === 'error' && answer.packet.code, ErrorCode.UNKNOWN_TID);
    await intruder.send(encodeError(0, 'go away'), tid);
    assert.equal(await intruder.drain(300), [], 'never answer an ERROR');
    const chunks = [first?.packet?.op === 'data' ? first.packet.data : Buffer.alloc(0)];
    for (let block = 1; ; block++) {
      await probe.send(encodeAck(block), tid);
      const r = await probe.next();
      if (r?.packet?.op !== 'data') throw new Error(`expected DATA ${block + 1}`);
      chunks.push(r.packet.data);
      if (r.packet.data.length < 512) {
        await probe.send(encodeAck(r.packet.block), tid);
        break;
      }
    }
    assert.equal(Buffer.concat(chunks), file('f5120'));
  } finally {
    intruder.close();
  }
});

test('every ACK sent twice, and again late, does not amplify (lock-step and windowed)', async () => {
  // timeout 5: a fixed 5 s timer, so any extra DATA here can only be an answer to a duplicate.
  const blocks = Math.floor((70 * 1024) / 512) + 1;
  let got = await rawGet(probe, port, 'f71680', { timeout: '5' }, true);
  assert.equal(got.bytes, file('f71680'));
  assert.ok(got.dataPackets <= blocks + 2, `${got.dataPackets} DATA packets for ${blocks} blocks`);
  got = await rawGet(probe, port, 'f71680', { windowsize: '8', timeout: '5' }, true);
  assert.equal(got.bytes, file('f71680'));
  assert.ok(got.dataPackets <= blocks + 2, `${got.dataPackets} DATA packets for ${blocks} blocks`);
});

test('windowsize: a partial ACK restarts the window at ACK+1', async () => {
  // timeout 5: a fixed 5 s retransmit timer, so anything within the quiet check is a reply to an ACK.
  await probe.send(encodeRequest('rrq', 'f5120', 'octet', { windowsize: '4', timeout: '5' }), port);
  const oack = await probe.next();
  assert.is(oack?.packet?.op, 'oack');
  const tid = oack?.port ?? 0;
  await probe.send(encodeAck(0), tid);
  const window1 = [await probe.next(), await probe.next(), await probe.next(), await probe.next()];
  assert.equal(
    window1.map((r) => r?.packet?.op === 'data' && r.packet.block),
    [1, 2, 3, 4],
  );
  await probe.send(encodeAck(2), tid);
  const window2 = [await probe.next(), await probe.next(), await probe.next(), await probe.next()];
  assert.equal(
    window2.map((r) => r?.packet?.op === 'data' && r.packet.block),
    [3, 4, 5, 6],
  );
  await probe.send(encodeAck(1), tid); // old ACK: ignored
  await probe.send(encodeAck(2), tid); // duplicate: ignored
  assert.equal(await probe.drain(300), []);
  await probe.send(encodeError(0, 'done'), tid);
});

test('block numbers roll over past 65535 (blksize 8, windowsize 16)', async () => {
  const name = 'rollover.bin';
  const bytes = Buffer.alloc(8 * 70_000 + 3);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + (i >> 8)) & 0xff;
  writeFileSync(join(dir, name), bytes);
  const got = await rawGet(probe, port, name, { blksize: '8', windowsize: '16' });
  assert.is(got.oack?.get('blksize'), '8');
  assert.equal(got.bytes, bytes);
});

test('OACK is retransmitted until ACK 0; ERROR after OACK (tsize probe) ends quietly', async () => {
  await probe.send(encodeRequest('rrq', 'f513', 'octet', { tsize: '0' }), port);
  const first = await probe.next();
  const again = await probe.next();
  assert.is(first?.packet?.op, 'oack');
  assert.is(again?.packet?.op, 'oack', 'OACK sent again by the timer');
  await probe.send(encodeError(ErrorCode.OPTION_REFUSED, 'tsize probe'), first?.port ?? 0);
  // Ended by the ERROR, not by the give-up timer (2 s after the retransmit).
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.is(server.activeTransfers, 0);
  assert.equal(await probe.drain(2500), [], 'nothing after the client ended it');
});

test('a retransmitted RRQ is not a second transfer; a vanished client is dropped', async () => {
  const request = encodeRequest('rrq', 'f513');
  await probe.send(request, port);
  await probe.send(request, port);
  const seen = await probe.drain(4500); // retries 1: DATA 1, one retransmit, then give up
  assert.equal(
    seen.map((r) => r.packet?.op === 'data' && r.packet.block),
    [1, 1],
  );
  assert.is(new Set(seen.map((r) => r.port)).size, 1, 'one transfer ID');
  assert.is(server.activeTransfers, 0);
});

test('a request for another file from the same port replaces the old transfer', async () => {
  await probe.send(encodeRequest('rrq', 'f5120', 'octet', { timeout: '5' }), port);
  const old = await probe.next();
  assert.is(old?.packet?.op, 'oack');
  const got = await rawGet(probe, port, 'f513');
  assert.equal(got.bytes, file('f513'));
  await probe.send(encodeAck(0), old?.port ?? 0);
  assert.equal(await probe.drain(500), [], 'the old transfer is gone');
  assert.is(server.activeTransfers, 0);
});

test('one listener per address; replies leave from the address the request went to', async () => {
  const multi = await startTestServer(rootSource(dir));
  const second = await multi.server.listen({ host: '127.0.0.2', port: 0 });
  try {
    for (const [host, to] of [
      ['127.0.0.1', multi.port],
      ['127.0.0.2', second.port],
    ] as const) {
      await probe.send(encodeRequest('rrq', 'f1'), to, host);
      const r = await probe.next();
      assert.is(r?.packet?.op, 'data');
      assert.is(r?.address, host);
      await probe.send(encodeAck(1), r?.port ?? 0, host);
    }
  } finally {
    await multi.server.stop(Date.now() + 2000);
  }
});

test('IPv6: a listener on [::1] serves over udp6', async () => {
  const v6 = await startTestServer(rootSource(dir), {}, '::1');
  const probe6 = await UdpProbe.open('::1');
  try {
    await probe6.send(encodeRequest('rrq', 'f513'), v6.port, '::1');
    const r = await probe6.next();
    assert.is(r?.address, '::1');
    assert.equal(r?.packet?.op === 'data' && r.packet.data, file('f513').subarray(0, 512));
    await probe6.send(encodeError(0, 'enough'), r?.port ?? 0, '::1');
  } finally {
    probe6.close();
    await v6.server.stop(Date.now() + 2000);
  }
});

test('the observer sees every transfer result and every ERROR sent', async () => {
  const seen = { results: [] as string[], bytes: 0, errors: [] as number[] };
  const observed = await startTestServer(rootSource(dir), { retries: 1 }, '127.0.0.1', {
    transferEnded: (r) => {
      seen.results.push(r.outcome);
      seen.bytes += r.bytes;
    },
    errorSent: (code) => seen.errors.push(code),
  });
  const intruder = await UdpProbe.open();
  try {
    assert.equal((await rawGet(probe, observed.port, 'f513')).bytes, file('f513'));
    await expectErrorFrom(observed.port, encodeRequest('rrq', 'nope'));
    await expectErrorFrom(observed.port, encodeRequest('wrq', 'f1'));
    await probe.send(encodeRequest('rrq', 'f5120'), observed.port);
    const first = await probe.next();
    await intruder.send(encodeAck(1), first?.port ?? 0);
    assert.is((await intruder.next())?.packet?.op, 'error');
    await probe.send(encodeError(0, 'stop'), first?.port ?? 0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(seen, { results: ['complete', 'client-error'], bytes: 513, errors: [1, 2, 5] });
  } finally {
    intruder.close();
    await observed.server.stop(Date.now());
  }
});

async function expectErrorFrom(to: number, request: Buffer) {
  await probe.send(request, to);
  assert.is((await probe.next())?.packet?.op, 'error');
}

test('limits: beyond maxPerClient a request gets ERROR 3 busy (when the others answer)', async () => {
  const limited = await startTestServer(rootSource(dir), { maxPerClient: 2, retries: 1 });
  const probes = [await UdpProbe.open(), await UdpProbe.open(), await UdpProbe.open()];
  try {
    for (const p of probes.slice(0, 2)) {
      await p.send(encodeRequest('rrq', 'f5120'), limited.port);
      const data = await p.next();
      assert.is(data?.packet?.op, 'data');
      await p.send(encodeAck(1), data?.port as number); // answered: a live client, never evicted
      assert.is((await p.next())?.packet?.op, 'data');
    }
    await probes[2]?.send(encodeRequest('rrq', 'f513'), limited.port);
    const r = await probes[2]?.next();
    assert.is(r?.packet?.op === 'error' && r.packet.code, ErrorCode.DISK_FULL);
    assert.is(limited.server.activeTransfers, 2);
  } finally {
    for (const p of probes) p.close();
    await limited.server.stop(Date.now());
  }
});

test('limits: when full, a new request takes the slot of the oldest client that never answered', async () => {
  const limited = await startTestServer(rootSource(dir), { maxPerClient: 2, retries: 6 });
  const probes = [await UdpProbe.open(), await UdpProbe.open(), await UdpProbe.open()];
  try {
    for (const p of probes.slice(0, 2)) {
      await p.send(encodeRequest('rrq', 'f513'), limited.port);
      assert.is((await p.next())?.packet?.op, 'data');
    }
    await probes[2]?.send(encodeRequest('rrq', 'f513'), limited.port);
    assert.is((await probes[2]?.next())?.packet?.op, 'data');
    assert.is(limited.server.activeTransfers, 2);
    assert.is(limited.server.evictions, 1);
  } finally {
    for (const p of probes) p.close();
    await limited.server.stop(Date.now());
  }
});

test('stop() aborts running transfers with an ERROR to the client', async () => {
  const other = await startTestServer(rootSource(dir));
  await probe.send(encodeRequest('rrq', 'f5120'), other.port);
  assert.is((await probe.next())?.packet?.op, 'data');
  await other.server.stop(Date.now());
  const r = await probe.next();
  assert.is(r?.packet?.op, 'error');
  assert.is(other.server.activeTransfers, 0);
});

test.run();
