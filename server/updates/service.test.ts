// Update policy through the Omaha endpoint's core: offers, the client's events in the
// machine's timeline, pinning, no downgrade, maxConcurrent under concurrent checks and its
// slot rules, pause, unknown machine-ids (track policy, bounded), identity conflicts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalMac } from '../machines/identity.ts';
import { setPaused } from './fleet.ts';
import { HOUR, machineIdFor, omahaXml, PUBLIC_URL, type UpdateLab, updateLab, verdict } from './testing.ts';

const MAC = canonicalMac('52:54:00:00:00:01');
const ID = machineIdFor(1);
const rolloutProfile = (updates: object = {}) => ({
  profiles: {
    workers: { channel: 'stable', updates: { version: '4230.2.3', maxConcurrent: 3, ...updates } },
  },
  groups: { default: { profile: 'workers' } },
});

async function withLab(o: Parameters<typeof updateLab>[0], fn: (lab: UpdateLab) => Promise<void>) {
  const lab = updateLab(o);
  try {
    await fn(lab);
  } finally {
    await lab.close();
  }
}

const types = async (lab: UpdateLab, mac = MAC) =>
  (await lab.store.events(mac)).map((e) => e.type).filter((t) => t.startsWith('update-'));

test('a machine railyard installed: offer, then its events in the timeline, completion frees the slot', () =>
  withLab(rolloutProfile(), async (lab) => {
    await lab.installed(MAC, ID);
    const offer = await lab.ask(omahaXml(ID));
    assert.equal(verdict(offer), { status: 'ok', version: '4230.2.3' });
    assert.match(offer, `codebase="${PUBLIC_URL}/mirror/update/amd64-usr/4230.2.3/"`);
    assert.match(offer, /<event status="ok"\/>/, 'the 3/2 boot event is acknowledged');
    for (const e of [
      'eventtype="13" eventresult="1"',
      'eventtype="14" eventresult="1"',
      'eventtype="3" eventresult="1"',
    ])
      assert.match(await lab.ask(omahaXml(ID, { check: false, events: [e] })), /<event status="ok"\/>/);
    let client = await lab.updates.forMac(MAC);
    assert.is(client?.state, 'installed');
    assert.is(
      await lab.updates.slotsInUse('default', '2000-01-01T00:00:00Z'),
      1,
      'installed still holds its slot',
    );
    const after = await lab.ask(
      omahaXml(ID, {
        version: '4230.2.3',
        events: ['eventtype="3" eventresult="2" previousversion="4230.2.2"'],
      }),
    );
    assert.equal(verdict(after), { status: 'noupdate' });
    client = await lab.updates.forMac(MAC);
    assert.is(client?.state, 'complete');
    assert.is(client?.version, '4230.2.3');
    assert.is(client?.slotSince, null);
    assert.equal(await types(lab), [
      'update-offered',
      'update-download-started',
      'update-download-finished',
      'update-installed',
      'update-rebooted',
    ]);
    const rebooted = (await lab.store.events(MAC)).find((e) => e.type === 'update-rebooted');
    assert.equal(rebooted?.data, { version: '4230.2.3', previousVersion: '4230.2.2', target: '4230.2.3' });
    assert.is(
      (await lab.store.getMachine(MAC))?.state,
      'provisioned',
      'update events never change the install state',
    );
  }));

test('errors are recorded with their code and flags and free the slot', () =>
  withLab(rolloutProfile({ maxConcurrent: 1 }), async (lab) => {
    await lab.installed(MAC, ID);
    await lab.installed(canonicalMac('52:54:00:00:00:02'), machineIdFor(2));
    assert.is(verdict(await lab.ask(omahaXml(ID))).status, 'ok');
    assert.is(verdict(await lab.ask(omahaXml(machineIdFor(2)))).status, 'noupdate', 'rollout full');
    await lab.ask(
      omahaXml(ID, { check: false, events: ['eventtype="3" eventresult="0" errorcode="1073741834"'] }),
    );
    const failed = (await lab.store.events(MAC)).find((e) => e.type === 'update-failed');
    assert.equal(failed?.data, {
      version: '4230.2.2',
      target: '4230.2.3',
      eventType: 3,
      errorCode: 10,
      error: 'PayloadHashMismatchError',
      flags: 'resumed',
    });
    assert.is((await lab.updates.forMac(MAC))?.state, 'failed');
    assert.is(
      verdict(await lab.ask(omahaXml(machineIdFor(2)))).status,
      'ok',
      'the freed slot goes to the next machine',
    );
  }));

