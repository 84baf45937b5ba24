// Scenario 6: two railyard instances ("racks") on one PostgreSQL (a throwaway cluster), behind
// one address the node knows (a TCP forwarder in this test plays the site's virtual IP).
// A BIOS node installs through rack A; once the installer says "Success!", the address moves
// to rack B and A is killed (kill -9); the node's reboot disk-boots through B, its first-boot
// report lands on B, and the one timeline holds both racks' events. The profile asks for
// `handoff: reboot` (a kexec would start the installed system without asking any rack).
import { mkdir, readFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PG_PASSWORD, type PgCluster, startPostgres } from '../server/testing/postgres.ts';
import { eventsOf } from './lib/api.ts';
import { assertProvisioned, expectFirstBoot, expectHandoff, expectInstall, SCALE } from './lib/flow.ts';
import { labMac, labProfile, macGroup } from './lib/machines.ts';
import { missingPrerequisite } from './lib/prereq.ts';
import { freePort, startRailyard } from './lib/railyard.ts';
import { baseSpec, bootNode, GUEST_ADDR } from './lib/slirp.ts';
import { type Lab, log, openLab } from './lib/suite.ts';

const NAME =
  'scenario 6: PostgreSQL, two racks: install through A, kill -9 A, disk boot and first boot through B';
const skip = missingPrerequisite();

/** 127.0.0.1:port forwarding each connection to whichever rack `to` names at connect time. */
async function forwarder(lab: Lab, port: number, to: () => number): Promise<Server> {
  const server = createServer((c) => {
    const up = connect(to(), '127.0.0.1');
    c.pipe(up).pipe(c);
    const close = () => {
      c.destroy();
      up.destroy();
    };
    c.on('error', close);
    up.on('error', close);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  lab.cleanup.add('stop the forwarder', () => new Promise<void>((r) => server.close(() => r())));
  return server;
}

async function rack(
  lab: Lab,
  name: string,
  vip: number,
  url: string,
  machines: Parameters<typeof startRailyard>[1]['machines'],
) {
  const workDir = join(lab.workDir, name);
  await mkdir(workDir, { recursive: true });
  const port = await freePort();
  const ry = await startRailyard(lab.cleanup, {
    workDir,
    release: lab.release,
    upstreamUrl: lab.upstream.url,
    listen: `127.0.0.1:${port}`,
    publicUrl: `http://${GUEST_ADDR}:${vip}`,
    machines,
    config: { state: { driver: 'postgres', url } },
  });
  return { ry, port };
}

if (skip) {
  console.log(`  e2e skipped: ${skip}`);
  test.skip(NAME, () => {});
} else {
  test(NAME, async () => {
    const lab = await openLab('racks');
    let cluster: PgCluster | undefined;
    try {
      cluster = await startPostgres();
      const pg = cluster;
      lab.cleanup.add('stop postgres', () => pg.stop());
      const mac = labMac(6, 1);
      const machines = {
        profiles: { racks: labProfile({ handoff: 'reboot' }) },
        groups: { node: macGroup('racks', mac) },
      };
      const vip = await freePort();
      const a = await rack(lab, 'rack-a', vip, cluster.url(), machines);
      const b = await rack(lab, 'rack-b', vip, cluster.url(), machines);
      let target = a.port;
      await forwarder(lab, vip, () => target);
      const node = await bootNode(lab, {
        ...baseSpec(lab.workDir, 'racks1', mac, 'bios'),
        net: {
          kind: 'user',
          bootfile: `http://${GUEST_ADDR}:${vip}/boot.ipxe`,
          guestAddr: GUEST_ADDR,
          guestPort: vip,
          hostPort: vip,
        },
      });
      await expectInstall(node);
      target = b.port; // the address moves to rack B before the installer reboots
      await a.ry.kill?.();
      assert.ok(a.ry.kill, 'kill -9 available');
      log(`rack A killed at +${((Date.now() - lab.t0) / 1000).toFixed(0)} s`);
      await expectHandoff(node, 'reboot');
      await node.waitFor('disk boot through B', /railyard: booting .* from its local disk/, 300 * SCALE);
      await expectFirstBoot(node);
      const d = await assertProvisioned(b.ry, node, 'reboot');
      assert.is(eventsOf(d, 'handoff').at(-1)?.data['reason'], 'profile', 'the profile asked for a reboot');
      const types = d.events.map((e) => e.type);
      assert.ok(types.includes('install-script-served') && types.includes('first-boot'), types.join(', '));
      const logA = await readFile(join(lab.workDir, 'rack-a', 'railyard.log'), 'utf8');
      const logB = await readFile(join(lab.workDir, 'rack-b', 'railyard.log'), 'utf8');
      const colon = mac.toLowerCase();
      assert.match(logA, `machine ${colon}: install-script-served`, 'rack A decided the install');
      assert.not.match(logA, `machine ${colon}: disk-boot-script-served`);
      assert.match(logB, `machine ${colon}: disk-boot-script-served`, 'rack B sent it to its disk');
      assert.match(logB, `machine ${colon}: first-boot`, 'the first-boot report landed on rack B');
      assert.not.match(logA + logB, PG_PASSWORD, 'no password in the logs');
      log(`scenario 6 done in ${((Date.now() - lab.t0) / 1000).toFixed(0)} s`);
    } finally {
      await lab.cleanup.run();
    }
  });
}

test.run();
