// flock /tmp/railyard-heavy.lock node --import tsx bench/handoff.ts [--runs 3] [--only bios,uefi,uefi-disk]
// (--only splits the work into lock holds: bios, uefi = the UEFI installs kexec vs reboot,
// uefi-disk = UEFI kexec installs, each followed by the two disk boots compared below)
// Issue 13 in the QEMU lab (the E2E harness, e2e/lib): power-on → first boot with the kexec
// hand-off against the reboot hand-off (the reference) on the same railyard, interleaved,
// for BIOS (SeaBIOS + iPXE ROM, slirp) and UEFI (OVMF's own PXE → snponly.efi over
// railyard's TFTP, namespace LAN); then, on each UEFI kexec node, a later power cycle: the
// disk-boot phase (iPXE `exit` → the installed system's boot done) through the installer's
// boot entry against the firmware walk (bootindex on NIC and disk, OVMF's own order: the lab
// before issue 13), on copies of the same vars file. Prints markdown and writes
// bench/out/handoff.md. Not a test: it reports, it asserts nothing (a failed run is a row).
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type MachineDetail, machine } from '../e2e/lib/api.ts';
import { expectFirstBoot, expectHandoff, expectInstall, type Handoff } from '../e2e/lib/flow.ts';
import { lanNode, startLanRailyard } from '../e2e/lib/lan.ts';
import { labMac, labProfile, macGroup } from '../e2e/lib/machines.ts';
import { SW_NS } from '../e2e/lib/netns.ts';
import type { NodeRun } from '../e2e/lib/node-run.ts';
import type { Firmware, NodeSpec } from '../e2e/lib/qemu-args.ts';
import type { Railyard } from '../e2e/lib/railyard.ts';
import { postCount } from '../e2e/lib/report.ts';
import { bootNode, slirpNode, startSlirpRailyard } from '../e2e/lib/slirp.ts';
import { type Lab, openLab } from '../e2e/lib/suite.ts';
import { loadAverage, machineInfo } from './lib/machine.ts';
import { REPO } from './lib/servers.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    only: { type: 'string', default: 'bios,uefi,uefi-disk' },
  },
});
const RUNS = Math.max(3, Number(values.runs));
const ONLY = values.only.split(',');
const PARTS = ['bios', 'uefi', 'uefi-disk'];
for (const part of ONLY)
  if (!PARTS.includes(part)) throw new Error(`--only: ${part}: expected a list of ${PARTS.join(', ')}`);
const METHODS: Handoff[] = ['kexec', 'reboot'];

interface Install {
  firmware: Firmware;
  method: Handoff;
  /** QEMU start → RAILYARD FIRST BOOT DONE on the console; undefined: the run failed. */
  firstBoot: number | undefined;
  posts: number;
  phases: Record<string, number>;
  error?: string;
}
interface DiskBoot {
  path: 'boot entry' | 'firmware walk';
  /** iPXE `exit` → RAILYARD BOOT DONE. */
  seconds: number | undefined;
  error?: string;
}