test('pinning: the pinned version, not current; no downgrade; up to date', () =>
  withLab({ ...rolloutProfile(), versions: ['4230.2.2', '4230.2.3', '4230.2.4'] }, async (lab) => {
    await lab.installed(MAC, ID);
    assert.equal(
      verdict(await lab.ask(omahaXml(ID))),
      { status: 'ok', version: '4230.2.3' },
      'pinned, though current is 4230.2.4',
    );
    await lab.installed(canonicalMac('52:54:00:00:00:02'), machineIdFor(2));
    assert.equal(verdict(await lab.ask(omahaXml(machineIdFor(2), { version: '4230.2.4' }))), {
      status: 'noupdate',
    });
    assert.is((await lab.updates.get(machineIdFor(2)))?.lastResult, 'newer-running');
    await lab.installed(canonicalMac('52:54:00:00:00:03'), machineIdFor(3));
    await lab.ask(omahaXml(machineIdFor(3), { version: '4230.2.3' }));
    assert.is((await lab.updates.get(machineIdFor(3)))?.lastResult, 'up-to-date');
    assert.equal(await types(lab, canonicalMac('52:54:00:00:00:02')), [], 'no offer, no event');
  }));

test('current follows the mirror link; a version without a payload is not offered', () =>
  withLab(
    {
      ...rolloutProfile({ version: 'current' }),
      versions: ['4230.2.2', '4230.2.3'],
      noPayload: ['4230.2.3'],
    },
    async (lab) => {
      await lab.installed(MAC, ID);
      assert.equal(verdict(await lab.ask(omahaXml(ID))), { status: 'noupdate' });
      assert.is((await lab.updates.get(ID))?.lastResult, 'no-payload');
    },
  ));

test('maxConcurrent holds under concurrent checks; repeat checks keep their slot; a slot times out', () =>
  withLab(rolloutProfile({ maxConcurrent: 3 }), async (lab) => {
    const ids = Array.from({ length: 12 }, (_, i) => machineIdFor(i + 1));
    for (const [i, id] of ids.entries())
      await lab.installed(canonicalMac(`52:54:00:00:01:${(i + 1).toString(16).padStart(2, '0')}`), id);
    const answers = await Promise.all(ids.map((id) => lab.ask(omahaXml(id))));
    const offered = ids.filter((_, i) => verdict(answers[i] as string).status === 'ok');
    assert.is(offered.length, 3, 'exactly maxConcurrent offers');
    assert.is(await lab.updates.slotsInUse('default', '2000-01-01T00:00:00Z'), 3);
    const again = await Promise.all(ids.map((id) => lab.ask(omahaXml(id))));
    assert.equal(
      ids.filter((_, i) => verdict(again[i] as string).status === 'ok'),
      offered,
      'the same three, nobody else',
    );
    const waiting = ids.find((id) => !offered.includes(id)) as string;
    assert.is((await lab.updates.get(waiting))?.lastResult, 'rollout-full');
    lab.clock.now = new Date(lab.clock.now.getTime() + HOUR + 1000);
    assert.is(verdict(await lab.ask(omahaXml(waiting))).status, 'ok', 'slots of silent machines time out');
    await lab.ask(
      omahaXml(offered[0] as string, { check: false, events: ['eventtype="13" eventresult="1"'] }),
    );
    assert.is(
      (await lab.updates.get(offered[0] as string))?.slotSince,
      null,
      'progress does not revive a timed-out slot',
    );
  }));

test('pause: per group and for all, from the API switch or the files', () =>
  withLab(rolloutProfile(), async (lab) => {
    await lab.installed(MAC, ID);
    await setPaused(lab.fleet, 'default', true, 'admin');
    assert.is(verdict(await lab.ask(omahaXml(ID))).status, 'noupdate');
    assert.is((await lab.updates.get(ID))?.lastResult, 'paused');
    await setPaused(lab.fleet, 'default', false, 'admin');
    await setPaused(lab.fleet, '*', true, 'admin');
    assert.is(verdict(await lab.ask(omahaXml(ID))).status, 'noupdate');
    await setPaused(lab.fleet, '*', false, 'admin');
    assert.is(verdict(await lab.ask(omahaXml(ID))).status, 'ok');
    const refused = await setPaused(lab.fleet, 'nope', true, 'admin').then(
      () => '',
      (e: Error) => e.message,
    );
    assert.match(refused, /no group "nope"/);
  }));

