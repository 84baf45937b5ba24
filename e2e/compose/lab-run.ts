// The compose lab run: `docker-compose up` of docker-compose.yml + contrib/lab/standin.yml,
// then what the issue asks to watch, asserted through railyard's API and the nodes' serial
// consoles with the E2E suite's own expectations (e2e/lib/flow.ts).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import type { MachineDetail } from '../lib/api.ts';
import type { Cleanup } from '../lib/cleanup.ts';
import { assertProvisioned, expectFirstBoot, expectInstall, SCALE } from '../lib/flow.ts';
import type { NodeRun } from '../lib/node-run.ts';
import { REPO_ROOT } from '../lib/paths.ts';
import type { Railyard } from '../lib/railyard.ts';
import type { ComposeLab } from './compose.ts';
import { waitFor } from './host.ts';
import { apiGet, apiPost, LAB_ADMIN_TOKEN } from './lab-railyard.ts';
import { followNode, type LabNode, labNodes } from './nodes.ts';
import { log, since } from './session.ts';

/** `up -d`: blocks until railyard is healthy (release mirrored), then starts the nodes. */
export async function upLab(lab: ComposeLab): Promise<void> {
  await lab.compose(['down', '-v', '--remove-orphans'], 120).catch(() => undefined); // an earlier run's leftovers
  await lab.compose(['up', '-d', '--no-build'], 900 * SCALE);
}

export async function assertMirrored(lab: ComposeLab, ry: Railyard, current: string): Promise<void> {
  const status = JSON.parse(await ry.cli(['mirror', 'status', '--json'])) as { boards: unknown[] };
  const text = JSON.stringify(status);
  assert.ok(text.includes(current), `mirror status names ${current}: ${text.slice(0, 800)}`);
  const upstream = await lab.logs('standin-upstream');
  assert.match(
    upstream,
    /flatcar_production_image\.bin\.bz2/,
    'railyard fetched the image from the stand-in upstream',
  );
  const res = await fetch(`http://${ry.opts.listen}/mirror/stable/amd64-usr/current/version.txt`);
  assert.match(await res.text(), new RegExp(`FLATCAR_VERSION=${current.replace(/\./g, '\\.')}`));
}

/** The proxyDHCP config the one-shot dhcp-config service wrote, and dnsmasq running it. */
export async function assertProxyConfig(lab: ComposeLab): Promise<string> {
  assert.is(await lab.inspect('dhcp-config', '{{.State.ExitCode}}'), '0', 'dhcp-config exited 0');
  const conf = await readFile(join(await lab.volumePath('dhcp'), 'railyard-proxy.conf'), 'utf8');
  assert.match(conf, /^dhcp-range=10\.77\.0\.0,proxy,255\.255\.255\.0$/m);
  assert.match(conf, /^pxe-service=tag:!ipxe,x86-64_EFI,"railyard UEFI x86-64",snponly\.efi,10\.77\.0\.2$/m);
  assert.match(await lab.logs('dhcp-proxy'), /proxy on subnet 10\.77\.0\.0/);
  return conf;
}

/** Every node: PXE through the proxy, install from railyard's mirror, reboot, disk boot. */
export async function provisionNodes(
  cleanup: Cleanup,
  lab: ComposeLab,
  ry: Railyard,
  workDir: string,
  t0: number,
): Promise<Array<{ node: LabNode; run: NodeRun; detail: MachineDetail; at: number }>> {
  const nodes = await labNodes(lab);
  assert.ok(
    nodes.some((n) => n.spec.firmware === 'bios') && nodes.some((n) => n.spec.firmware === 'uefi'),
    'BIOS and UEFI nodes',
  );
  const runs = await Promise.all(nodes.map((n) => followNode(cleanup, lab, n, workDir)));
  return Promise.all(
    nodes.map(async (node, i) => {
      const run = runs[i]!;
      if (node.noNicRom) {
        await run.waitFor('OVMF PXE', /Start PXE over IPv4/, 240 * SCALE);
        await run.waitFor('snponly.efi (iPXE)', /iPXE initialising devices|iPXE \d/, 240 * SCALE);
      }
      await expectInstall(run);
      await expectFirstBoot(run);
      const at = since(t0);
      assert.is(
        await lab.inspect(node.service, '{{.State.ExitCode}}'),
        '0',
        `${node.service}: node.sh exit status`,
      );
      const detail = await assertProvisioned(ry, run);
      log(
        `${node.service} (${node.spec.firmware}${node.noNicRom ? ', OVMF PXE' : ''}) provisioned at +${at} s after compose up`,
      );
      return { node, run, detail, at };
    }),
  );
}

