// dnsmasq on the namespace LAN, configured from `railyard dhcp-config --flavor dnsmasq`
// (the config a user would deploy) plus run-specific lines: files under the work dir, the
// IPv6 RA the generated config offers as optional (iPXE waits ~14 s without one).
import { createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Cleanup } from './cleanup.ts';
import { DHCP_RANGE, SRV_IF, SRV_NS } from './netns.ts';
import { run, startTracked } from './proc.ts';
import type { Railyard } from './railyard.ts';

export async function startDnsmasq(cleanup: Cleanup, ry: Railyard): Promise<{ log: string; leases: string }> {
  const dir = ry.opts.workDir;
  const generated = await ry.cli([
    'dhcp-config',
    '--flavor',
    'dnsmasq',
    '--range',
    DHCP_RANGE,
    '--interface',
    SRV_IF,
    '--efi-binary',
    'snponly.efi',
  ]);
  const log = join(dir, 'dnsmasq.log');
  const leases = join(dir, 'dnsmasq.leases');
  const extra = [
    '# e2e run: files under the work dir; runs as root (no dnsmasq user with dnsmasq-base)',
    `dhcp-leasefile=${leases}`,
    `log-facility=${log}`,
    'log-dhcp',
    'user=root',
    'enable-ra',
    `dhcp-range=::,constructor:${SRV_IF},ra-only`,
    // Nothing for OVMF's UEFI HTTP boot entries: after iPXE's `exit` the installed disk's boot
    // entry comes next (handoff.sh), so the firmware never gets to them (scenario 2 checks).
  ];
  const conf = join(dir, 'dnsmasq.conf');
  await writeFile(conf, `${generated}\n${extra.join('\n')}\n`);
  await run('dnsmasq', ['--test', `--conf-file=${conf}`]);
  const child = startTracked(cleanup, 'ip', [
    'netns',
    'exec',
    SRV_NS,
    'dnsmasq',
    '--keep-in-foreground',
    `--conf-file=${conf}`,
  ]);
  child.stderr?.pipe(createWriteStream(join(dir, 'dnsmasq.stderr')));
  return { log, leases };
}

export async function dnsmasqLog(file: string): Promise<string> {
  return readFile(file, 'utf8').catch(() => '');
}
