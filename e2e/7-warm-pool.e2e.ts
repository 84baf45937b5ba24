// Scenario 7: the warm pool (issue 15), BIOS, slirp restrict=on. Two nodes of a pool group
// PXE-boot, write the release and report `pooled`, then wait in RAM. railyard restarts while
// they wait (their long-polls reconnect); p2 is power-cycled and comes back into the pool
// without rewriting its disk; p1 is claimed → config.ign, kexec, first boot; then p2 and a
// MAC that is not pooled are claimed at once: one success each, a clear error for the ghost.
// Per node: `p1 posts=1 handoff=kexec claim→first-boot N.Ns`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { eventsOf, machine, waitState } from './lib/api.ts';
import { readOemConfig, sha256 } from './lib/disk.ts';
import { expectFirstBoot, SCALE } from './lib/flow.ts';
import { labMac, labProfile } from './lib/machines.ts';
import type { NodeRun } from './lib/node-run.ts';
import { claim, expectPooled, poolNodeLine, seabiosPosts } from './lib/pool.ts';
import { missingPrerequisite } from './lib/prereq.ts';
import { type Railyard, startRailyard } from './lib/railyard.ts';
import { bootNode, slirpNode, startSlirpRailyard } from './lib/slirp.ts';
import { log, openLab } from './lib/suite.ts';

const NAME =
  'scenario 7: warm pool: two pooled nodes, a railyard restart, a power cycle without a rewrite, concurrent claims → kexec → first boot';
const skip = missingPrerequisite();
const s = (sec: number) => sec * SCALE;

const WEB = labProfile({
  ignition: {
    ignition: { version: '3.3.0' },
    storage: {
      files: [
        { path: '/etc/hostname', mode: 420, contents: { source: 'data:,{{hostname}}' } },
        { path: '/etc/role', mode: 420, contents: { source: 'data:,{{metadata.role}}' } },
      ],
    },
  },
});

/** A waiting node takes its claim: the claim on the console, the hand-off, the first boot. */
async function intoService(ry: Railyard, node: NodeRun, claimedAt: number): Promise<void> {
  const claimed = await node.waitFor('claimed', /railyard: pool: claimed for profile web/, s(60));
  const kexec = await node.waitFor('handoff kexec', /railyard: handoff: method kexec/, s(120));
  await expectFirstBoot(node);
  const at = (label: string) => node.marks.findLast((m) => m.label === label)?.t ?? Number.NaN;
  const step = (t: number) => `+${(t - claimedAt).toFixed(1)}`;
  // the installed kernel's start: the disk boot marker's time less the uptime it prints
  const uptime = Number(
    /standin: \[([\d.]+)\] BOOTED FROM DISK/.exec(
      node.lines.findLast((l) => /BOOTED FROM DISK/.test(l.text))?.text ?? '',
    )?.[1],
  );
  log(
    `${node.spec.name} after the claim (console clock): claimed ${step(claimed)}, kexec ${step(kexec)}, installed kernel up ${step(at('disk boot') - uptime)}, disk boot ${step(at('disk boot'))}, first boot done ${step(at('first boot'))} s`,
  );
  const d = await waitState(ry, node.spec.mac, 'provisioned', s(30));
  const onDisk = await readOemConfig(node.spec.disk);
  assert.ok(onDisk, `${node.spec.name}: no config.ign on the OEM partition`);
  assert.match(onDisk.toString(), 'data:,web', `${node.spec.name}: the claim's metadata in its config`);
  assert.is(eventsOf(d, 'first-boot').at(-1)?.data['ignitionSha256'], sha256(onDisk), 'the config it booted');
  log(poolNodeLine(node, d, seabiosPosts(node)));
}

if (skip) {
  console.log(`  e2e skipped: ${skip}`);
  test.skip(NAME, () => {});
} else {
  test(NAME, async () => {
    const lab = await openLab('pool');
    try {
      const macs = [labMac(7, 1), labMac(7, 2)] as const;
      let ry = await startSlirpRailyard(lab, {
        profiles: { base: labProfile(), web: WEB },
        groups: { pool: { pool: { profile: 'base' }, metadata: { role: 'spare' } } },
      });
      const specs = macs.map((m, i) => slirpNode(ry, `p${i + 1}`, m, 'bios'));
      const first = await Promise.all(specs.map((spec) => bootNode(lab, spec)));
      await Promise.all(first.map((n) => expectPooled(n, true)));
      for (const m of macs) await waitState(ry, m, 'pooled', s(30));
      log(`both pooled at +${((Date.now() - lab.t0) / 1000).toFixed(0)} s`);

      await ry.stop(); // the long-polls fail, and are asked again once railyard is back
      ry = await startRailyard(lab.cleanup, ry.opts);
      await first[1]!.stop(); // power-cycle p2: PXE back into the pool, disk untouched
      const p2 = await bootNode(lab, specs[1]!, { keepDisk: true });
      // the claims come once p2 waits again: a claim's figure is not a neighbour's PXE boot
      // competing for this machine's two cores
      await expectPooled(p2, false);
      const rewrites = eventsOf(await machine(ry, macs[1]), 'pooled').map((e) => e.data['rewritten']);
      assert.equal(rewrites, [true, false], 'p2 wrote its disk once');

      const t1 = first[0]!.elapsed();
      const one = await claim(ry, { profile: 'web', mac: macs[0], metadata: { role: 'web' } });
      assert.is(one.status, 201, JSON.stringify(one.body));
      assert.equal(one.body.claimed?.[0]?.prewritten, true);
      await intoService(ry, first[0]!, t1);

      const ghost = labMac(7, 9);
      const t2 = p2.elapsed();
      const [two, none] = await Promise.all([
        claim(ry, { profile: 'web', mac: macs[1], metadata: { role: 'web' } }),
        claim(ry, { profile: 'web', mac: ghost, metadata: { role: 'web' } }),
      ]);
      assert.is(two.status, 201, JSON.stringify(two.body));
      assert.is(none.status, 404);
      assert.match(none.body.error ?? '', `no pooled machine ${ghost}`);
      await intoService(ry, p2, t2);
      log(`scenario 7 done in ${((Date.now() - lab.t0) / 1000).toFixed(0)} s`);
    } finally {
      await lab.cleanup.run();
    }
  });
}

test.run();
