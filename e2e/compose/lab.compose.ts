// `npm run test:compose`: the docker-compose lab for real, on a private Docker engine
// (Debian's docker.io, started and stopped here). Steps run in order and hand on through
// one session; a failed step fails the ones that need it, and the last two steps (down -v,
// engine shutdown) run whatever happened before. README.md, "The docker-compose lab".
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort } from '../lib/railyard.ts';
import { buildRelease } from '../lib/release.ts';
import { ACCEL, ComposeLab } from './compose.ts';
import { createImageNetwork, IMG_NET } from './container.ts';
import { Engine } from './engine.ts';
import { describeNetState, hostNetState } from './host.ts';
import { checkDhcpConfig, checkRestartAndDrain, checkUserTftpHealth } from './image-checks.ts';
import { buildImage, importBases } from './images.ts';
import { LAB_ADMIN_TOKEN, labRailyard } from './lab-railyard.ts';
import {
  assertDhcpPaths,
  assertMirrored,
  assertProxyConfig,
  assertStateSurvives,
  downLab,
  provisionNodes,
  upLab,
} from './lab-run.ts';
import { labNodes } from './nodes.ts';
import {
  CACHE,
  EXEC_ROOT,
  log,
  missingPrerequisite,
  need,
  openSession,
  PROJECT,
  type Session,
  since,
} from './session.ts';

const skip = missingPrerequisite();
const STEPS = [
  'engine: private dockerd (own roots and socket, no iptables, no forwarding), host firewall untouched',
  'images: local bases; every image docker-compose.yml names builds from its Dockerfile',
  'image: runs as railyard (uid 999); TFTP 69/udp only through the file capability; /healthz; HEALTHCHECK',
  'image: `railyard dhcp-config` inside it gives a config dnsmasq accepts',
  'image: `docker stop` drains in-flight downloads within http.drainTimeout; data volume survives a restart',
  'compose: up; stand-in mirrored; proxyDHCP; BIOS and UEFI nodes PXE-boot, install, boot from disk',
  'compose: railyard recreated on its data volume keeps machine state; admin token from the environment; down -v removes everything',
  'engine: clean shutdown by PID; no bridge left; iptables FORWARD and ip_forward as before',
];

