// Functional test: the generated full-DHCP configs run in the real servers (dnsmasq, ISC
// dhcpd, kea-dhcp4) inside network namespaces made here, and busybox udhcpc, playing BIOS,
// UEFI, arm64 and iPXE clients and a plain one, checks each gets the right boot file from
// railyard's address. Needs root, ip and busybox; a server not installed is skipped.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Flavor, generateDhcpConfig } from './generate.ts';
import { installed, NetnsLab, netnsUnavailable, RAILYARD_IP, run } from './netns-lab.testkit.ts';
import { parseDhcpParams } from './params.ts';

const BOOT_URL = `http://${RAILYARD_IP}:8080/boot.ipxe`;
const PXE_VENDOR = ['-V', 'PXEClient:Arch:00000:UNDI:002001'];

/** udhcpc options for each client, and the boot file it must get ('' = none). */
const PROBES: { name: string; args: string[]; bootFile: string }[] = [
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
  /** Write the config's companions; the server's arguments and environment. */
  prepare(lab: NetnsLab, conf: string): { args: string[]; env?: Record<string, string> };
}

const SERVERS: Server[] = [
  {
    flavor: 'dnsmasq',
    binary: '/usr/sbin/dnsmasq',
    prepare: (lab, conf) => ({
      args: [
        '-k',
        `--conf-file=${conf}`,
        `--dhcp-leasefile=${lab.dir}/leases`,
        `--pid-file=${lab.dir}/pid`,
        '--user=root',
      ],
    }),
  },
  {
    flavor: 'isc',
    binary: '/usr/sbin/dhcpd',
    prepare: (lab, conf) => {
      writeFileSync(`${lab.dir}/leases`, '');
      return {
        args: ['-f', '-4', '-cf', conf, '-lf', `${lab.dir}/leases`, '-pf', `${lab.dir}/pid`, lab.dev.srv],
      };
    },
  },
  {
    flavor: 'kea',
    binary: '/usr/sbin/kea-dhcp4',
    prepare: (lab, conf) => {
      const config = JSON.parse(readFileSync(conf, 'utf8'));
      config.Dhcp4['lease-database'].persist = false;
      writeFileSync(conf, JSON.stringify(config));
      return { args: ['-c', conf], env: { KEA_PIDFILE_DIR: lab.dir, KEA_LOCKFILE_DIR: lab.dir } };
    },
  },
];

/** `boot_file siaddr` of the lease udhcpc got, or undefined when it got none. */
function probe(lab: NetnsLab, args: string[]): string | undefined {
  const out = join(lab.dir, 'probe.out');
  writeFileSync(out, '');
  const udhcpc = [
    'udhcpc',
    '-i',
    lab.dev.cli,
    '-f',
    '-q',
    '-n',
    '-t',
    '8',
    '-T',
    '2',
    '-s',
    join(lab.dir, 'probe.sh'),
  ];
  lab.client('busybox', [...udhcpc, ...args]);
  const bound = readFileSync(out, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('bound '));
  return bound?.slice('bound '.length);
}

function writeProbeScript(lab: NetnsLab): void {
  const script = join(lab.dir, 'probe.sh');
  writeFileSync(
    script,
    `#!/bin/sh\n[ "$1" = bound ] && echo "bound $boot_file $siaddr" >> ${lab.dir}/probe.out\nexit 0\n`,
  );
  chmodSync(script, 0o755);
}

const why = netnsUnavailable() ?? (run('busybox', ['true'], false) === '' ? null : 'no busybox');
if (why !== null) console.log(`  skipped: DHCP netns probe: ${why}`);
for (const server of SERVERS) {
  const ok = why === null && installed(server.binary);
  if (why === null && !ok) console.log(`  skipped: DHCP netns probe: ${server.binary} not installed`);
  (ok ? test : test.skip)(
    `${server.flavor}: BIOS, UEFI, arm64, iPXE and plain clients get their files`,
    async () => {
      const lab = new NetnsLab(server.flavor.slice(0, 1));
      try {
        lab.up();
        writeProbeScript(lab);
        const params = parseDhcpParams({
          interface: lab.dev.srv,
          range: '10.98.0.100,10.98.0.199',
          serverIp: RAILYARD_IP,
          publicUrl: `http://${RAILYARD_IP}:8080`,
          arm64Binary: 'arm64/snponly.efi',
        });
        const conf = join(lab.dir, `${server.flavor}.conf`);
        writeFileSync(conf, generateDhcpConfig(server.flavor, params));
        const { args, env } = server.prepare(lab, conf);
        lab.startServer(server.binary, args, env);
        for (const p of PROBES) {
          const got = probe(lab, p.args);
          const label = `${server.flavor}, ${p.name}${got === undefined ? ': no lease' : ''}`;
          const [file, siaddr] = (got ?? '-').split(' ');
          assert.is(file, p.bootFile, `${label}\n--- server output:\n${lab.serverLog()}`);
          // TFTP files must come from railyard, not from the DHCP server (siaddr is moot for URLs).
          if (p.bootFile !== '' && p.bootFile !== BOOT_URL)
            assert.is(siaddr, RAILYARD_IP, `${label}: siaddr`);
        }
      } finally {
        await lab.down();
      }
    },
  );
}

test.run();
