import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidRequestError } from '../errors.ts';
import { type DhcpInput, parseDhcpParams } from './params.ts';

const BASE: DhcpInput = {
  interface: 'eth0',
  range: '10.0.0.100,10.0.0.199',
  publicUrl: 'http://10.0.0.5:8080',
  arm64Binary: null,
};

function rejects(change: Partial<DhcpInput>, message: RegExp): void {
  try {
    parseDhcpParams({ ...BASE, ...change });
  } catch (err) {
    assert.instance(err, InvalidRequestError);
    assert.match((err as Error).message, message);
    return;
  }
  assert.unreachable(`accepted ${JSON.stringify(change)}`);
}

test('defaults: server IP from publicUrl, /24, ipxe.efi', () => {
  const p = parseDhcpParams(BASE);
  assert.equal(p.serverIp, '10.0.0.5');
  assert.equal(p.bootUrl, 'http://10.0.0.5:8080/boot.ipxe');
  assert.equal(p.subnet, {
    network: '10.0.0.0',
    netmask: '255.255.255.0',
    prefix: 24,
    start: '10.0.0.100',
    end: '10.0.0.199',
  });
  assert.equal(p.efiBinary, 'ipxe.efi');
  assert.equal(p.interface, 'eth0');
});

test('netmask as dotted quad or prefix length', () => {
  assert.equal(
    parseDhcpParams({ ...BASE, range: '10.0.0.100,10.0.1.5,255.255.254.0' }).subnet.network,
    '10.0.0.0',
  );
  assert.equal(
    parseDhcpParams({ ...BASE, range: '10.0.0.100,10.0.1.5,/23' }).subnet.netmask,
    '255.255.254.0',
  );
  assert.equal(parseDhcpParams({ ...BASE, range: '10.0.0.100,10.0.1.5,23' }).subnet.prefix, 23);
});

test('bad ranges name the flag, the value and what was expected', () => {
  rejects({ range: undefined }, /--range "": required: START,END\[,NETMASK\]/);
  rejects({ range: '10.0.0.100' }, /--range "10.0.0.100": expected START,END\[,NETMASK\]/);
  rejects({ range: '10.0.0.100,10.0.0.300' }, /END 10.0.0.300 is not an IPv4 address/);
  rejects({ range: 'ten,10.0.0.3' }, /START ten is not an IPv4 address/);
  rejects({ range: '10.0.0.100,10.0.1.5' }, /END 10.0.1.5 is outside 10.0.0.0\/24/);
  rejects({ range: '10.0.0.200,10.0.0.100' }, /END 10.0.0.100 comes before START 10.0.0.200/);
  rejects({ range: '10.0.0.0,10.0.0.100' }, /network or broadcast address of 10.0.0.0\/24/);
  rejects({ range: '10.0.0.100,10.0.0.255' }, /network or broadcast address/);
  rejects({ range: '10.0.0.100,10.0.0.200,255.0.255.0' }, /NETMASK 255.0.255.0: expected a netmask/);
  rejects(
    { range: '10.0.0.100,10.0.0.200,31' },
    /NETMASK 31: expected a netmask such as 255.255.255.0 or a prefix length 8-30/,
  );
  rejects({ range: '10.0.0.100,10.0.0.200,99' }, /NETMASK 99/);
  rejects({ range: '10.0.0.100,10.0.0.200\nenable-tftp' }, /--range "10.0.0.100,10.0.0.200\\nenable-tftp"/);
});

test('interface names with anything but letters, digits, . _ - are refused', () => {
  for (const name of ['eth0\nenable-tftp', 'eth0 x', 'eth"0', 'eth0,1', 'a-very-long-ifname0', '-eth0', '']) {
    rejects({ interface: name }, /--interface .*: expected a network interface name/);
  }
  assert.equal(parseDhcpParams({ ...BASE, interface: 'enp3s0f1.100' }).interface, 'enp3s0f1.100');
});

test('server IP: explicit, derived, or a clear error', () => {
  assert.equal(parseDhcpParams({ ...BASE, serverIp: '10.0.0.9' }).serverIp, '10.0.0.9');
  rejects(
    { serverIp: '10.0.0.9;' },
    /--server-ip "10.0.0.9;": expected the IPv4 address of railyard's TFTP server/,
  );
  rejects(
    { serverIp: '127.0.0.1' },
    /--server-ip "127.0.0.1": 127.0.0.1 is not an address PXE clients can reach/,
  );
  rejects(
    { publicUrl: 'http://boot.example:8080' },
    /publicUrl "http:\/\/boot.example:8080": its host "boot.example" is not an IPv4 address; pass --server-ip/,
  );
  const named = parseDhcpParams({ ...BASE, publicUrl: 'http://boot.example:8080', serverIp: '10.0.0.5' });
  assert.equal(named.bootUrl, 'http://boot.example:8080/boot.ipxe');
});

test('boot URLs that could inject config syntax or cannot be reached are refused', () => {
  const withIp = { serverIp: '10.0.0.5' };
  for (const url of [
    'http://10.0.0.5/a"b',
    'http://10.0.0.5/a,b',
    'http://10.0.0.5/a b',
    'http://10.0.0.5/a\nb',
    "http://10.0.0.5/a'b",
    'http://10.0.0.5/{x}',
    'ftp://10.0.0.5',
  ]) {
    rejects({ ...withIp, publicUrl: url }, /publicUrl .*: expected an http\(s\) URL of URL-safe characters/);
  }
  rejects({ publicUrl: 'http://127.0.0.1:8080' }, /is not an address PXE clients can reach/);
  rejects(
    { ...withIp, publicUrl: 'http://localhost:8080' },
    /PXE clients cannot reach localhost; set publicUrl or pass --public-url/,
  );
  rejects(
    { ...withIp, publicUrl: `http://10.0.0.5/${'x'.repeat(120)}` },
    /longer than the 127 bytes of the DHCP boot file field/,
  );
});

test('--efi-binary: ipxe.efi or snponly.efi only', () => {
  assert.equal(parseDhcpParams({ ...BASE, efiBinary: 'snponly.efi' }).efiBinary, 'snponly.efi');
  rejects({ efiBinary: 'grubx64.efi' }, /--efi-binary "grubx64.efi": expected one of ipxe.efi, snponly.efi/);
});

test.run();
