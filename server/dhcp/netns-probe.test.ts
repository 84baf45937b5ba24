// Functional test: the generated configs run in real DHCP servers, answering a DHCP client
// in network namespaces made here (veth pair, 10.98.0.0/24 inside the namespaces only).
// busybox udhcpc plays BIOS PXE, UEFI PXE, arm64 PXE, iPXE and a plain client. Needs root,
// ip and busybox; each server is skipped when not installed. Everything made is removed,
// servers killed by PID, even on failure.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Flavor, generateDhcpConfig } from './generate.ts';
import { parseDhcpParams } from './params.ts';

const ID = `${process.pid}`.slice(-7);
const NS = { srv: `ryd-${ID}-srv`, cli: `ryd-${ID}-cli` };
const IF = { srv: `ryd${ID}s`, cli: `ryd${ID}c` };
const SERVER_IP = '10.98.0.1';
const BOOT_URL = `http://${SERVER_IP}:8080/boot.ipxe`;

interface Probe {
  name: string;
  args: string[];
  bootFile: string;
}

const PXE_VENDOR = ['-V', 'PXEClient:Arch:00000:UNDI:002001'];
const PROBES: Probe[] = [
  { name: 'BIOS PXE', args: [...PXE_VENDOR, '-x', '0x5d:0000'], bootFile: 'undionly.kpxe' },
  { name: 'UEFI x86-64 PXE', args: ['-x', '0x5d:0007'], bootFile: 'ipxe.efi' },
  { name: 'UEFI BC PXE', args: ['-x', '0x5d:0009'], bootFile: 'ipxe.efi' },
  { name: 'UEFI arm64 PXE', args: ['-x', '0x5d:000b'], bootFile: 'arm64/snponly.efi' },
  {
    name: 'iPXE (user-class)',
    args: [...PXE_VENDOR, '-x', '0x5d:0000', '-x', '0x4d:69505845'],
    bootFile: BOOT_URL,
  },
  { name: 'plain DHCP client', args: [], bootFile: '' },
];

interface Server {
  flavor: Flavor;
  binary: string;
  file: string;
  /** Command line (after the binary) and extra environment for a config at `conf` in `dir`. */
  command(conf: string, dir: string): { args: string[]; env?: Record<string, string> };
}

const SERVERS: Server[] = [
  {
    flavor: 'dnsmasq',
    binary: '/usr/sbin/dnsmasq',
    file: 'dnsmasq.conf',
    command: (conf, dir) => ({
      args: ['-k', `--conf-file=${conf}`, `--dhcp-leasefile=${dir}/leases`, `--pid-file=${dir}/pid`].concat([
        '--user=root',
        '--log-dhcp',
        `--log-facility=${dir}/server.log`,
      ]),
    }),
  },
  {
    flavor: 'isc',
    binary: '/usr/sbin/dhcpd',
    file: 'dhcpd.conf',
    command: (conf, dir) => {
      writeFileSync(`${dir}/leases`, '');
      return { args: ['-f', '-4', '-cf', conf, '-lf', `${dir}/leases`, '-pf', `${dir}/pid`, IF.srv] };
    },
  },
  {
    flavor: 'kea',
    binary: '/usr/sbin/kea-dhcp4',
    file: 'kea.json',
    command: (conf, dir) => {
      const config = JSON.parse(readFileSync(conf, 'utf8'));
      config.Dhcp4['lease-database'].persist = false;
      writeFileSync(conf, JSON.stringify(config));
      return { args: ['-c', conf], env: { KEA_PIDFILE_DIR: dir, KEA_LOCKFILE_DIR: dir } };
    },
  },
];

function sh(cmd: string, args: string[], check = true): string {
  const run = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  if (check && run.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')}: exit ${run.status}: ${run.stderr}`);
  return run.stdout;
}

function netnsUp(): void {
  sh('ip', ['netns', 'add', NS.srv]);
  sh('ip', ['netns', 'add', NS.cli]);
  sh('ip', ['link', 'add', IF.srv, 'netns', NS.srv, 'type', 'veth', 'peer', 'name', IF.cli, 'netns', NS.cli]);
  sh('ip', ['-n', NS.srv, 'addr', 'add', `${SERVER_IP}/24`, 'dev', IF.srv]);
  for (const [ns, dev] of [
    [NS.srv, IF.srv],
    [NS.cli, IF.cli],
    [NS.srv, 'lo'],
    [NS.cli, 'lo'],
  ] as const) {
    sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
  }
}

function netnsDown(): void {
  for (const ns of [NS.srv, NS.cli]) sh('ip', ['netns', 'del', ns], false);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** The boot file (BOOTP file field) a probe is offered, or undefined when it got no lease. */
function probe(dir: string, args: string[]): string | undefined {
  const out = join(dir, 'probe.out');
  rmSync(out, { force: true });
  const udhcpc = [
    'udhcpc',
    '-i',
    IF.cli,
    '-f',
    '-q',
    '-n',
    '-t',
    '8',
    '-T',
    '2',
    '-s',
    join(dir, 'probe.sh'),
  ];
  sh('ip', ['netns', 'exec', NS.cli, 'busybox', ...udhcpc, ...args], false);
  const bound = readFileSync(out, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('bound '));
  return bound === undefined ? undefined : bound.slice('bound '.length);
}

function canRun(): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  if (spawnSync('ip', ['-V']).status !== 0) return 'no ip (iproute2)';
  if (spawnSync('busybox', ['udhcpc', '--help']).error) return 'no busybox';
  return null;
}

const why = canRun();
if (why !== null) console.log(`  skipped: DHCP netns probe: ${why}`);
for (const server of SERVERS) {
  const installed = spawnSync('test', ['-x', server.binary]).status === 0;
  if (why === null && !installed) console.log(`  skipped: DHCP netns probe: ${server.binary} not installed`);
  const run = why === null && installed ? test : test.skip;
  run(`${server.flavor}: generated config answers BIOS, UEFI, arm64, iPXE and plain clients`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'railyard-dhcp-netns-'));
    writeFileSync(
      join(dir, 'probe.sh'),
      `#!/bin/sh\n[ "$1" = bound ] && echo "bound $boot_file" >> ${dir}/probe.out\nexit 0\n`,
    );
    chmodSync(join(dir, 'probe.sh'), 0o755);
    writeFileSync(join(dir, 'probe.out'), '');
    const params = parseDhcpParams({
      interface: IF.srv,
      range: '10.98.0.100,10.98.0.199',
      publicUrl: `http://${SERVER_IP}:8080`,
      arm64Binary: 'arm64/snponly.efi',
    });
    const conf = join(dir, server.file);
    writeFileSync(conf, generateDhcpConfig(server.flavor, params));
    const { args, env } = server.command(conf, dir);
    const log = openSync(join(dir, 'server.out'), 'w');
    let child: ChildProcess | undefined;
    try {
      netnsUp();
      child = spawn('ip', ['netns', 'exec', NS.srv, server.binary, ...args], {
        stdio: ['ignore', log, log],
        env: { ...process.env, ...env },
      });
      for (const p of PROBES) {
        const got = probe(dir, p.args);
        const logs = () =>
          `\n--- server output:\n${readFileSync(join(dir, 'server.out'), 'utf8').slice(-3000)}`;
        assert.is(
          got,
          p.bootFile,
          `${server.flavor}, ${p.name}${got === undefined ? ': no lease' : ''}${logs()}`,
        );
      }
    } finally {
      if (child) await stop(child);
      closeSync(log);
      netnsDown();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
