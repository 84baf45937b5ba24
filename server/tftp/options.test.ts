import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { negotiate } from './options.ts';

const limits = { maxBlksize: 1468, maxWindowsize: 16 };
const ask = (options: Record<string, string>, size = 1000) =>
  negotiate(new Map(Object.entries(options)), size, limits);

test('no options: RFC 1350 defaults and no OACK', () => {
  assert.equal(ask({}), { blksize: 512, windowsize: 1, timeoutSec: undefined, oack: [] });
});

test('blksize is clamped to 8..maxBlksize, not refused; non-numeric is skipped', () => {
  assert.is(ask({ blksize: '65464' }).blksize, 1468);
  assert.is(ask({ blksize: '99999999999' }).blksize, 1468);
  assert.is(ask({ blksize: '0' }).blksize, 8);
  assert.is(ask({ blksize: '1024' }).blksize, 1024);
  assert.equal(ask({ blksize: 'lots' }), { blksize: 512, windowsize: 1, timeoutSec: undefined, oack: [] });
  assert.equal(ask({ blksize: '-5' }).oack, []);
});

test('tsize answers the real size; timeout clamped to 1..255 and echoed; windowsize capped', () => {
  const n = ask({ tsize: '0', timeout: '300', windowsize: '64' }, 74213);
  assert.equal(n.oack, [
    ['tsize', '74213'],
    ['timeout', '255'],
    ['windowsize', '16'],
  ]);
  assert.is(n.timeoutSec, 255);
  assert.is(n.windowsize, 16);
  assert.is(ask({ timeout: '0' }).timeoutSec, 1);
  assert.is(ask({ windowsize: '0' }).windowsize, 1);
});

test('a window never exceeds 64 KiB of payload, whatever order the options come in', () => {
  const big = (options: Record<string, string>) =>
    negotiate(new Map(Object.entries(options)), 1 << 20, { maxBlksize: 65464, maxWindowsize: 16 });
  const a = big({ windowsize: '16', blksize: '8192' });
  assert.is(a.windowsize, 8);
  assert.equal(a.oack, [
    ['windowsize', '8'],
    ['blksize', '8192'],
  ]);
  assert.is(big({ blksize: '65464', windowsize: '4' }).windowsize, 1);
  assert.is(big({ blksize: '1468', windowsize: '16' }).windowsize, 16);
  assert.is(big({ windowsize: '16' }).windowsize, 16);
});

test('unknown options are skipped', () => {
  assert.equal(ask({ multicast: '', foo: 'bar', blksize: '1468' }).oack, [['blksize', '1468']]);
});

test.run();