const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
const installs: Install[] = [];
const diskBoots: DiskBoot[] = [];
const log = (msg: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

async function install(
  ry: Railyard,
  firmware: Firmware,
  method: Handoff,
  boot: () => Promise<NodeRun>,
): Promise<NodeRun | undefined> {
  const row: Install = { firmware, method, firstBoot: undefined, posts: 0, phases: {} };
  installs.push(row);
  let node: NodeRun | undefined;
  try {
    node = await boot();
    await expectInstall(node);
    await expectHandoff(node, method);
    await expectFirstBoot(node);
    row.firstBoot = node.marks.find((m) => m.label === 'first boot')?.t;
    row.posts = postCount(node);
    const d: MachineDetail = await machine(ry, node.spec.mac);
    for (const p of d.timeline) if (p.seconds !== null) row.phases[p.phase] = p.seconds;
    log(`${firmware} ${method}: first boot ${row.firstBoot?.toFixed(1)} s, posts ${row.posts}`);
    return node;
  } catch (err) {
    row.error = firstLine(err);
    log(`${firmware} ${method}: FAILED ${row.error}`);
    await node?.stop();
    return undefined;
  }
}

async function diskBoot(lab: Lab, spec: NodeSpec, path: DiskBoot['path']): Promise<void> {
  const row: DiskBoot = { path, seconds: undefined };
  diskBoots.push(row);
  let node: NodeRun | undefined;
  try {
    node = await bootNode(lab, spec, { keepDisk: true, netns: SW_NS });
    const exit = await node.waitFor('exit to firmware', /handing back to the firmware/, 240);
    const done = await node.waitFor('boot done', /RAILYARD BOOT DONE/, 400);
    await node.waitExit(60);
    row.seconds = done - exit;
    log(`uefi disk boot via ${path}: ${row.seconds.toFixed(1)} s`);
  } catch (err) {
    row.error = firstLine(err);
    log(`uefi disk boot via ${path}: FAILED ${row.error}`);
    await node?.stop();
  }
}

/** Each run's MAC per method; groups select by MAC, profiles by method. */
function machinesFor(suite: number) {
  const macs = (r: number) => ({ kexec: labMac(suite, 2 * r + 1), reboot: labMac(suite, 2 * r + 2) });
  const groups: Record<string, object> = {};
  for (let r = 0; r < RUNS; r++)
    for (const m of METHODS) groups[`r${r}-${m}`] = macGroup(m, macs(r)[m], { hostname: `r${r}-${m}` });
  const profiles = { kexec: labProfile(), reboot: labProfile({ handoff: 'reboot' }) };
  return { macs, machines: { profiles, groups } };
}

/** kexec first on even runs, reboot first on odd ones. */
const order = (r: number): Handoff[] => (r % 2 === 0 ? METHODS : [...METHODS].reverse());

async function bios(): Promise<void> {
  const lab = await openLab('bench-bios');
  try {
    const { macs, machines } = machinesFor(0xb1);
    const ry = await startSlirpRailyard(lab, machines);
    for (let r = 0; r < RUNS; r++)
      for (const m of order(r)) {
        const spec = slirpNode(ry, `b${r}${m}`, macs(r)[m], 'bios');
        await install(ry, 'bios', m, () => bootNode(lab, spec));
      }
  } finally {
    await lab.cleanup.run();
  }
}

async function uefi(): Promise<void> {
  const lab = await openLab('bench-uefi');
  try {
    const { macs, machines } = machinesFor(0xb2);
    const lan = await startLanRailyard(lab, machines, 1);
    // uefi-disk alone: the kexec installs only (for their disks), without the reboot reference
    const methods = (r: number): Handoff[] => (ONLY.includes('uefi') ? order(r) : ['kexec']);
    for (let r = 0; r < RUNS; r++)
      for (const m of methods(r)) {
        const spec = lanNode(lan, 0, `u${r}${m}`, macs(r)[m], 'uefi', true);
        const node = await install(lan.ry, 'uefi', m, () => bootNode(lab, spec, { netns: SW_NS }));
        if (!node || m !== 'kexec' || !spec.varsFile || !ONLY.includes('uefi-disk')) continue;
        // The same installed disk and firmware variables, twice: as the installer left them,
        // and with bootindex (OVMF rebuilds BootOrder: network entries, then the disk).
        const walk = { ...spec, varsFile: `${spec.varsFile}.walk`, bootindex: true };
        await copyFile(spec.varsFile, walk.varsFile);
        const paths: Array<[DiskBoot['path'], NodeSpec]> = [
          ['boot entry', spec],
          ['firmware walk', walk],
        ];
        for (const [path, s] of r % 2 === 0 ? paths : paths.reverse()) await diskBoot(lab, s, path);
      }
  } finally {
    await lab.cleanup.run();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
const fmt = (xs: number[]) =>
  xs.length === 0
    ? 'no run'
    : `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;
const ok = <T extends { error?: string }>(rows: T[]) => rows.filter((r) => !r.error);

function report(startLoad: string, started: Date): string {
  const m = machineInfo();
  const lines = [
    '## Hand-off: kexec vs reboot, and the UEFI disk boot (issue 13)',
    '',
    `${started.toISOString()}, ${((Date.now() - started.getTime()) / 60000).toFixed(1)} min; commit ${m.commit}${m.dirty ? ' (dirty)' : ''}, ${m.nproc} cores ${m.cpu}, ${m.ramGiB} GiB, QEMU TCG (no KVM); load average at start ${startLoad}, at end ${loadAverage()}.`,
    `Command: \`flock /tmp/railyard-heavy.lock node --import tsx bench/handoff.ts --runs ${RUNS} --only ${values.only}\`. Median (min–max) of ${RUNS} runs per row, kexec and reboot interleaved on the same railyard (order alternating per run); ratios are kexec / reboot (the reference), medians. Power-on → first boot is QEMU's start → \`RAILYARD FIRST BOOT DONE\` on the serial console; POSTs are firmware banners on it. Profiles are the E2E's (\`kexecChecks: false\`).`,
    '',
    '| firmware | hand-off | power-on → first boot s | ratio | POSTs per install | phases (railyard timeline, medians s) | failed runs |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const fw of ['bios', 'uefi'] as const) {
    const ref = ok(installs.filter((i) => i.firmware === fw && i.method === 'reboot'));
    const refMedian = ref.length ? median(ref.map((i) => i.firstBoot ?? 0)) : undefined;
    for (const method of METHODS) {
      const all = installs.filter((i) => i.firmware === fw && i.method === method);
      if (all.length === 0) continue;
      const good = ok(all);
      const t = good.map((i) => i.firstBoot ?? 0);
      const ratio =
        method === 'reboot'
          ? '1 (reference)'
          : refMedian && t.length
            ? `${(median(t) / refMedian).toFixed(2)}×`
            : '–';
      const posts = [...new Set(good.map((i) => i.posts))].join(', ');
      const names = [...new Set(good.flatMap((i) => Object.keys(i.phases)))];
      const phases = names
        .map((p) => `${p} ${median(good.map((i) => i.phases[p] ?? 0)).toFixed(1)}`)
        .join(', ');
      const failed = all.length - good.length;
      lines.push(`| ${fw} | ${method} | ${fmt(t)} | ${ratio} | ${posts || '–'} | ${phases} | ${failed} |`);
    }
  }
  if (diskBoots.length > 0) {
    const entry = ok(diskBoots.filter((d) => d.path === 'boot entry')).map((d) => d.seconds ?? 0);
    const walk = ok(diskBoots.filter((d) => d.path === 'firmware walk')).map((d) => d.seconds ?? 0);
    lines.push(
      '',
      "UEFI, a later power cycle of each kexec-installed node: iPXE `exit` → `RAILYARD BOOT DONE` (firmware, the installed system's boot).",
      '',
      '| path after `exit` | disk-boot phase s | ratio | failed runs |',
      '| --- | --- | --- | --- |',
      `| the installer's boot entry right after the network entry | ${fmt(entry)} | ${entry.length && walk.length ? `${(median(entry) / median(walk)).toFixed(2)}×` : '–'} | ${diskBoots.filter((d) => d.path === 'boot entry' && d.error).length} |`,
      `| firmware walk (bootindex: OVMF's order, the reference) | ${fmt(walk)} | 1 (reference) | ${diskBoots.filter((d) => d.path === 'firmware walk' && d.error).length} |`,
    );
  }
  const errors = [...installs, ...diskBoots].filter((r) => r.error).map((r) => `- ${r.error}`);
  if (errors.length) lines.push('', 'Failed runs:', '', ...errors);
  return `${lines.join('\n')}\n`;
}

const started = new Date();
const startLoad = loadAverage();
if (ONLY.includes('bios')) await bios();
if (ONLY.includes('uefi') || ONLY.includes('uefi-disk')) await uefi();
const md = report(startLoad, started);
await mkdir(join(REPO, 'bench/out'), { recursive: true });
await writeFile(join(REPO, 'bench/out/handoff.md'), md);
process.stdout.write(md);
