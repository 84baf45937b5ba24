// Four `railyard serve` instances on one real PostgreSQL, 500 machines booting at once,
// every request of every machine sent to a random instance (its first /ipxe to two at the
// same moment): each machine ends with one consistent history: no lost or duplicated
// events, exactly one open attempt, the stored state what its events reduce to.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AttemptCredentials } from './installer/credentials.ts';
import { canonicalMac } from './machines/identity.ts';
import { applyEvent, type Machine, newMachine } from './machines/state.ts';
import { openPgStore } from './store/pg.ts';
import type { StateStore } from './store/state-store.ts';
import { tempDir } from './testing/fixtures.ts';
import { ipxe, report, startInstances } from './testing/instances.ts';
import { type PgCluster, startPostgres } from './testing/postgres.ts';
import type { Railyard } from './testing/spawn-railyard.ts';

const MACHINES = Number(process.env['RAILYARD_STORM_MACHINES'] ?? 500);
const IN_FLIGHT = 48;
const work = tempDir('railyard-storm-');
let cluster: PgCluster;
let racks: Railyard[] = [];
let store: StateStore;

test.before(async () => {
  cluster = await startPostgres();
  racks = await startInstances(work.dir, cluster.url(), 4);
  store = await openPgStore({ url: cluster.url() });
});
test.after(async () => {
  await store?.close();
  await Promise.all(racks.map((r) => r.stop()));
  await cluster?.stop();
  work.cleanup();
});

const mac = (i: number) =>
  `52-54-00-5${(i >> 16) & 15}-${((i >> 8) & 255).toString(16).padStart(2, '0')}-${(i & 255).toString(16).padStart(2, '0')}`;
const pick = () => (racks[Math.floor(Math.random() * racks.length)] as Railyard).url;

async function boot(m: string, credentials: AttemptCredentials): Promise<void> {
  const first = Math.floor(Math.random() * 4);
  const both = await Promise.all([
    ipxe((racks[first] as Railyard).url, m),
    ipxe((racks[(first + 1) % 4] as Railyard).url, m),
  ]);
  for (const b of both) assert.is(b.decision, 'install', `${m}: ${b.text}`);
  const open = await store.openAttemptOf(canonicalMac(m));
  if (!open) throw new Error(`${m}: no open attempt`);
  const token = credentials.tokens(open.secrets.nonce).install;
  const path = `/api/v1/machines/${m}/attempts/${open.id}/events`;
  for (const body of [{ type: 'install-started' }, { type: 'progress', bytes: 4096 }, { type: 'installed' }])
    assert.is(await report(pick(), path, token, body), 201, `${m}: ${body.type}`);
  const disk = await ipxe(pick(), m);
  assert.is(disk.decision, 'local-boot', `${m}: ${disk.text}`);
}

test(`4 instances × ${MACHINES} machines storming: one consistent history each`, async () => {
  const credentials = await AttemptCredentials.load(store, '/nonexistent');
  const macs = Array.from({ length: MACHINES }, (_, i) => mac(i + 1));
  const t0 = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < macs.length) await boot(macs[next++] as string, credentials);
    }),
  );
  const took = Date.now() - t0;
  const machines = await store.listMachines();
  assert.is(machines.length, MACHINES);
  let events = 0;
  const ids = new Set<number>();
  for (const m of machines) {
    const history = await store.events(m.mac);
    const attempts = await store.attempts(m.mac);
    events += history.length;
    for (const e of history) ids.add(e.id);
    assert.equal(
      history.map((e) => e.type).sort(),
      [
        'disk-boot-script-served',
        'install-script-served',
        'install-script-served',
        'install-started',
        'installed',
        'progress',
      ],
      `${m.mac}: every event once`,
    );
    assert.is(attempts.length, 2, `${m.mac}: two install decisions`);
    const open = attempts.filter((a) => a.closedAt === null);
    assert.is(open.length, 1, `${m.mac}: exactly one open attempt`);
    assert.equal(attempts[1]?.state, 'superseded');
    for (const e of history.filter((x) => x.source === 'installer'))
      assert.is(e.attemptId, open[0]?.id, `${m.mac}: reports belong to the open attempt`);
    assert.ok(history.every((e, i) => i === 0 || e.id > (history[i - 1] as { id: number }).id));
    // The stored state is what the events, in their recorded order, reduce to.
    let replay: Machine = newMachine(m.mac, history[0]?.at ?? '');
    for (const e of history) {
      replay = applyEvent(replay, e);
      assert.is(e.state, replay.state, `${m.mac}: event ${e.id} state`);
    }
    assert.is(m.state, replay.state);
  }
  assert.is(events, MACHINES * 6, 'no event lost or duplicated');
  assert.is(ids.size, events);
  console.log(`    storm: ${MACHINES} machines × 7 requests over 4 instances in ${took} ms`);
});

test.run();