test('a paused group in the files', () =>
  withLab(rolloutProfile({ paused: true }), async (lab) => {
    await lab.installed(MAC, ID);
    assert.is(verdict(await lab.ask(omahaXml(ID))).status, 'noupdate');
    assert.is((await lab.updates.get(ID))?.lastResult, 'paused');
  }));

test('unknown machine-ids: served by their track policy, recorded as unknown, no timeline', () =>
  withLab(
    {
      profiles: {
        workers: { channel: 'stable', updates: { version: '4230.2.3', maxConcurrent: 5 } },
        betas: { channel: 'beta', updates: { version: 'current' } },
      },
      groups: { default: { profile: 'workers' }, beta: { profile: 'betas', selector: { track: 'beta' } } },
    },
    async (lab) => {
      const stranger = machineIdFor(0xabc);
      assert.is(verdict(await lab.ask(omahaXml(stranger))).status, 'ok', 'default group: stable policy');
      const client = await lab.updates.get(stranger);
      assert.is(client?.mac, null);
      assert.is(client?.group, 'default');
      assert.equal(await lab.store.listMachines(), [], 'no machine record for an unknown id');
      await lab.ask(omahaXml(machineIdFor(0xabd), { track: 'beta' }));
      const beta = await lab.updates.get(machineIdFor(0xabd));
      assert.is(beta?.group, 'beta');
      assert.is(beta?.lastResult, 'not-mirrored', 'the beta group decided (beta is not mirrored here)');
      await lab.ask(omahaXml(machineIdFor(0xabe), { track: 'alpha' }));
      assert.is((await lab.updates.get(machineIdFor(0xabe)))?.lastResult, 'track-mismatch');
    },
  ));

test('unknown machine-ids are bounded: the least recently seen goes; slot holders stay', () =>
  withLab({ ...rolloutProfile({ maxConcurrent: 1 }), maxUnknown: 2 }, async (lab) => {
    const [a, b, c, d] = [1, 2, 3, 4].map((n) => machineIdFor(0x100 + n)) as [string, string, string, string];
    assert.is(verdict(await lab.ask(omahaXml(a))).status, 'ok', 'a holds the slot');
    lab.clock.now = new Date(lab.clock.now.getTime() + 1000);
    await lab.ask(omahaXml(b));
    lab.clock.now = new Date(lab.clock.now.getTime() + 1000);
    await lab.ask(omahaXml(c));
    const ids = (await lab.updates.list()).map((x) => x.machineId).sort();
    assert.equal(ids, [a, c].sort(), 'b (oldest without a slot) was evicted');
    await lab.updates.save({ ...(await lab.updates.get(c))!, slotSince: lab.clock.now.toISOString() }, 2);
    assert.equal(verdict(await lab.ask(omahaXml(d))), { status: 'noupdate' });
    assert.is(await lab.updates.get(d), undefined, 'nothing evictable: not recorded');
  }));

test('identity: a reinstall rebinds the MAC; another MAC cannot take a bound machine-id; no machine-id: nothing recorded', () =>
  withLab(rolloutProfile(), async (lab) => {
    await lab.installed(MAC, ID);
    await lab.ask(omahaXml(ID));
    await lab.installed(MAC, machineIdFor(99));
    assert.is(await lab.updates.get(ID), undefined, 'the old install is forgotten');
    assert.is(await lab.updates.macFor(machineIdFor(99)), MAC);
    await lab.installed(canonicalMac('52:54:00:00:00:09'), machineIdFor(99));
    assert.is(await lab.updates.macFor(machineIdFor(99)), MAC, 'not taken over');
    assert.is(verdict(await lab.ask(omahaXml(''))).status, 'noupdate');
    assert.is((await lab.updates.list()).length, 0);
  }));

test('outside the window: noupdate', () =>
  withLab(rolloutProfile({ window: { start: '22:00', end: '23:00' } }), async (lab) => {
    await lab.installed(MAC, ID);
    await lab.ask(omahaXml(ID));
    assert.is((await lab.updates.get(ID))?.lastResult, 'outside-window');
    lab.clock.now = new Date('2026-03-04T22:30:00Z');
    assert.is(verdict(await lab.ask(omahaXml(ID))).status, 'ok');
  }));

test.run();
