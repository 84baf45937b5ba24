// Part 2 (+ memory): 1,000 distinct machines doing /boot.ipxe → /ipxe → installer cpio,
// 200 in flight, against railyard; nginx serving three static files of the same sizes is
// the reference (a ceiling: it renders nothing and records no state).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { goal, type Part, type PartReport, table } from './lib/context.ts';
import { makeFixture } from './lib/fixture.ts';
import { cpuSeconds, peakRssMiB, runOk, tempDir } from './lib/procs.ts';
import { REPO, type RunningServer, startNginx, startRailyard } from './lib/servers.ts';
import { fmt, fmtSummary, ratio, summarize } from './lib/stats.ts';

const MACHINES = 1000;
const INFLIGHT = 200;
const RAILYARD_PATH = [
  '/boot.ipxe',
  '/ipxe?mac={mac}&platform=pcbios&arch=x86_64',
  '/installer/{mac}.cpio.gz',
];
const NGINX_PATH = [
  '/boot.ipxe',
  '/ipxe?mac={mac}&platform=pcbios&arch=x86_64',
  '/installer.cpio.gz?mac={mac}',
];

interface StormResult {
  seconds: number;
  requests: number;
  paths: number;
  errors: number;
  failures: Record<string, number>;
  request: { p50: number; p99: number; max: number };
  path: { p50: number; p99: number; max: number };
  clientCpuSeconds: number;
  serverCpuSeconds: number;
}

export const bootStorm: Part = {
  id: 'storm',
  title: '2. Boot storm (1,000 machines, 200 in flight)',
  async run(ctx) {
    const dir = tempDir('storm');
    const fx = makeFixture(dir);
    const flags =
      process.env['BENCH_PROFILE'] === 'storm'
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_PROFILE_DIR'] ?? dir}`]
        : [];
    const railyard = await startRailyard({ dataDir: fx.dataDir, nodeFlags: flags });
    try {
      const sizes = await copySizes(railyard.url, join(dir, 'ref'));
      const nginx = await startNginx({ dir: tempDir('nginx'), root: join(dir, 'ref') });
      const results = { railyard: [] as StormResult[], nginx: [] as StormResult[] };
      try {
        for (let i = 0; i <= ctx.runs; i++) {
          const order = i % 2 ? [nginx, railyard] : [railyard, nginx];
          for (const server of order) {
            const r = await storm(server, server === railyard ? RAILYARD_PATH : NGINX_PATH, i);
            if (i > 0) (server === railyard ? results.railyard : results.nginx).push(r);
          }
          ctx.log(`storm run ${i}/${ctx.runs}`);
        }
      } finally {
        await nginx.stop();
      }
      return report(results, peakRssMiB(railyard.pid), sizes);
    } finally {
      await railyard.stop();
    }
  },
};

/** Fetch one machine's path from railyard and write same-sized files for nginx. */
async function copySizes(url: string, refDir: string): Promise<number[]> {
  mkdirSync(refDir, { recursive: true });
  const mac = '02-42-ff-00-00-00';
  const sizes: number[] = [];
  for (const [path, name] of [
    [`/boot.ipxe`, 'boot.ipxe'],
    [`/ipxe?mac=${mac}&platform=pcbios&arch=x86_64`, 'ipxe'],
    [`/installer/${mac}.cpio.gz`, 'installer.cpio.gz'],
  ] as const) {
    const res = await fetch(url + path, { headers: { 'User-Agent': 'iPXE/1.21.1 (bench)' } });
    const body = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) throw new Error(`railyard ${path}: HTTP ${res.status}: ${body}`);
    writeFileSync(join(refDir, name), body);
    sizes.push(body.length);
  }
  return sizes;
}

async function storm(server: RunningServer, path: string[], run: number): Promise<StormResult> {
  const cpu0 = cpuSeconds(server.pids());
  const out = await runOk(
    process.execPath,
    [
      '--import',
      'tsx',
      join(REPO, 'bench/storm-client.ts'),
      server.url.slice(7),
      String(MACHINES),
      String(INFLIGHT),
      String(run),
      ...path,
    ],
    { cwd: REPO },
  );
  return { ...(JSON.parse(out) as StormResult), serverCpuSeconds: cpuSeconds(server.pids()) - cpu0 };
}

