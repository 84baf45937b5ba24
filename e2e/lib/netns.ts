// A datacenter-like LAN made of namespaces this harness creates (names rye-*, addresses
// 10.77.0.0/24 and fd77::/64 exist only inside them):
//   rye-srv: veth rye-srv0 10.77.0.1/24 — railyard (HTTP + TFTP) and dnsmasq (DHCP)
//   rye-sw:  bridge rye-br0 <- rye-up0 (veth peer), tap rye-tapN per QEMU node (QEMU runs here)
// Deleting the two namespaces removes the bridge, taps and veths.
import type { Cleanup } from './cleanup.ts';
import { run } from './proc.ts';

export const SRV_NS = 'rye-srv';
export const SW_NS = 'rye-sw';
export const SRV_IF = 'rye-srv0';
export const SRV_IP = '10.77.0.1';
export const DHCP_RANGE = '10.77.0.100,10.77.0.199';

const ip = (...args: string[]) => run('ip', args);

export async function createLan(cleanup: Cleanup, taps: number): Promise<string[]> {
  const existing = await ip('netns', 'list');
  for (const ns of [SW_NS, SRV_NS]) {
    // left over by a run that was killed: ours by name, so ours to remove
    if (new RegExp(`^${ns}\\b`, 'm').test(existing)) await ip('netns', 'del', ns);
  }
  cleanup.add(`delete namespace ${SRV_NS}`, () => ip('netns', 'del', SRV_NS));
  cleanup.add(`delete namespace ${SW_NS}`, () => ip('netns', 'del', SW_NS));
  await ip('netns', 'add', SRV_NS);
  await ip('netns', 'add', SW_NS);
  await ip('-n', SW_NS, 'link', 'add', 'rye-br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0');
  await ip('-n', SRV_NS, 'link', 'add', SRV_IF, 'type', 'veth', 'peer', 'name', 'rye-up0', 'netns', SW_NS);
  await ip('-n', SW_NS, 'link', 'set', 'rye-up0', 'master', 'rye-br0', 'up');
  await ip('-n', SRV_NS, 'addr', 'add', `${SRV_IP}/24`, 'dev', SRV_IF);
  await ip('-n', SRV_NS, 'addr', 'add', 'fd77::1/64', 'dev', SRV_IF, 'nodad');
  await ip('-n', SRV_NS, 'link', 'set', SRV_IF, 'up');
  await ip('-n', SRV_NS, 'link', 'set', 'lo', 'up');
  const names: string[] = [];
  for (let i = 0; i < taps; i++) {
    const tap = `rye-tap${i}`;
    await ip('-n', SW_NS, 'tuntap', 'add', 'dev', tap, 'mode', 'tap');
    await ip('-n', SW_NS, 'link', 'set', tap, 'master', 'rye-br0', 'up');
    names.push(tap);
  }
  await ip('-n', SW_NS, 'link', 'set', 'rye-br0', 'up');
  return names;
}
