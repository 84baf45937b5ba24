import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI } from '../testing/cli.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const GOLDEN = fileURLToPath(new URL('../dhcp/testdata/dnsmasq.lab.golden.conf', import.meta.url));
const ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('RAILYARD_')));

const tftpRoot = mkdtempSync(join(tmpdir(), 'railyard-dhcp-cli-'));
for (const file of ['undionly.kpxe', 'ipxe.efi', 'arm64/snponly.efi']) {
  mkdirSync(join(tftpRoot, 'arm64'), { recursive: true });
  writeFileSync(join(tftpRoot, file), 'x');
}

function railyard(...args: string[]) {
  const run = spawnSync(process.execPath, [CLI, 'dhcp-config', ...args], {
    cwd: ROOT,
    env: ENV,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

const LAB = ['--interface', 'eth0', '--range', '10.98.0.100,10.98.0.199,255.255.255.0'];

test('prints the golden dnsmasq config; arm64 found in tftp.root; URL and server IP from publicUrl', () => {
  const run = railyard(
    '--flavor',
    'dnsmasq',
    ...LAB,
    '--public-url',
    'http://10.98.0.1:8080',
    '--tftp-root',
    tftpRoot,
  );
  assert.is(run.code, 0, run.stderr);
  assert.is(run.stderr, '');
  assert.fixture(run.stdout, readFileSync(GOLDEN, 'utf8'));
});

test('the config file supplies publicUrl and tftp.root; --arm64 no and --efi-binary apply', () => {
  const file = join(tftpRoot, 'railyard.yaml');
  writeFileSync(file, `publicUrl: http://10.98.0.1:8080/\ntftp:\n  root: ${tftpRoot}\n`);
  const run = railyard('-f', 'isc', ...LAB, '--config', file, '--arm64', 'no', '--efi-binary', 'snponly.efi');
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stdout, 'filename "http://10.98.0.1:8080/boot.ipxe";');
  assert.match(run.stdout, 'filename "snponly.efi";');
  assert.not.match(run.stdout, 'arm64');
  assert.match(
    run.stderr,
    `warning: tftp.root ${tftpRoot} cannot serve snponly.efi: no such file: /snponly.efi`,
  );
});

test('warns when a binary is a symlink out of tftp.root (as Debian ships ipxe.efi)', () => {
  const root = join(tftpRoot, 'debian-like');
  mkdirSync(root);
  writeFileSync(join(root, 'undionly.kpxe'), 'x');
  symlinkSync(join(tftpRoot, 'ipxe.efi'), join(root, 'ipxe.efi'));
  const run = railyard('-f', 'kea', ...LAB, '--public-url', 'http://10.98.0.1:8080', '--tftp-root', root);
  assert.is(run.code, 0, run.stderr);
  assert.is(
    run.stderr,
    `railyard dhcp-config: warning: tftp.root ${root} cannot serve ipxe.efi: outside the root: /ipxe.efi\n`,
  );
});

test('usage errors exit 2 and name the flag, the value and what was expected', () => {
  const cases: [string[], string][] = [
    [
      ['--flavor', 'dhcpcd', ...LAB],
      '--flavor "dhcpcd" is not a known flavour: expected one of dnsmasq, dnsmasq-proxy, isc, kea',
    ],
    [['--flavor', 'kea', '--range', '10.98.0.100,10.98.1.1'], 'END 10.98.1.1 is outside 10.98.0.0/24'],
    [
      ['--flavor', 'kea', ...LAB, '--server-ip', '10.98.0.1.1'],
      '--server-ip "10.98.0.1.1": expected the IPv4 address',
    ],
    [
      ['--flavor', 'kea', '--range', '10.98.0.100,10.98.0.199', '--interface', 'eth0\nx'],
      '--interface "eth0\\nx"',
    ],
    [['--flavor', 'kea', ...LAB, '--arm64', 'maybe'], '--arm64 "maybe": expected one of auto, yes, no'],
    [
      ['--flavor', 'kea', ...LAB, '--public-url', 'http://10.98.0.1/"x'],
      'publicUrl "http://10.98.0.1/\\"x": expected an http(s) URL of URL-safe characters',
    ],
    [['--flavor', 'kea', ...LAB, '--bogus'], "Unknown option '--bogus'"],
  ];
  for (const [args, message] of cases) {
    const run = railyard('--public-url', 'http://10.98.0.1:8080', '--tftp-root', tftpRoot, ...args);
    assert.is(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.is(run.stdout, '');
    assert.match(run.stderr, message);
  }
});

test.after(() => rmSync(tftpRoot, { recursive: true, force: true }));

test.run();
