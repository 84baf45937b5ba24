// Part 4: TFTP. undionly.kpxe and a 32 MiB file via railyard's TFTP vs tftpd-hpa, per client
// and options, plus 50 concurrent undionly.kpxe fetches. Each figure is the wall time of one
// client process from spawn to exit (process start-up, ~ms, is in both sides' figures).
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { goal, type Part, type PartReport, table } from './lib/context.ts';
import { writeRandomFile } from './lib/fixture.ts';
import { run, spawnTracked, stopChild, tempDir } from './lib/procs.ts';
import { freeUdpPort, REPO, startRailyard } from './lib/servers.ts';
import { fmt, fmtSummary, ratio, summarize } from './lib/stats.ts';

const KPXE = '/usr/lib/ipxe/undionly.kpxe';
const CONCURRENT = 50;

interface Case {
  client: 'atftp' | 'curl' | 'tftp-hpa';
  file: string;
  blksize: number;
  windowsize?: number;
}

function cases(bigName: string): Case[] {
  const out: Case[] = [];
  for (const file of ['undionly.kpxe', bigName]) {
    for (const blksize of [512, 1468, 8192]) {
      out.push({ client: 'atftp', file, blksize });
      out.push({ client: 'atftp', file, blksize, windowsize: 16 });
      out.push({ client: 'curl', file, blksize });
    }
    out.push({ client: 'tftp-hpa', file, blksize: 512 });
  }
  return out;
}

function command(c: Case, port: number, local: string): [string, string[]] {
  if (c.client === 'curl') {
    const url = `tftp://127.0.0.1:${port}/${c.file}`;
    return ['curl', ['-sS', '--fail', '--tftp-blksize', String(c.blksize), '-o', local, url]];
  }
  if (c.client === 'tftp-hpa')
    return ['tftp', ['-m', 'binary', '127.0.0.1', String(port), '-c', 'get', c.file, local]];
  const opts = ['--option', `blksize ${c.blksize}`];
  if (c.windowsize) opts.push('--option', `windowsize ${c.windowsize}`);
  return ['atftp', [...opts, '-g', '-r', c.file, '-l', local, '127.0.0.1', String(port)]];
}

/** Seconds for one fetch; throws when the client fails or the bytes differ in size. */
async function fetchOnce(c: Case, port: number, local: string, size: number): Promise<number> {
  const [cmd, args] = command(c, port, local);
  const started = performance.now();
  const r = await run(cmd, args);
  const seconds = (performance.now() - started) / 1000;
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.code} ${r.stderr.trim()}`);
  const got = readFileSync(local).length;
  if (got !== size) throw new Error(`${cmd} ${args.join(' ')}: ${got} bytes, expected ${size}`);
  return seconds;
}

async function startTftpdHpa(root: string, port: number) {
  const child = spawnTracked('/usr/sbin/in.tftpd', [
    '-L',
    '-u',
    'root',
    '-s',
    root,
    '-a',
    `127.0.0.1:${port}`,
  ]);
  await new Promise((r) => setTimeout(r, 300));
  if (child.exitCode !== null) throw new Error(`in.tftpd exited ${child.exitCode}`);
  return { stop: () => stopChild(child) };
}

export const tftpBench: Part = {
  id: 'tftp',
  title: '4. TFTP (railyard vs tftpd-hpa)',
  async run(ctx) {
    if (!existsSync(join(REPO, 'server/tftp/server.ts'))) {
      return {
        title: tftpBench.title,
        body: 'skipped: railyard has no TFTP server in this tree',
        goals: ['skipped: no TFTP server in this tree'],
      };
    }
    const dir = tempDir('tftp');
    chmodSync(dir, 0o755);
    const root = join(dir, 'root');
    mkdirSync(root, { mode: 0o755 });
    const bigBytes = (ctx.quick ? 1 : 32) * 1024 * 1024;
    const bigName = `big${bigBytes >> 20}m.bin`;
    copyFileSync(KPXE, join(root, 'undionly.kpxe'));
    writeRandomFile(join(root, bigName), bigBytes);
    const sizes: Record<string, number> = { 'undionly.kpxe': readFileSync(KPXE).length, [bigName]: bigBytes };
    const [ryPort, hpaPort] = [await freeUdpPort(), await freeUdpPort()];
    mkdirSync(join(dir, 'data'));
    const nodeFlags =
      process.env['BENCH_PROFILE'] === 'tftp'
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_PROFILE_DIR'] ?? dir}`]
        : [];
    const railyard = await startRailyard({
      dataDir: join(dir, 'data'),
      tftp: { port: ryPort, root },
      nodeFlags,
    });
    const hpa = await startTftpdHpa(root, hpaPort);
    try {
      const single = await singles(ctx.runs, cases(bigName), { ryPort, hpaPort, dir, sizes }, ctx.log);
      const burst = await bursts(ctx.runs, { ryPort, hpaPort, dir, sizes }, ctx.log);
      return report(single, burst, sizes, bigName);
    } finally {
      await railyard.stop();
      await hpa.stop();
    }
  },
};

