// The provisioning flow as seen on a node's serial console. Timeouts are >= 3x the durations
// measured under TCG on a 2-core machine (README.md, "The QEMU lab"), since the machine is shared.
import * as assert from 'uvu/assert';
import { eventsOf, type MachineDetail, machine, renderedTarget, waitState } from './api.ts';
import { readOemConfig, sha256 } from './disk.ts';
import type { NodeRun } from './node-run.ts';
import type { Railyard } from './railyard.ts';
import { printNodeReport } from './report.ts';

export const SCALE = Number(process.env['E2E_TIMEOUT_SCALE'] ?? '1');
const s = (sec: number) => sec * SCALE;

/** PXE → railyard install script → PXE initramfs → flatcar-install (up to "Success!"). */
export async function expectInstall(node: NodeRun, opts: { bootScriptSeen?: boolean } = {}): Promise<void> {
  if (!opts.bootScriptSeen) await node.waitFor('boot.ipxe', /boot\.ipxe/, s(180));
  await node.waitFor('install script', /railyard: installing Flatcar/, s(120));
  await node.waitFor('PXE initramfs', /Flatcar stand-in \S+ PXE initramfs/, s(240));
  await node.waitFor('installed', /Success! Flatcar/, s(300));
}

/** After the installer's reboot: disk boot, first-boot report, power off. */
export async function expectFirstBoot(node: NodeRun): Promise<void> {
  await node.waitFor('disk boot', /BOOTED FROM DISK/, s(300));
  await node.waitFor('first boot', /RAILYARD FIRST BOOT DONE/, s(180));
  await node.waitExit(s(120));
}

/** API and disk assertions after a full install + first boot. */
export async function assertProvisioned(ry: Railyard, node: NodeRun): Promise<MachineDetail> {
  const mac = node.spec.mac;
  const d = await waitState(ry, mac, 'provisioned', s(30));
  const types = d.events.map((e) => e.type);
  for (const t of [
    'install-script-served',
    'install-started',
    'installed',
    'disk-boot-script-served',
    'first-boot',
  ])
    assert.ok(types.includes(t), `${mac}: no ${t} event (events: ${types.join(', ')})`);
  for (const p of ['script', 'download', 'installer', 'install', 'reboot', 'disk-boot']) {
    const span = d.timeline.find((x) => x.phase === p);
    assert.ok(span && span.seconds !== null, `${mac}: timeline phase ${p} not closed`);
  }
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
