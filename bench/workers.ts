// Experiment (issue 18, `http.workers`): railyard as one process vs as 2 Node cluster workers
// (bench/lib/cluster-primary.js: the primary accepts, the workers serve; one data dir, SQLite
// WAL) for the 512 MiB download at 32 and 128 clients (nginx in the same run) and the boot
// storm (reference: the one-process railyard in the same run). Not a shipped feature.

import { RAILYARD_PATH, type StormResult, storm } from './boot-storm.ts';
import { goal, type Part, type PartReport, table } from './lib/context.ts';
import { BIG, makeFixture, RELEASE } from './lib/fixture.ts';
import { cpuSeconds, peakRssMiB, processTree, tempDir } from './lib/procs.ts';
import { type RunningServer, startNginx, startRailyard } from './lib/servers.ts';
import { fmt, fmtSummary, ratio, summarize } from './lib/stats.ts';
import { wrk } from './lib/wrk.ts';

const CLIENTS = [32, 128];

/** Peak RSS summed over the primary and its workers. */
const rssAll = (s: RunningServer) => processTree(s.pid).reduce((a, p) => a + peakRssMiB(p), 0);

export const workers: Part = {
  id: 'workers',
  title: 'W. Experiment: 2 cluster workers vs one process',
  async run(ctx) {
    const dir = tempDir('workers');
    const fx = makeFixture(dir, 512 * 1024 * 1024);
    const seconds = ctx.quick ? 1 : 6;
    const rows: string[][] = [];
    const verdicts: number[] = [];
    for (const clients of CLIENTS) {
      const one = await startRailyard({ dataDir: fx.dataDir });
      const two = await startRailyard({ dataDir: fx.dataDir, workers: 2 });
      const nginx = await startNginx({ dir: tempDir('nginx'), root: fx.mirrorDir });
      try {
        const mbps = new Map<RunningServer, number[]>([
          [one, []],
          [two, []],
          [nginx, []],
        ]);
        const cores = new Map<RunningServer, number[]>([
          [one, []],
          [two, []],
          [nginx, []],
        ]);
        for (let i = 0; i <= ctx.runs; i++) {
          const order = [one, two, nginx];
          for (let k = 0; k < i % 3; k++) order.push(order.shift()!);
          for (const s of order) {
            const url = s === nginx ? `${s.url}/${RELEASE}/${BIG}` : `${s.url}/mirror/${RELEASE}/${BIG}`;
            const cpu0 = cpuSeconds(s.pids());
            const r = await wrk(dir, url, clients, seconds);
            if (i === 0) continue;
            mbps.get(s)!.push(r.bytes / r.seconds / 1e6);
            cores.get(s)!.push((cpuSeconds(s.pids()) - cpu0) / r.seconds);
          }
          ctx.log(`workers: files c=${clients} run ${i}/${ctx.runs}`);
        }
        const m = (s: RunningServer) => summarize(mbps.get(s)!);
        const c = (s: RunningServer) => fmt(summarize(cores.get(s)!).median, 2);
        verdicts.push(m(two).median / m(one).median);
        rows.push([
          `${clients} clients, MB/s`,
          fmtSummary(m(one), 0),
          fmtSummary(m(two), 0),
          fmtSummary(m(nginx), 0),
          `${ratio(m(one).median, m(nginx).median)} / ${ratio(m(two).median, m(nginx).median)}`,
          ratio(m(two).median, m(one).median),
          `${c(one)} / ${c(two)} / ${c(nginx)}`,
          `${fmt(rssAll(one), 0)} / ${fmt(rssAll(two), 0)}`,
        ]);
      } finally {
        await Promise.all([one.stop(), two.stop(), nginx.stop()]);
      }
    }
    rows.push(await stormRow(ctx, verdicts));
    return report(rows, verdicts, seconds);
  },
};

async function stormRow(ctx: Parameters<Part['run']>[0], verdicts: number[]): Promise<string[]> {
  const dir = tempDir('workers-storm');
  const fx = makeFixture(dir);
  const one = await startRailyard({ dataDir: fx.dataDir });
  const two = await startRailyard({ dataDir: fx.dataDir, workers: 2 });
  try {
    const res = new Map<RunningServer, StormResult[]>([
      [one, []],
      [two, []],
    ]);
    for (let i = 0; i <= ctx.runs; i++) {
      for (const s of i % 2 ? [two, one] : [one, two]) {
        // distinct MAC ranges per run and server: every installer is built cold on both
        const r = await storm(s, RAILYARD_PATH, 100 + i * 2 + (s === two ? 1 : 0));
        if (i > 0) res.get(s)!.push(r);
      }
      ctx.log(`workers: storm run ${i}/${ctx.runs}`);
    }
    const paths = (s: RunningServer) => summarize(res.get(s)!.map((r) => r.paths / r.seconds));
    const p99 = (s: RunningServer) => fmt(summarize(res.get(s)!.map((r) => r.request.p99)).median, 1);
    const errs = (s: RunningServer) => res.get(s)!.reduce((a, r) => a + r.errors, 0);
    const cpu = (s: RunningServer) => fmt(summarize(res.get(s)!.map((r) => r.serverCpuSeconds)).median, 2);
    verdicts.push(paths(two).median / paths(one).median);
    return [
      'storm, full paths/s',
      `${fmtSummary(paths(one), 0)}, p99 ${p99(one)} ms, ${errs(one)} errors`,
      `${fmtSummary(paths(two), 0)}, p99 ${p99(two)} ms, ${errs(two)} errors`,
      '–',
      '–',
      ratio(paths(two).median, paths(one).median),
      `${cpu(one)} / ${cpu(two)} CPU s per run`,
      `${fmt(rssAll(one), 0)} / ${fmt(rssAll(two), 0)}`,
    ];
  } finally {
    await Promise.all([one.stop(), two.stop()]);
  }
}

function report(rows: string[][], verdicts: number[], seconds: number): PartReport {
  const body = [
    'Same data dir for both railyards (one SQLite database in WAL mode, busy_timeout 10 s). ' +
      `Files: wrk as in part 1 (${seconds} s per run), the three servers in rotating order. ` +
      'Storm: part 2’s client and path (1,000 machines, 200 in flight), the two railyards alternating, ' +
      'fresh MACs per run. Peak RSS is summed over every process of a server.',
    '',
    table(
      [
        'case',
        'railyard ×1',
        'railyard ×2 workers',
        'nginx',
        'vs nginx ×1 / ×2',
        '×2 / ×1',
        'server cores ×1 / ×2 / nginx',
        'peak RSS MiB ×1 / ×2',
      ],
      rows,
    ),
  ].join('\n');
  const wins = verdicts.every((v) => v >= 1.1);
  return {
    title: workers.title,
    body,
    goals: [
      goal(
        wins,
        `2 workers ≥ 1.1× one process in every case — ${verdicts.map((v) => `${v.toFixed(2)}×`).join(', ')}`,
      ),
    ],
  };
}
