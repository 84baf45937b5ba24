// Part 7: the whole install as a node runs it, for each image path: a real `railyard serve` on
// loopback with the Flatcar-like release (signed .bz2 with a throwaway key, the mirror's own
// derived files), /ipxe and the attempt's installer cpio fetched like a node, then the generated
// install.sh + write-image.sh run against a loop device with the stand-in flatcar-install
// (scripts/standin) — download over HTTP, digest, decompress, write, read-back, Ignition
// placement. bz2 = the stock path (flatcar-install -b: wget | tee | lbzip2 | dd + gpg check),
// the reference; zstd dense and zstd sparse = railyard's path. Seconds, CPU seconds of the
// installer (its process tree; railyard's own CPU is not in it), bytes written to the device.
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { extractInstaller } from '../server/installer/fixtures/loop.ts';
import { writeExecutable, writeShims } from '../server/installer/fixtures/shims.ts';
import { silentLogger } from '../server/log.ts';
import { deriveImage } from '../server/mirror/derive.ts';
import { checkDerived, DERIVED_DIR, SOURCE_IMAGE } from '../server/mirror/derived.ts';
import { type BenchContext, type Part, type PartReport, table } from './lib/context.ts';
import { type BenchImage, benchImage } from './lib/flatcar-image.ts';
import { dirty, loopTarget, type Target } from './lib/pipelines.ts';
import { runOk, tempDir } from './lib/procs.ts';
import { REPO, startRailyard } from './lib/servers.ts';
import { fmt, fmtSummary, summarize } from './lib/stats.ts';

const VERSION = '9999.0.0';
const GiB = 1024 ** 3;
const PATHS = ['bz2 (flatcar-install -b)', 'zstd dense', 'zstd sparse'] as const;
type Path = (typeof PATHS)[number];
const PROFILE: Record<Path, string> = {
  'bz2 (flatcar-install -b)': 'image: bz2',
  'zstd dense': 'image: zstd\nimageWriter: dense',
  'zstd sparse': 'image: zstd\nimageWriter: sparse',
};

interface Run {
  seconds: number;
  cpu: number;
  written: number;
  /** write-image.sh's phase lines: download / write / verify seconds (zstd paths). */
  phases: Record<string, number>;
}

/** A throwaway signing key; the .bz2's detached signature. Returns the armored key's path and fingerprint. */
function sign(work: string, bz2: string, sig: string): { keyring: string; fingerprint: string } {
  const home = join(work, 'gnupg');
  mkdirSync(home, { mode: 0o700 });
  const gpg = (...args: string[]) =>
    execFileSync('gpg', ['--batch', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], {
      env: { ...process.env, GNUPGHOME: home },
      maxBuffer: 16 << 20,
    }).toString();
  gpg('--quick-gen-key', 'railyard bench <bench@railyard.invalid>', 'ed25519', 'sign', 'never');
  const keyring = join(work, 'keyring.asc');
  writeFileSync(keyring, gpg('--armor', '--export', 'bench@railyard.invalid'));
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(gpg('--with-colons', '--fingerprint'))?.[1] ?? '';
  gpg('--detach-sign', '--output', sig, bz2);
  execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: home } });
  return { keyring, fingerprint };
}

/** A hard link, or a copy when `to` is on another filesystem. */
function place(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    copyFileSync(from, to);
  }
}

/** The mirror tree railyard serves: hard links to the cached image files (copies across filesystems). */
function mirrorTree(image: BenchImage, dataDir: string, sig: string): void {
  const dir = join(dataDir, 'mirror/stable/amd64-usr', VERSION);
  mkdirSync(join(dir, DERIVED_DIR), { recursive: true });
  place(image.bz2, join(dir, SOURCE_IMAGE));
  place(sig, join(dir, `${SOURCE_IMAGE}.sig`));
  // What /ipxe's install script points at (the bench never boots them).
  writeFileSync(join(dir, 'version.txt'), `FLATCAR_VERSION=${VERSION}\n`);
  writeFileSync(join(dir, 'flatcar_production_pxe.vmlinuz'), Buffer.alloc(4096, 1));
  writeFileSync(join(dir, 'flatcar_production_pxe_image.cpio.gz'), Buffer.alloc(4096, 2));
  for (const f of readdirSync(join(image.versionDir, DERIVED_DIR)))
    place(join(image.versionDir, DERIVED_DIR, f), join(dir, DERIVED_DIR, f));
}

const macOf = (path: number, run: number) =>
  `52:54:00:be:${path.toString(16).padStart(2, '0')}:${run.toString(16).padStart(2, '0')}`;