/** What the nodes' traffic left on their consoles and in the DHCP servers' and railyard's logs. */
export async function assertDhcpPaths(
  lab: ComposeLab,
  nodes: Array<{ node: LabNode; run: NodeRun }>,
): Promise<void> {
  const proxy = await lab.logs('dhcp-proxy');
  const site = await lab.logs('site-dhcp');
  const ry = await lab.logs('railyard');
  for (const { node, run } of nodes) {
    const mac = node.spec.mac;
    const lease = new RegExp(`DHCPACK\\(eth0\\) (10\\.77\\.0\\.1\\d\\d) ${mac}`).exec(site);
    assert.ok(lease, `${node.service}: no lease from the site DHCP server:\n${site}`);
    const ip = lease[1]!;
    assert.match(proxy, `PXE(eth0) ${mac} proxy`, `${node.service}: no proxyDHCP answer:\n${proxy}`);
    if (node.noNicRom) {
      // OVMF's own PXE client: its menu entry names snponly.efi, fetched from railyard's TFTP
      const sent = ry
        .split('\n')
        .some((l) => l.includes('"msg":"TFTP sent snponly.efi"') && l.includes(`"client":"${ip}"`));
      assert.ok(sent, `${node.service}: railyard's TFTP did not send snponly.efi to ${ip}`);
    } else {
      // iPXE (the NIC ROM): the boot file is railyard's URL, which only the proxy offers
      assert.ok(
        run.saw(/Filename: http:\/\/10\.77\.0\.2:8080\/boot\.ipxe/),
        `${node.service}: no boot.ipxe from the proxy`,
      );
    }
    if (node.spec.firmware === 'bios' && !node.noNicRom) {
      // BIOS iPXE follows the PXE menu: a boot server request to the proxy on port 4011
      assert.ok(run.saw(/PXEBS \(net0 type \d+\)\.\.\. ok/), `${node.service}: no PXE boot server request`);
      assert.match(proxy, `PXE(eth0) ${ip} ${mac} http://10.77.0.2:8080/boot.ipxe`);
    }
  }
}

/** Recreate railyard's container on its volume: every machine keeps its state and events. */
export async function assertStateSurvives(lab: ComposeLab, ry: Railyard, macs: string[]): Promise<void> {
  const before = await Promise.all(macs.map((m) => apiGet<MachineDetail>(ry, `/api/v1/machines/${m}`)));
  const oldId = await lab.containerId('railyard');
  await lab.compose(['rm', '-s', '-f', 'railyard'], 120);
  await lab.compose(['up', '-d', '--no-deps', '--no-build', 'railyard'], 300 * SCALE);
  const newId = await lab.containerId('railyard');
  assert.is.not(newId, oldId, 'a new railyard container');
  await waitFor('the new railyard container to be healthy', 180 * SCALE, async () => {
    return (await lab.inspect('railyard', '{{.State.Health.Status}}')) === 'healthy';
  });
  for (const [i, mac] of macs.entries()) {
    const d = await apiGet<MachineDetail>(ry, `/api/v1/machines/${mac}`);
    assert.is(d.machine.state, before[i]!.machine.state, `${mac}: state after the new container`);
    assert.equal(
      d.events.map((e) => e.type),
      before[i]!.events.map((e) => e.type),
      `${mac}: events after the new container`,
    );
    const res = await fetch(`http://${ry.opts.listen}/ipxe?mac=${mac.replace(/:/g, '-')}`);
    assert.is(res.headers.get('x-railyard-decision'), 'local-boot', `${mac}: boots from disk, no reinstall`);
  }
  // the admin token is the one the compose environment gave (RAILYARD_ADMIN_TOKEN), not the file's
  const reprovision = `/api/v1/machines/${macs[0]}/reprovision`;
  const fileToken = (await readFile(join(REPO_ROOT, 'contrib/lab/railyard.yaml'), 'utf8')).match(
    /token: (\S+)/,
  )?.[1];
  assert.ok(fileToken && fileToken !== LAB_ADMIN_TOKEN, 'the lab config has a token of its own');
  assert.is(await apiPost(ry, reprovision, fileToken), 401, "the config file's token is replaced");
  assert.is(await apiPost(ry, reprovision, LAB_ADMIN_TOKEN), 202, 'reprovision with the admin token');
}

export async function downLab(lab: ComposeLab, workDir: string): Promise<void> {
  await writeFile(
    join(workDir, 'compose.log'),
    await lab.compose(['logs', '--no-color']).catch((e: Error) => e.message),
  );
  await lab.compose(['down', '-v', '--remove-orphans'], 180);
  const label = `label=com.docker.compose.project=${lab.project}`;
  for (const kind of ['container', 'volume', 'network']) {
    const left = (
      await lab.engine.docker([kind, 'ls', ...(kind === 'container' ? ['-a'] : []), '-q', '--filter', label])
    ).trim();
    assert.is(left, '', `docker-compose down -v left ${kind}s: ${left}`);
  }
}
