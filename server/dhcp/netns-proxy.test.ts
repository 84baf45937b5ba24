// Functional test of the proxyDHCP flavour: the generated config runs in a real dnsmasq in a
// network namespace made here, and scripts/pxe-probe.ts plays the PXE ROM (DISCOVER, PXE
// menu, boot-server request on port 4011). Every file must come from railyard's address,
// which differs from the proxy's. Needs root and ip; skipped without dnsmasq.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateDhcpConfig } from './generate.ts';
import { CLIENT_IP, installed, NetnsLab, netnsUnavailable, RAILYARD_IP } from './netns-lab.testkit.ts';
import { parseDhcpParams } from './params.ts';

const PROBE = fileURLToPath(new URL('../../scripts/pxe-probe.ts', import.meta.url));
const DNSMASQ = '/usr/sbin/dnsmasq';
const BOOT_URL = `http://${RAILYARD_IP}:8080/boot.ipxe`;

const CASES: { arch: number; ipxe: boolean; file: string }[] = [
  { arch: 0, ipxe: false, file: 'undionly.kpxe' },
  { arch: 7, ipxe: false, file: 'ipxe.efi' },
  { arch: 9, ipxe: false, file: 'ipxe.efi' },
  { arch: 11, ipxe: false, file: 'arm64/snponly.efi' },
  { arch: 0, ipxe: true, file: BOOT_URL },
  { arch: 7, ipxe: true, file: BOOT_URL },
];

const why = netnsUnavailable() ?? (installed(DNSMASQ) ? null : `${DNSMASQ} not installed`);
if (why !== null) console.log(`  skipped: proxyDHCP netns probe: ${why}`);

(why === null ? test : test.skip)(
  'dnsmasq-proxy: PXE ROMs of each arch, and iPXE, are sent to railyard',
  async () => {
    const lab = new NetnsLab('p');
    try {
      lab.up(true);
      const params = parseDhcpParams({
        interface: lab.dev.srv,
        range: '10.98.0.100,10.98.0.199',
        serverIp: RAILYARD_IP,
        publicUrl: `http://${RAILYARD_IP}:8080`,
        arm64Binary: 'arm64/snponly.efi',
      });
      const conf = join(lab.dir, 'dnsmasq-proxy.conf');
      writeFileSync(conf, generateDhcpConfig('dnsmasq-proxy', params));
      lab.startServer(DNSMASQ, [
        '-k',
        `--conf-file=${conf}`,
        `--pid-file=${lab.dir}/pid`,
        '--log-dhcp',
        '--user=root',
      ]);
      for (const c of CASES) {
        const args = ['--import', 'tsx', PROBE, '--client-ip', CLIENT_IP, '--arch', String(c.arch)];
        const out = lab.client(process.execPath, c.ipxe ? [...args, '--ipxe'] : args);
        const got = JSON.parse(out || '{}') as { file?: string; siaddr?: string; error?: string };
        const label = `arch ${c.arch}${c.ipxe ? ' iPXE' : ''}: ${out}\n--- dnsmasq:\n${lab.serverLog()}`;
        assert.equal({ file: got.file, siaddr: got.siaddr }, { file: c.file, siaddr: RAILYARD_IP }, label);
      }
    } finally {
      await lab.down();
    }
  },
);

test.run();
