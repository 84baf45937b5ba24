import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  broadcastOf,
  formatIpv4,
  isUnusableServer,
  maskFromPrefix,
  networkOf,
  parseIpv4,
  prefixLength,
} from './ipv4.ts';

test('parseIpv4 accepts dotted quads and round-trips through formatIpv4', () => {
  for (const text of ['0.0.0.0', '10.98.0.1', '192.168.255.254', '255.255.255.255']) {
    const value = parseIpv4(text);
    assert.ok(value !== null, text);
    assert.equal(formatIpv4(value as number), text);
  }
  assert.equal(parseIpv4('10.0.0.1'), 0x0a000001);
});

test('parseIpv4 rejects anything else, including octal-looking and injected forms', () => {
  for (const text of [
    '',
    '10.0.0',
    '10.0.0.256',
    '010.0.0.1',
    '10.0.0.1 ',
    '10.0.0.1\n',
    '1e1.0.0.1',
    '::1',
    '10.0.0.1,x',
  ]) {
    assert.is(parseIpv4(text), null, JSON.stringify(text));
  }
});

test('masks, prefixes, network and broadcast', () => {
  assert.equal(formatIpv4(maskFromPrefix(24)), '255.255.255.0');
  assert.equal(formatIpv4(maskFromPrefix(26)), '255.255.255.192');
  assert.equal(maskFromPrefix(0), 0);
  assert.equal(prefixLength(parseIpv4('255.255.254.0') as number), 23);
  assert.is(prefixLength(parseIpv4('255.0.255.0') as number), null);
  const addr = parseIpv4('192.168.10.77') as number;
  const mask = maskFromPrefix(26);
  assert.equal(formatIpv4(networkOf(addr, mask)), '192.168.10.64');
  assert.equal(formatIpv4(broadcastOf(addr, mask)), '192.168.10.127');
});

test('isUnusableServer: loopback, unspecified, multicast', () => {
  for (const text of ['127.0.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255']) {
    assert.ok(isUnusableServer(parseIpv4(text) as number), text);
  }
  assert.not.ok(isUnusableServer(parseIpv4('10.0.0.5') as number));
});

test.run();