if (skip) {
  console.log(`  compose lab skipped: ${skip}`);
  for (const name of STEPS) test.skip(name, () => {});
} else {
  let s: Session;
  let lab: ComposeLab | undefined;
  let ryPort = 0;

  test(STEPS[0]!, async () => {
    s = await openSession();
    s.hostBefore = await hostNetState();
    log(`host before: ${describeNetState(s.hostBefore)}`);
    const fresh = Boolean(process.env['COMPOSE_ENGINE_FRESH']);
    const dataRoot = fresh ? join(s.workDir, 'engine') : join(CACHE, 'engine');
    const t = Date.now();
    s.engine = await Engine.start(s.cleanup, {
      dataRoot,
      execRoot: EXEC_ROOT,
      logFile: join(s.workDir, 'dockerd.log'),
    });
    log(`dockerd pid ${s.engine.child.pid} up in ${since(t)} s, data root ${dataRoot}`);
    // an earlier run that was killed may have left containers, networks or volumes
    for (const kind of ['container', 'network', 'volume']) await s.engine.docker([kind, 'prune', '-f']);
    const now = await hostNetState();
    assert.is(now.forward, s.hostBefore.forward, 'iptables FORWARD chain unchanged');
    assert.is(now.ipForward, s.hostBefore.ipForward, 'net.ipv4.ip_forward unchanged');
    assert.equal(now.bridges, s.hostBefore.bridges, 'no bridge created (--bridge=none)');
  });

  test(STEPS[1]!, async () => {
    const engine = need(s.engine, 'the engine');
    let t = Date.now();
    s.release = await buildRelease(join(s.workDir, 'release'));
    s.timings['stand-in release'] = since(t);
    ryPort = await freePort();
    lab = new ComposeLab(engine, PROJECT, {
      STANDIN_RELEASE_DIR: s.release.dir,
      STANDIN_KEY: s.release.key,
      STANDIN_FINGERPRINT: s.release.fingerprint,
      RAILYARD_LAB_PORT: String(ryPort),
      RAILYARD_ADMIN_TOKEN: LAB_ADMIN_TOKEN,
    });
    t = Date.now();
    const bases = await importBases(engine);
    s.timings['bases'] = since(t);
    const builds = await lab.builds();
    assert.equal(builds.map((b) => b.image).sort(), [
      'railyard',
      'railyard-lab-dnsmasq',
      'railyard-lab-node',
    ]);
    t = Date.now();
    for (const b of builds) s.timings[`build ${b.image}`] = await buildImage(engine, bases, b);
    s.timings['builds'] = since(t);
    await engine.docker(['image', 'prune', '-f', '--filter', 'until=168h']);
    log(
      `bases ${s.timings['bases']} s; builds ${builds.map((b) => `${b.image} ${s.timings[`build ${b.image}`]?.toFixed(1)} s`).join(', ')}`,
    );
  });

  test(STEPS[2]!, async () => {
    const engine = need(s.engine, 'the engine');
    await createImageNetwork(engine);
    await checkUserTftpHealth(engine, s.workDir);
  });

  test(STEPS[3]!, async () => {
    await checkDhcpConfig(need(s.engine, 'the engine'));
  });

  test(STEPS[4]!, async () => {
    const engine = need(s.engine, 'the engine');
    try {
      await checkRestartAndDrain(engine, s.workDir);
    } finally {
      await engine.docker(['network', 'rm', IMG_NET]).catch(() => undefined);
    }
  });

  test(STEPS[5]!, async () => {
    const l = need(lab, 'the compose project');
    const release = need(s.release, 'the stand-in release');
    s.cleanup.add('docker-compose down -v', () =>
      s.engine?.running ? l.compose(['down', '-v', '--remove-orphans'], 180) : undefined,
    );
    const t0 = Date.now();
    await upLab(l);
    await s.engine?.noteBridges();
    const up = since(t0);
    const ry = await labRailyard(l, { port: ryPort, workDir: s.workDir, release });
    await assertMirrored(l, ry, release.current);
    await assertProxyConfig(l);
    log(
      `compose up returned after ${up} s (railyard healthy: ${release.current} mirrored; nodes started, ${ACCEL})`,
    );
    const done = await provisionNodes(s.cleanup, l, ry, s.workDir, t0);
    await assertDhcpPaths(l, done);
    s.timings['compose up to all nodes provisioned'] = Math.max(...done.map((d) => d.at));
    log(
      `compose up → ${done.length} nodes provisioned in ${s.timings['compose up to all nodes provisioned']} s`,
    );
  });

  test(STEPS[6]!, async () => {
    const l = need(lab, 'the compose project');
    const release = need(s.release, 'the stand-in release');
    try {
      const ry = await labRailyard(l, { port: ryPort, workDir: s.workDir, release });
      const macs = (await labNodes(l)).map((n) => n.spec.mac);
      await assertStateSurvives(l, ry, macs);
    } finally {
      await downLab(l, s.workDir);
    }
  });

  test(STEPS[7]!, async () => {
    const engine = need(s.engine, 'the engine');
    const stopped = await engine.stop();
    const after = await hostNetState();
    log(
      `dockerd exit ${stopped.exitCode}; bridges it left (deleted): ${stopped.leftBridges.join(' ') || 'none'}`,
    );
    log(`host after: ${describeNetState(after)}`);
    log(`timings (s): ${JSON.stringify(s.timings)}; whole run ${since(s.t0)} s`);
    assert.is(stopped.exitCode, 0, 'dockerd exited 0 on SIGTERM');
    assert.is(after.forward, s.hostBefore?.forward, 'iptables FORWARD chain as before');
    assert.is(after.ipForward, s.hostBefore?.ipForward, 'ip_forward as before');
    assert.equal(after.bridges, s.hostBefore?.bridges, 'bridges as before');
  });

  test.after(async () => {
    await s?.cleanup.run();
  });
}

test.run();