function machinesDir(work: string, device: string, runs: number): string {
  const dir = join(work, 'machines');
  mkdirSync(join(dir, 'profiles'), { recursive: true });
  mkdirSync(join(dir, 'groups'));
  PATHS.forEach((p, i) => {
    writeFileSync(
      join(dir, 'profiles', `p${i}.yaml`),
      `version: ${VERSION}\ninstallDisk: ${device}\n${PROFILE[p]}\nignition:\n  ignition: {version: 3.3.0}\n  passwd: {users: [{name: core}]}\n`,
    );
    for (let r = 0; r <= runs; r++)
      writeFileSync(
        join(dir, 'groups', `p${i}-r${r}.yaml`),
        `profile: p${i}\nselector: {mac: "${macOf(i, r)}"}\n`,
      );
  });
  return dir;
}

/** Forget the partitions flatcar-install registered with partx (the loop device stays). */
function dropPartitions(device: string): void {
  try {
    execFileSync('partx', ['-d', device], { stdio: 'ignore' });
  } catch {
    // none registered
  }
}

/**
 * CPU seconds of a process tree, process substitutions included (flatcar-install's
 * `tee >(lbzip2 -cd | dd)` is never waited for, so rusage misses it): a cgroup-v1 cpuacct
 * group of the bench's own, entered by the shell before it execs the command, removed after.
 */
const CPUACCT = '/sys/fs/cgroup/cpuacct';
function cpuGroup(label: string): { dir: string; seconds(): number; remove(): void } {
  const dir = join(CPUACCT, `railyard-bench-${label}-${process.pid}`);
  mkdirSync(dir);
  return {
    dir,
    seconds: () => Number(readFileSync(join(dir, 'cpuacct.usage'), 'utf8')) / 1e9,
    remove: () => rmdirSync(dir),
  };
}

/** One install: /ipxe, the installer cpio, install.sh in its own cpuacct group. */
async function install(
  url: string,
  mac: string,
  path: Path,
  target: Target,
  work: string,
  shimBin: string,
  raw: number,
): Promise<Run> {
  const dir = join(work, mac.replaceAll(':', ''));
  mkdirSync(dir);
  const script = await (await fetch(`${url}/ipxe?mac=${mac}&platform=pcbios`)).text();
  const cpio = /\/installer\/[0-9a-f-]+\.cpio\.gz\?attempt=\d+/.exec(script)?.[0];
  if (!cpio) throw new Error(`no installer in the /ipxe answer for ${mac}: ${script.slice(0, 300)}`);
  const opt = extractInstaller(Buffer.from(await (await fetch(`${url}${cpio}`)).arrayBuffer()), dir);
  mkdirSync(join(dir, 'gnupg'), { mode: 0o700 });
  target.prepare();
  const group = cpuGroup(mac.replaceAll(':', ''));
  const started = performance.now();
  let stdout: string;
  let ended = Number.NaN;
  try {
    stdout = await runOk(
      'bash',
      ['-c', `echo $$ > '${group.dir}/cgroup.procs' && exec bash '${join(opt, 'install.sh')}'`],
      {
        env: { ...process.env, PATH: `${shimBin}:${process.env['PATH']}`, GNUPGHOME: join(dir, 'gnupg') },
      },
    );
    ended = performance.now();
  } finally {
    await new Promise((r) => setTimeout(r, 200)); // stragglers (progress reporter) leave the group
  }
  const seconds = (ended - started) / 1000;
  const cpu = group.seconds();
  group.remove();
  // The sparse writer's BLKZEROOUT of the image span is the device's own work (on a loop device
  // a fallocate of its backing file): not data written, as in part 5.
  const zeroed = path === 'zstd sparse' ? Math.ceil(raw / 4096) * 4096 : 0;
  const written = target.written(zeroed);
  dropPartitions(target.path);
  if (!/^railyard: installed\b/m.test(stdout))
    throw new Error(`${mac}: install failed:\n${stdout.slice(-3000)}`);
  const took = /^railyard: image: (\S+), writer: (\S+) /m.exec(stdout);
  const want = path.startsWith('bz2') ? 'bz2/dense' : `zstd/${path.split(' ')[1]}`;
  if (`${took?.[1]}/${took?.[2]}` !== want)
    throw new Error(`${mac}: took ${took?.[0]} instead of ${want}:\n${stdout.slice(-3000)}`);
  const phases: Record<string, number> = {};
  for (const m of stdout.matchAll(/^railyard: (download|write|verify): \d+ bytes in ([\d.]+) s/gm))
    phases[m[1] as string] = Number(m[2]);
  return { seconds, cpu, written, phases };
}

