import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BusyError, InvalidRequestError, NotFoundError } from '../errors.ts';
import { tftpErrorFor } from './errors.ts';
import { ErrorCode } from './packets.ts';
import { memoryFile, type TftpSource, withGeneratedFiles } from './source.ts';

const client = { address: '10.0.0.9', port: 2070 };
const missing: TftpSource = {
  open: async (name) => {
    throw new NotFoundError(`no such file: ${name}`);
  },
};

test('memoryFile: positional reads, short at the end, 0 past it', async () => {
  const file = memoryFile('hello world');
  const buf = Buffer.alloc(8);
  assert.is(file.size, 11);
  assert.is(await file.read(buf, 2, 5, 6), 5);
  assert.is(buf.subarray(2, 7).toString(), 'world');
  assert.is(await file.read(buf, 0, 8, 9), 2);
  assert.is(await file.read(buf, 0, 8, 11), 0);
});

test('withGeneratedFiles: exact names (leading / or \\ ignored), per-client content, else fallback', async () => {
  const source = withGeneratedFiles(
    { 'boot.ipxe': '#!ipxe\n', 'who.txt': (c) => `${c.address}:${c.port}` },
    missing,
  );
  for (const name of ['boot.ipxe', '/boot.ipxe', '\\boot.ipxe']) {
    assert.is((await source.open(name, client)).size, 7, name);
  }
  const who = await source.open('who.txt', client);
  const buf = Buffer.alloc(who.size);
  await who.read(buf, 0, who.size, 0);
  assert.is(buf.toString(), '10.0.0.9:2070');
  for (const name of ['BOOT.IPXE', 'sub/boot.ipxe', 'undionly.kpxe']) {
    await source.open(name, client).then(
      () => assert.unreachable(name),
      (err) => assert.instance(err, NotFoundError),
    );
  }
});

test('domain errors map to TFTP error codes; anything else is 0 and logged as an error', () => {
  assert.is(tftpErrorFor(new NotFoundError('x')).code, ErrorCode.NOT_FOUND);
  assert.is(tftpErrorFor(new InvalidRequestError('x')).code, ErrorCode.ACCESS_VIOLATION);
  assert.is(tftpErrorFor(new BusyError('x')).code, ErrorCode.DISK_FULL);
  const emfile = Object.assign(new Error('too many open files'), { code: 'EMFILE' });
  assert.equal(tftpErrorFor(emfile), {
    code: ErrorCode.DISK_FULL,
    message: 'busy, try again later',
    level: 'warn',
  });
  assert.equal(tftpErrorFor(new Error('disk on fire')), {
    code: 0,
    message: 'internal error',
    level: 'error',
  });
  assert.is(tftpErrorFor('a string').code, 0);
});

test.run();
