import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FLAVORS, generateDhcpConfig, parseFlavor } from './generate.ts';
import { type DhcpInput, parseDhcpParams } from './params.ts';

// Golden files: compared byte for byte. After an intended change: UPDATE_GOLDEN=1 npm run test:unit.
const TESTDATA = new URL('./testdata/', import.meta.url);

const CASES: Record<string, DhcpInput> = {
  // Interface, arm64 binary present, ipxe.efi.
  lab: {
    interface: 'eth0',
    range: '10.98.0.100,10.98.0.199,255.255.255.0',
    publicUrl: 'http://10.98.0.1:8080',
    arm64Binary: 'arm64/snponly.efi',
  },
  // No interface, no arm64, snponly.efi, a URL with a path, server IP given apart.
  minimal: {
    range: '192.168.10.50,192.168.10.60,/26',
    serverIp: '192.168.10.2',
    publicUrl: 'https://boot.example.net/railyard',
    efiBinary: 'snponly.efi',
    arm64Binary: null,
  },
};

const EXT: Record<string, string> = { dnsmasq: 'conf', 'dnsmasq-proxy': 'conf', isc: 'conf', kea: 'json' };

function goldenName(flavor: string, caseName: string): string {
  return `${flavor}.${caseName}.golden.${EXT[flavor]}`;
}

for (const flavor of FLAVORS) {
  for (const [caseName, input] of Object.entries(CASES)) {
    test(`${flavor} ${caseName}: matches testdata/${goldenName(flavor, caseName)}`, () => {
      const out = generateDhcpConfig(flavor, parseDhcpParams(input));
      const file = new URL(goldenName(flavor, caseName), TESTDATA);
      if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(file, out);
      assert.fixture(out, readFileSync(file, 'utf8'));
    });
  }
}

test('kea output is JSON with iPXE matched before any firmware class', () => {
  const out = JSON.parse(generateDhcpConfig('kea', parseDhcpParams(CASES['lab'] as DhcpInput)));
  const classes = out.Dhcp4['client-classes'] as { name: string; test: string; 'boot-file-name': string }[];
  assert.equal(classes[0]?.test, "option[77].hex == 'iPXE'");
  assert.equal(classes[0]?.['boot-file-name'], 'http://10.98.0.1:8080/boot.ipxe');
  for (const c of classes.slice(1)) assert.ok(c.test.startsWith("not member('railyard-ipxe') and "), c.name);
  assert.equal(out.Dhcp4.subnet4[0].pools[0].pool, '10.98.0.100 - 10.98.0.199');
});

test('every flavour hands BIOS, UEFI and iPXE clients their files', () => {
  const params = parseDhcpParams(CASES['lab'] as DhcpInput);
  for (const flavor of FLAVORS) {
    const out = generateDhcpConfig(flavor, params);
    for (const file of [
      'undionly.kpxe',
      'ipxe.efi',
      'arm64/snponly.efi',
      'http://10.98.0.1:8080/boot.ipxe',
    ]) {
      assert.ok(out.includes(file), `${flavor} lacks ${file}`);
    }
    assert.not.ok(out.includes('enable-tftp\n'), `${flavor} must not serve TFTP itself`);
  }
});

test('arm64 is left out when no arm64 binary is available', () => {
  const params = parseDhcpParams(CASES['minimal'] as DhcpInput);
  for (const flavor of FLAVORS) assert.not.ok(generateDhcpConfig(flavor, params).includes('arm64'), flavor);
});

test('parseFlavor names the flag, the value and the choices', () => {
  assert.equal(parseFlavor('kea'), 'kea');
  assert.throws(
    () => parseFlavor('dhcpcd'),
    /--flavor "dhcpcd" is not a known flavour: expected one of dnsmasq, dnsmasq-proxy, isc, kea/,
  );
  assert.throws(() => parseFlavor(undefined), /--flavor required/);
});

test.run();