export const installerRun: Part = {
  id: 'installer',
  title: '7. The whole install (railyard → install.sh → loop device): zstd vs the bz2 path',
  async run(ctx: BenchContext): Promise<PartReport> {
    const image = await benchImage(ctx.quick, ctx.log);
    if (!(await checkDerived(image.versionDir)).ok)
      await deriveImage(
        {
          settings: { level: 3, long: 0, threads: 0 },
          log: silentLogger(),
          trashDir: join(image.versionDir, '..', 'trash'),
        },
        image.versionDir,
      );
    const derived = await checkDerived(image.versionDir);
    if (!derived.ok) throw new Error(`derivation failed: ${derived.reason}`);
    const raw = derived.manifest.image.size;
    const work = tempDir('installer');
    const sigFile = join(work, `${SOURCE_IMAGE}.sig`);
    const key = sign(work, image.bz2, sigFile);
    // Under a bench temp dir, removed with it.
    const dataDir = join(tempDir('installer-data'), 'data');
    mirrorTree(image, dataDir, sigFile);
    const target = loopTarget(tempDir('installer-loop'), raw + 64 * 1024 * 1024);
    await dirty(target, raw);
    const ry = await startRailyard({
      dataDir,
      machinesDir: machinesDir(work, target.path, ctx.runs),
      mirror: { keyring: key.keyring, fingerprint: key.fingerprint },
    });
    const shims = writeShims(work);
    execFileSync('cp', [join(REPO, 'scripts/standin/flatcar-install'), join(shims.bin, 'flatcar-install')]);
    // The real flatcar-install decompresses with lbzip2 when it is there (it is on Flatcar).
    writeExecutable(join(shims.bin, 'bzip2'), '#!/bin/sh\nexec lbzip2 -n 2 "$@"\n');
    const results = Object.fromEntries(PATHS.map((p) => [p, [] as Run[]])) as unknown as Record<Path, Run[]>;
    try {
      for (let round = 0; round <= ctx.runs; round++) {
        const order = round % 2 ? [...PATHS].reverse() : [...PATHS];
        for (const p of order) {
          const mac = macOf(PATHS.indexOf(p), round);
          const r = await install(ry.url, mac, p, target, work, shims.bin, raw);
          if (round > 0) results[p].push(r); // round 0 warms the page cache and railyard
        }
        ctx.log(`installer: round ${round}/${ctx.runs}${round === 0 ? ' (warm-up)' : ''}`);
      }
    } finally {
      await ry.stop();
      target.cleanup();
    }
    return report(results, raw, ctx.runs);
  },
};

function report(results: Record<Path, Run[]>, raw: number, runs: number): PartReport {
  const ref = summarize(results['bz2 (flatcar-install -b)'].map((r) => r.seconds)).median;
  const refCpu = summarize(results['bz2 (flatcar-install -b)'].map((r) => r.cpu)).median;
  const phase = (rs: Run[], name: string) => {
    const xs = rs.map((r) => r.phases[name]).filter((x): x is number => x !== undefined);
    return xs.length > 0 ? fmt(summarize(xs).median, 2) : '–';
  };
  const rows = PATHS.map((p) => {
    const rs = results[p];
    const s = summarize(rs.map((r) => r.seconds));
    const c = summarize(rs.map((r) => r.cpu));
    const w = summarize(rs.map((r) => r.written)).median;
    return [
      `\`${p}\``,
      fmtSummary(s, 2),
      fmtSummary(c, 2),
      `${fmt(w / GiB, 2)} GiB`,
      `${fmt((w / raw) * 100, 1)} %`,
      `${phase(rs, 'download')} / ${phase(rs, 'write')} / ${phase(rs, 'verify')}`,
      `${fmt(ref / s.median, 1)}×`,
      `${fmt(refCpu / c.median, 1)}×`,
    ];
  });
  const body = [
    `The Flatcar-like image of part 5 (${fmt(raw / GiB, 2)} GiB raw) as release ${VERSION}, its .bz2 signed with a throwaway ` +
      "ed25519 key (railyard ships it as the installer's keyring.asc), the mirror's derived files beside it. `railyard serve` " +
      'on 127.0.0.1 (its own process; its CPU is not counted). Per install: `GET /ipxe?mac=…` (a fresh MAC, so a fresh ' +
      'attempt), `GET /installer/<mac>.cpio.gz?attempt=N`, the cpio unpacked, then `install.sh` run as root with the stand-in `flatcar-install` (scripts/standin, `lbzip2 -n 2` as its bzip2, as the real one ' +
      "picks lbzip2) and systemctl/udevadm shims first on PATH, against a loop device over a file on this VM's ext4 disk " +
      '(filled with 0xFF once; every install writes over the previous one). Seconds: install.sh from start to its reboot ' +
      'call (download over loopback HTTP, digests, decompression, write, sync, read-back, Ignition placement, reports). ' +
      "CPU: the cpuacct usage of a cgroup the installer runs in (every process it starts, flatcar-install's never-waited " +
      '`tee >(lbzip2 -cd | dd)` included). ' +
      "Bytes written: the device's sectors-written counter, less the sparse writer's BLKZEROOUT of the image span (the " +
      `device's own work, as in part 5). ${runs} measured runs per path after one warm-up ` +
      'round, alternating order. Ratios: bz2 median / path median.',
    '',
    table(
      [
        'path',
        'seconds',
        'CPU s',
        'bytes written',
        'of raw',
        'download / write / verify s (reported)',
        'faster than bz2',
        'less CPU',
      ],
      rows,
    ),
  ].join('\n');
  return { title: installerRun.title, body, goals: [] };
}
