// Part 1 (+ memory at 128 clients): a 512 MiB file from railyard's /mirror/ vs nginx
// (sendfile on), 1/8/32/128 concurrent keep-alive clients (wrk), fixed duration per run.
import { type BenchContext, goal, type Part, type PartReport, table } from './lib/context.ts';
import { BIG, makeFixture, RELEASE } from './lib/fixture.ts';
import { cpuSeconds, peakRssMiB, tempDir } from './lib/procs.ts';
import { type RunningServer, startNginx, startRailyard } from './lib/servers.ts';
import { fmt, fmtSummary, ratio, type Summary, summarize } from './lib/stats.ts';
import { wrk } from './lib/wrk.ts';

const CONCURRENCY = [1, 8, 32, 128];
const FILE_BYTES = 512 * 1024 * 1024;

interface Sample {
  mbps: number;
  serverCores: number;
  clientCores: number;
  errors: number;
}

interface LevelResult {
  clients: number;
  railyard: Sample[];
  nginx: Sample[];
  railyardPeakRssMiB: number;
}

export const httpThroughput: Part = {
  id: 'throughput',
  title: '1. Large-file throughput (512 MiB over HTTP)',
  async run(ctx) {
    const dir = tempDir('http');
    const fx = makeFixture(dir, FILE_BYTES);
    const seconds = ctx.quick ? 1 : 6;
    const levels: LevelResult[] = [];
    for (const clients of CONCURRENCY) {
      // Fresh servers per level, so railyard's VmHWM belongs to this level alone.
      const railyard = await startRailyard({ dataDir: fx.dataDir, nodeFlags: profileFlags(dir, clients) });
      const nginx = await startNginx({ dir: tempDir('nginx'), root: fx.mirrorDir });
      try {
        const level: LevelResult = { clients, railyard: [], nginx: [], railyardPeakRssMiB: 0 };
        const urls = new Map([
          [railyard, `${railyard.url}/mirror/${RELEASE}/${BIG}`],
          [nginx, `${nginx.url}/${RELEASE}/${BIG}`],
        ]);
        for (let i = 0; i <= ctx.runs; i++) {
          const order = i % 2 ? [nginx, railyard] : [railyard, nginx]; // alternate A/B
          for (const server of order) {
            const sample = await measure(dir, server, urls.get(server)!, clients, seconds);
            if (i === 0) continue; // warm-up
            (server === railyard ? level.railyard : level.nginx).push(sample);
          }
          ctx.log(`throughput c=${clients} run ${i}/${ctx.runs}`);
        }
        level.railyardPeakRssMiB = peakRssMiB(railyard.pid);
        levels.push(level);
      } finally {
        await railyard.stop();
        await nginx.stop();
      }
    }
    return report(levels, seconds, ctx);
  },
};

/** BENCH_PROFILE=throughput-128 writes a CPU profile of railyard at that level. */
function profileFlags(dir: string, clients: number): string[] {
  return process.env['BENCH_PROFILE'] === `throughput-${clients}`
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_PROFILE_DIR'] ?? dir}`]
    : [];
}

async function measure(dir: string, server: RunningServer, url: string, clients: number, seconds: number) {
  const cpu0 = cpuSeconds(server.pids());
  const r = await wrk(dir, url, clients, seconds);
  const cpu = cpuSeconds(server.pids()) - cpu0;
  return {
    mbps: r.bytes / r.seconds / 1e6,
    serverCores: cpu / r.seconds,
    clientCores: r.clientCpuSeconds / r.seconds,
    errors: r.errors + r.badStatus,
  };
}

function report(levels: LevelResult[], seconds: number, ctx: BenchContext): PartReport {
  const s = (xs: Sample[], k: keyof Sample): Summary => summarize(xs.map((x) => x[k]));
  const rows = levels.map((l) => {
    const [a, b] = [s(l.railyard, 'mbps'), s(l.nginx, 'mbps')];
    return [
      String(l.clients),
      fmtSummary(a, 0),
      fmtSummary(b, 0),
      ratio(a.median, b.median),
      `${fmt(s(l.railyard, 'serverCores').median, 2)} / ${fmt(s(l.nginx, 'serverCores').median, 2)}`,
      `${fmt(s(l.railyard, 'clientCores').median, 2)} / ${fmt(s(l.nginx, 'clientCores').median, 2)}`,
      `${s(l.railyard, 'errors').max} / ${s(l.nginx, 'errors').max}`,
      fmt(l.railyardPeakRssMiB, 0),
    ];
  });
  const worst = Math.min(...levels.map((l) => s(l.railyard, 'mbps').median / s(l.nginx, 'mbps').median));
  const medians = levels.map((l) => s(l.railyard, 'mbps').median);
  const rss128 = levels.find((l) => l.clients === 128)?.railyardPeakRssMiB ?? Number.NaN;
  const body = [
    `wrk (2 threads, keep-alive, \`--timeout 120s\`) fetches the same 512 MiB file of random bytes ` +
      `in a loop for ${seconds} s per run; MB/s = bytes received by wrk (partial bodies included) / run time ` +
      `(1 MB = 10⁶ bytes). ${ctx.runs} runs after one warm-up, railyard and nginx alternating; both started ` +
      'fresh for each concurrency level. CPU columns are cores busy on average (CPU seconds / run time): on ' +
      'this 2-core machine wrk and the server share the CPU, so the sum is capped at 2.',
    '',
    table(
      [
        'clients',
        'railyard MB/s median (min–max)',
        'nginx MB/s median (min–max)',
        'ratio',
        'server cores ry / nginx',
        'wrk cores ry / nginx',
        'errors ry / nginx',
        'railyard VmHWM MiB',
      ],
      rows,
    ),
  ].join('\n');
  return {
    title: httpThroughput.title,
    body,
    goals: [
      goal(worst >= 0.8, `≥ 0.8× nginx at every concurrency — worst median ratio ${worst.toFixed(2)}×`),
      goal(
        Math.min(...medians) >= 1250,
        `≥ 1.25 GB/s aggregate at every level — railyard medians ${(Math.min(...medians) / 1000).toFixed(2)}` +
          `–${(Math.max(...medians) / 1000).toFixed(2)} GB/s`,
      ),
      goal(rss128 <= 150, `peak RSS ≤ 150 MiB during 128 clients — ${fmt(rss128, 0)} MiB`),
    ],
  };
}