function report(
  results: Record<'railyard' | 'nginx', StormResult[]>,
  rssMiB: number,
  sizes: number[],
): PartReport {
  const sum = (xs: StormResult[], f: (r: StormResult) => number) => summarize(xs.map(f));
  const rows = (['railyard', 'nginx'] as const).map((name) => {
    const xs = results[name];
    return [
      name,
      fmtSummary(
        sum(xs, (r) => r.paths / r.seconds),
        0,
      ),
      fmtSummary(
        sum(xs, (r) => r.requests / r.seconds),
        0,
      ),
      fmtSummary(
        sum(xs, (r) => r.request.p50),
        1,
      ),
      fmtSummary(
        sum(xs, (r) => r.request.p99),
        1,
      ),
      fmtSummary(
        sum(xs, (r) => r.request.max),
        1,
      ),
      fmtSummary(
        sum(xs, (r) => r.path.p99),
        1,
      ),
      String(xs.reduce((a, r) => a + r.errors, 0)),
      fmtSummary(
        sum(xs, (r) => r.serverCpuSeconds),
        2,
      ),
      fmtSummary(
        sum(xs, (r) => r.clientCpuSeconds),
        2,
      ),
    ];
  });
  const paths = (xs: StormResult[]) => summarize(xs.map((r) => r.paths / r.seconds)).median;
  const p99 = summarize(results.railyard.map((r) => r.request.p99)).median;
  const errors = results.railyard.reduce((a, r) => a + r.errors, 0);
  const failures = results.railyard.flatMap((r) => Object.entries(r.failures).map(([k, v]) => `${k} ×${v}`));
  const body = [
    `Each run: ${MACHINES} machines with distinct MACs (a new MAC range per run, so every installer cpio ` +
      `is built cold), ${INFLIGHT} in flight. Each machine opens its own keep-alive connection and sends ` +
      '`/boot.ipxe`, `/ipxe?mac=…&platform=pcbios&arch=x86_64`, `/installer/<mac>.cpio.gz` strictly one ' +
      'after the other with `User-Agent: iPXE/…`; a machine counts as a full path when all three answer 200. ' +
      'Client: bench/storm-client.ts (raw sockets, its own process). Reference: nginx serving three static ' +
      `files of the same sizes (${sizes.join(', ')} bytes) — the ceiling, not like-for-like: it renders ` +
      'nothing, builds no cpio, writes no state. Latencies in ms; CPU in seconds per run.',
    '',
    table(
      [
        'server',
        'full paths/s',
        'requests/s',
        'p50',
        'p99',
        'max',
        'path p99',
        'errors (all runs)',
        'server CPU s',
        'client CPU s',
      ],
      rows,
    ),
    '',
    `Ratio railyard / nginx, full paths/s: ${ratio(paths(results.railyard), paths(results.nginx))}. ` +
      `railyard peak RSS (VmHWM) over the whole storm part: ${fmt(rssMiB, 0)} MiB.` +
      (failures.length ? ` railyard failures: ${failures.join(', ')}.` : ''),
  ].join('\n');
  return {
    title: bootStorm.title,
    body,
    goals: [
      goal(errors === 0, `0 errors — ${errors}`),
      goal(p99 < 50, `request p99 < 50 ms — median p99 ${fmt(p99, 1)} ms`),
      goal(
        paths(results.railyard) >= 3000,
        `≥ 3,000 full paths/s — ${fmt(paths(results.railyard), 0)}/s (${ratio(paths(results.railyard), paths(results.nginx))} nginx)`,
      ),
      goal(rssMiB <= 150, `peak RSS ≤ 150 MiB during the storm — ${fmt(rssMiB, 0)} MiB`),
    ],
  };
}