interface Env {
  ryPort: number;
  hpaPort: number;
  dir: string;
  sizes: Record<string, number>;
}
type Timings = Map<Case, { railyard: number[]; hpa: number[] }>;

async function singles(runs: number, all: Case[], env: Env, log: (m: string) => void): Promise<Timings> {
  const out: Timings = new Map(all.map((c) => [c, { railyard: [], hpa: [] }]));
  const local = join(env.dir, 'out.bin');
  for (let i = 0; i <= runs; i++) {
    for (const c of all) {
      const order = i % 2 ? (['hpa', 'railyard'] as const) : (['railyard', 'hpa'] as const);
      for (const who of order) {
        const port = who === 'railyard' ? env.ryPort : env.hpaPort;
        const s = await fetchOnce(c, port, local, env.sizes[c.file]!);
        if (i > 0) out.get(c)![who].push(s);
      }
    }
    log(`tftp singles run ${i}/${runs}`);
  }
  return out;
}

async function bursts(runs: number, env: Env, log: (m: string) => void) {
  const out = { railyard: [] as number[], hpa: [] as number[] };
  const c: Case = { client: 'atftp', file: 'undionly.kpxe', blksize: 1468 };
  for (let i = 0; i <= runs; i++) {
    const order = i % 2 ? (['hpa', 'railyard'] as const) : (['railyard', 'hpa'] as const);
    for (const who of order) {
      const port = who === 'railyard' ? env.ryPort : env.hpaPort;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENT }, (_, k) =>
          fetchOnce(c, port, join(env.dir, `burst-${k}.bin`), env.sizes[c.file]!),
        ),
      );
      if (i > 0) out[who].push((performance.now() - started) / 1000);
    }
    log(`tftp burst run ${i}/${runs}`);
  }
  return out;
}

function report(
  single: Timings,
  burst: { railyard: number[]; hpa: number[] },
  sizes: Record<string, number>,
  bigName: string,
): PartReport {
  const mbps = (file: string, xs: number[]) => summarize(xs.map((s) => sizes[file]! / s / 1e6));
  const ratios: number[] = [];
  const rows = [...single].map(([c, t]) => {
    const [a, b] = [mbps(c.file, t.railyard), mbps(c.file, t.hpa)];
    ratios.push(a.median / b.median);
    return [
      c.file,
      c.client,
      String(c.blksize),
      c.windowsize ? String(c.windowsize) : '–',
      fmtSummary(summarize(t.railyard.map((s) => s * 1000)), 1),
      fmtSummary(summarize(t.hpa.map((s) => s * 1000)), 1),
      fmtSummary(a, 1),
      fmtSummary(b, 1),
      ratio(a.median, b.median),
    ];
  });
  const [br, bh] = [summarize(burst.railyard), summarize(burst.hpa)];
  const worst = Math.min(...ratios, bh.median / br.median);
  const body = [
    `Files: undionly.kpxe (${sizes['undionly.kpxe']} bytes, Debian \`ipxe\`) and ${bigName} ` +
      `(${sizes[bigName]! >> 20} MiB random). tftpd-hpa: \`in.tftpd -L -u root -s <root> -a 127.0.0.1:<port>\`. ` +
      'railyard: `tftp.enabled: true`, `tftp.listen: 127.0.0.1:<port>`, `maxBlksize: 65464`, ' +
      '`maxWindowsize: 64`, `maxPerClient: 200` (every bench client is 127.0.0.1; the default 8 would ' +
      'refuse the burst). Clients: atftp 0.8.0 (`--option "blksize N"`, `--option "windowsize 16"`), ' +
      'curl (`--tftp-blksize`, no windowsize support), tftp-hpa 5.2 (no options: 512-byte lock-step). ' +
      'tftpd-hpa 5.2 does not implement windowsize (RFC 7440): it ignores the option and runs lock-step, ' +
      'so the windowsize rows compare railyard with windowsize to tftpd-hpa without. ' +
      'Time = wall time of one client process, ms; MB/s = file size / time; ratio = railyard / tftpd-hpa MB/s.',
    '',
    table(
      [
        'file',
        'client',
        'blksize',
        'windowsize',
        'railyard ms',
        'tftpd-hpa ms',
        'railyard MB/s',
        'tftpd-hpa MB/s',
        'ratio',
      ],
      rows,
    ),
    '',
    `${CONCURRENT} concurrent undionly.kpxe fetches (atftp, blksize 1468), seconds until all are done: ` +
      `railyard ${fmtSummary(br, 3)}, tftpd-hpa ${fmtSummary(bh, 3)} — ratio (throughput) ${ratio(bh.median, br.median)}.`,
  ].join('\n');
  return {
    title: tftpBench.title,
    body,
    goals: [goal(worst >= 1.0, `≥ 1.0× tftpd-hpa at equal options — worst ratio ${fmt(worst, 2)}×`)],
  };
}
