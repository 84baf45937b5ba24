// Raw-packet replays of sequences that real clients produced under packet loss (see
// loss.test.ts), against an in-process server on 127.0.0.1. Each one failed a real download
// once; replayed here they are deterministic.
import { readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { withReadAhead } from '../assets/open-file.ts';
import { encodeAck, encodeError, encodeRequest } from './packets.ts';
import type { TftpServer } from './server.ts';
import type { TftpSource } from './source.ts';
import { startTestServer, tempDir, UdpProbe, writeFixtures } from './testing.ts';

const BLKSIZE = 1468;
const SIZE = 600 * 1024; // past the 256 KiB read-ahead of large files; 419 blocks of 1468
const LAST = Math.floor(SIZE / BLKSIZE) + 1;
const DISK_MS = 200;

const dir = tempDir();
writeFixtures(dir, [SIZE, 5120]);
const content = (name: string) => readFileSync(join(dir, name));

/**
 * Files as railyard serves large ones (through the read-ahead of server/assets/open-file.ts),
 * from a disk that takes DISK_MS per read: a busy disk, and what makes a packet that arrives
 * during a read arrive during it every time.
 */
const slowDisk: TftpSource = {
  open: async (name) => {
    const handle = await open(join(dir, name), 'r');
    const { size } = await handle.stat();
    const reader = {
      read: async (buffer: Buffer, offset: number, length: number, position: number) => {
        await new Promise((resolve) => setTimeout(resolve, DISK_MS));
        return handle.read(buffer, offset, length, position);
      },
      close: () => handle.close(),
    };
    return withReadAhead(reader, size);
  },
};

let server: TftpServer;
let port: number;
let probe: UdpProbe;

test.before(async () => {
  ({ server, port } = await startTestServer(slowDisk, { retries: 1 }));
});
test.after(async () => {
  await server.stop(Date.now());
  rmSync(dir, { recursive: true, force: true });
});
test.before.each(async () => {
  probe = await UdpProbe.open();
});
test.after.each(() => probe.close());

/**
 * DATA until block `upTo` arrives (earlier blocks may come too); each must carry its block's
 * bytes of `file` (block numbers here stay below 65536).
 */
async function receiveThrough(upTo: number, file: Buffer, blksize: number): Promise<number[]> {
  const seen: number[] = [];
  for (;;) {
    const p = (await probe.next(3000))?.packet;
    if (p?.op !== 'data') throw new Error(`waiting for DATA ${upTo}: got ${p?.op ?? 'nothing'}`);
    seen.push(p.block);
    if (!p.data.equals(file.subarray((p.block - 1) * blksize, p.block * blksize))) {
      const from = file.indexOf(p.data.subarray(0, 64));
      const what = from >= 0 && from % blksize === 0 ? `block ${from / blksize + 1}'s` : 'unknown';
      assert.unreachable(`DATA ${p.block} carries ${what} bytes (DATA seen: ${seen.join(',')})`);
    }
    if (p.block === upTo) return seen;
  }
}

async function request(name: string, options: Record<string, string>): Promise<number> {
  await probe.send(encodeRequest('rrq', name, 'octet', options), port);
  const oack = await probe.next();
  assert.is(oack?.packet?.op, 'oack');
  return oack?.port ?? 0;
}

// Seen with atftp (windowsize 8, 5% loss): ACK 3490 asked for 3491..3498, past the read-ahead
// window, so the server started a disk read; atftp's extra ACK 3492 (3493 was lost) came
// before that read landed, and 3493..3500 went out with bytes of 3321..3328 from the old
// window. atftp wrote them and exited 0 with a wrong file.
test('an ACK that arrives while the next window is read from disk gets that window right', async () => {
  // timeout 5: a fixed 5 s timer, so every DATA here answers one of our ACKs.
  const file = content(`f${SIZE}`);
  const through = (block: number) => receiveThrough(block, file, BLKSIZE);
  const tid = await request(`f${SIZE}`, { blksize: String(BLKSIZE), windowsize: '8', timeout: '5' });
  await probe.send(encodeAck(0), tid);
  // The read-ahead holds blocks 1..178 (256 KiB); windows 1..8 to 169..176 come from it.
  for (let last = 8; last < 176; last += 8) {
    await through(last);
    await probe.send(encodeAck(last), tid);
  }
  await through(176);
  // Like atftp's two ACKs: 173..180 needs a disk read; 175..182, asked for while that read
  // is under way, lies in the range it is fetching.
  await probe.send(encodeAck(172), tid);
  await new Promise((resolve) => setTimeout(resolve, DISK_MS / 4));
  await probe.send(encodeAck(174), tid);
  await through(182);
  for (let acked = 182; acked < LAST; acked += 8) {
    await probe.send(encodeAck(acked), tid);
    await through(Math.min(acked + 8, LAST));
  }
  await probe.send(encodeAck(LAST), tid);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.is(server.activeTransfers, 0, 'complete');
});

// RFC 2347: the OACK stands in for DATA 0 until ACK 0 arrives, so a lost ACK 0 brings the OACK
// again; once ACK 0 is in, a client's late or repeated ACK 0 must not bring it back.
test('OACK again while ACK 0 is missing; never again after ACK 0, however often it comes', async () => {
  const file = content('f5120');
  const through = (block: number) => receiveThrough(block, file, 512);
  const tid = await request('f5120', { windowsize: '4', timeout: '1' });
  const again = await probe.next(2500);
  assert.is(again?.packet?.op, 'oack', 'ACK 0 "lost": the timer sends the OACK again');
  await probe.send(encodeAck(0), tid);
  assert.equal(await through(4), [1, 2, 3, 4]);
  await probe.send(encodeAck(0), tid); // the client's own timer re-sent its ACK 0
  await probe.send(encodeAck(0), tid);
  assert.equal(await probe.drain(300), [], 'no OACK, no DATA for a repeated ACK 0');
  await probe.send(encodeAck(4), tid);
  assert.equal(await through(8), [5, 6, 7, 8]);
  await probe.send(encodeError(0, 'done'), tid);
});

test.run();
