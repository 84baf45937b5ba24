// The provisioning flow as seen on a node's serial console. Timeouts are >= 3x the durations
// measured under TCG on a 2-core machine (README.md, "The QEMU lab"), since the machine is shared.
import * as assert from 'uvu/assert';
import { eventsOf, type MachineDetail, machine, renderedTarget, waitState } from './api.ts';
import { readOemConfig, sha256 } from './disk.ts';
import type { NodeRun } from './node-run.ts';
import type { Railyard } from './railyard.ts';
import { postCount, printNodeReport } from './report.ts';

export const SCALE = Number(process.env['E2E_TIMEOUT_SCALE'] ?? '1');
const s = (sec: number) => sec * SCALE;

export type Handoff = 'kexec' | 'reboot';

/** PXE → railyard install script → PXE initramfs → flatcar-install (up to "Success!"). */
export async function expectInstall(node: NodeRun, opts: { bootScriptSeen?: boolean } = {}): Promise<void> {
  if (!opts.bootScriptSeen) await node.waitFor('boot.ipxe', /boot\.ipxe/, s(180));
  await node.waitFor('install script', /railyard: installing Flatcar/, s(120));
  await node.waitFor('PXE initramfs', /Flatcar stand-in \S+ PXE initramfs/, s(240));
  await node.waitFor('installed', /Success! Flatcar/, s(300));
}

/** handoff.sh's decision on the console: `railyard: handoff: method kexec` (or reboot: reason). */
export async function expectHandoff(node: NodeRun, method: Handoff): Promise<void> {
  await node.waitFor(`handoff ${method}`, new RegExp(`railyard: handoff: method ${method}`), s(120));
}

/** After the hand-off: disk boot, first-boot report, power off. */
export async function expectFirstBoot(node: NodeRun): Promise<void> {
  await node.waitFor('disk boot', /BOOTED FROM DISK/, s(300));
  await node.waitFor('first boot', /RAILYARD FIRST BOOT DONE/, s(180));
  await node.waitExit(s(120));
}

/** The command line the installed system booted with, as the stand-in prints it. */
export function bootedCmdline(node: NodeRun): string {
  const line = node.lines.findLast((l) => /standin: \[[\d.]+\] cmdline: /.test(l.text));
  if (!line) throw new Error(`${node.spec.name}: no "cmdline:" line on the console`);
  return line.text.replace(/^.*standin: \[[\d.]+\] cmdline: /, '').trim();
}

const PHASES: Record<Handoff, string[]> = {
  kexec: ['script', 'download', 'installer', 'install', 'handoff', 'disk-boot'],
  reboot: ['script', 'download', 'installer', 'install', 'handoff', 'reboot', 'disk-boot'],
};

/** API and disk assertions after a full install, hand-off and first boot. */
export async function assertProvisioned(
  ry: Railyard,
  node: NodeRun,
  handoff: Handoff = 'kexec',
): Promise<MachineDetail> {
  const mac = node.spec.mac;
  const d = await waitState(ry, mac, 'provisioned', s(30));
  const types = d.events.map((e) => e.type);
  const expected = ['install-script-served', 'install-started', 'installed', 'handoff', 'first-boot'];
  if (handoff === 'reboot') expected.push('disk-boot-script-served');
  for (const t of expected)
    assert.ok(types.includes(t), `${mac}: no ${t} event (events: ${types.join(', ')})`);
  assert.is(eventsOf(d, 'handoff').at(-1)?.data['method'], handoff, `${mac}: hand-off method`);
  for (const p of PHASES[handoff]) {
    const span = d.timeline.find((x) => x.phase === p);
    assert.ok(span && span.seconds !== null, `${mac}: timeline phase ${p} not closed`);
  }
  assert.equal(
    d.timeline.map((x) => x.phase),
    PHASES[handoff],
    `${mac}: timeline phases`,
  );
  // One POST per install with kexec (the PXE boot); a reboot adds one.
  assert.is(postCount(node), handoff === 'kexec' ? 1 : 2, `${mac}: firmware POSTs on the console`);
  const reported = eventsOf(d, 'first-boot').at(-1)?.data['ignitionSha256'];
  const target = await renderedTarget(ry, mac);
  const onDisk = await readOemConfig(node.spec.disk);
  assert.ok(onDisk, `${mac}: no OEM partition with config.ign on the disk`);
  assert.is(
    sha256(onDisk),
    sha256(target),
    `${mac}: config.ign on disk differs from railyard's target Ignition`,
  );
  assert.is(reported, sha256(target), `${mac}: first-boot report carries the wrong Ignition hash`);
  printNodeReport(node, d);
  return d;
}

export { machine };
