import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { allocData, decodePacket, encodeError, encodeOack, encodeRequest, Opcode } from './packets.ts';

test('short datagrams and unknown opcodes decode to undefined', () => {
  for (const bytes of [[], [0], [0, 1], [0, 1, 0], [0, 9, 0, 0], [0xff, 0xff, 1, 2]]) {
    assert.is(decodePacket(Buffer.from(bytes)), undefined, JSON.stringify(bytes));
  }
});

test('RRQ: mode and option names lower-cased, first duplicate wins, incomplete pair ignored', () => {
  const buf = Buffer.concat([
    encodeRequest('rrq', 'Dir\\File.kpxe', 'OcTeT', { BlkSize: '1468', TSIZE: '0' }),
    Buffer.from('blksize\x00999\x00windowsize\x00'),
  ]);
  const p = decodePacket(buf);
  assert.equal(p?.op, 'rrq');
  if (p?.op !== 'rrq') return;
  assert.is(p.filename, 'Dir\\File.kpxe');
  assert.is(p.mode, 'octet');
  assert.equal(
    [...p.options],
    [
      ['blksize', '1468'],
      ['tsize', '0'],
    ],
  );
});

test('unterminated or empty request fields are invalid, not thrown', () => {
  assert.equal(decodePacket(Buffer.from('\x00\x01file')), {
    op: 'invalid',
    reason: 'file name not NUL-terminated',
  });
  assert.equal(decodePacket(Buffer.from('\x00\x01file\x00oct')), {
    op: 'invalid',
    reason: 'mode not NUL-terminated',
  });
  assert.equal(decodePacket(Buffer.from('\x00\x01file\x00')), {
    op: 'invalid',
    reason: 'mode not NUL-terminated',
  });
  assert.equal(decodePacket(Buffer.from('\x00\x02\x00octet\x00')), {
    op: 'invalid',
    reason: 'empty file name',
  });
});

test('ACK, ERROR, DATA round trip; block numbers wrap modulo 2^16', () => {
  assert.equal(decodePacket(Buffer.from([0, Opcode.ACK, 0xff, 0xfe])), { op: 'ack', block: 65534 });
  assert.equal(decodePacket(encodeError(5, 'unknown transfer ID')), {
    op: 'error',
    code: 5,
    message: 'unknown transfer ID',
  });
  // An ERROR without its terminating NUL still decodes (never answered anyway).
  assert.equal(decodePacket(Buffer.from('\x00\x05\x00\x01oops')), { op: 'error', code: 1, message: '' });
  const data = allocData(65536 + 7, 3);
  Buffer.from('abc').copy(data, 4);
  const p = decodePacket(data);
  assert.is(p?.op === 'data' && p.block, 7);
  assert.is(p?.op === 'data' && p.data.toString(), 'abc');
});

test('OACK encodes name/value pairs', () => {
  assert.equal(
    encodeOack([
      ['blksize', '1468'],
      ['tsize', '12'],
    ]),
    Buffer.from('\x00\x06blksize\x001468\x00tsize\x0012\x00'),
  );
});

test.run();
