// The update part of an E2E scenario: the installed stand-in's Omaha client (omaha-client.sh,
// standing in for update_engine) asks railyard at first boot, gets the newer stand-in
// release, downloads and checks the payload, reports its events; railyard's timeline and
// update record must show them.
import * as assert from 'uvu/assert';
import type { MachineDetail } from './api.ts';
import type { NodeRun } from './node-run.ts';
import { ADMIN_TOKEN, httpGet, type Railyard } from './railyard.ts';

export const UPDATE_EVENTS = [
  'update-offered',
  'update-download-started',
  'update-download-finished',
  'update-installed',
] as const;

/** Console markers, timeline events and the update record of a node that updated `from` → `to`. */
export async function assertUpdated(ry: Railyard, node: NodeRun, d: MachineDetail, from: string, to: string) {
  assert.ok(
    node.saw(new RegExp(`standin-update: UPDATE CHECK: offer ${to.replaceAll('.', '\\.')}`)),
    'offer on the console',
  );
  assert.ok(node.saw(/standin-update: UPDATE PAYLOAD OK/), 'payload size and sha256 checked on the node');
  const types = d.events.map((e) => e.type).filter((t) => t.startsWith('update-'));
  assert.equal(types, [...UPDATE_EVENTS], `${node.spec.mac}: update events in the timeline`);
  const offered = d.events.find((e) => e.type === 'update-offered');
  assert.equal(offered?.data['version'], to);
  assert.equal(offered?.data['from'], from);
  // Reading the API needs the admin credential (or a dashboard session).
  const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
  const record = JSON.parse(
    await httpGet(ry.opts, `http://${ry.opts.listen}/api/v1/machines/${node.spec.mac}/update`, admin),
  ) as { version: string; target: string; state: string; machineId: string };
  assert.equal([record.version, record.target, record.state], [from, to, 'installed']);
  const first = d.events.find((e) => e.type === 'first-boot');
  assert.is(first?.data['machineId'], record.machineId, 'the first-boot report bound the machine-id');
  const fleet = JSON.parse(await httpGet(ry.opts, `http://${ry.opts.listen}/api/v1/updates`, admin)) as {
    versions: Array<{ version: string; machines: number }>;
  };
  assert.equal(fleet.versions, [{ version: from, machines: 1 }]);
  console.log(
    `  ${node.spec.name} update: ${from} → ${to} offered, payload checked, events: ${types.join(', ')}`,
  );
}
