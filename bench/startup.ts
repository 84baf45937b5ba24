// Part `startup`: `railyard serve` (fresh data dir, no TFTP) from spawn to the first 200 on
// /healthz, and its RSS 5 s and 30 s later (by 30 s V8 has shrunk the heap it grew while
// starting). Reference in the same run: a bare node:http server (Node's own floor). Also
// railyard with mirror.autoRefresh (openpgp loaded for the keyring check; the upstream is a
// refused loopback port), and railyard from its sources through tsx, what bin/railyard.js
// ran before the compiled build. Quick mode (--quick): 3 runs, RSS at 5 s; the warm-up run is
// kept to 30 s for one idle reading per variant (about 3 min).
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI } from '../server/testing/cli.ts';
import { goal, type Part, type PartReport, table } from './lib/context.ts';
import { spawnTracked, stopChild, tempDir } from './lib/procs.ts';
import { freeTcpPort, REPO } from './lib/servers.ts';
import { fmtSummary, ratio, type Summary, summarize } from './lib/stats.ts';

/** When RSS is read, after the first 200. */
const IDLE_MS = [5000, 30_000] as const;

interface Variant {
  name: string;
  argv: (config: string, port: number) => string[];
  autoRefresh?: boolean;
}

const BARE = `require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.argv[1]), '127.0.0.1')`;
const VARIANTS: Variant[] = [
  { name: 'node:http hello (reference)', argv: (_c, port) => ['-e', BARE, String(port)] },
  { name: 'railyard (compiled, bin/railyard.js)', argv: (c) => [CLI, 'serve', '--config', c] },
  {
    name: 'railyard (compiled), mirror.autoRefresh on',
    argv: (c) => [CLI, 'serve', '--config', c],
    autoRefresh: true,
  },
  {
    name: 'railyard from sources (node --import tsx server/cli.ts)',
    argv: (c) => ['--import', 'tsx', join(REPO, 'server/cli.ts'), 'serve', '--config', c],
  },
];

interface Run {
  ms: number;
  /** VmRSS (MiB) at each of IDLE_MS. */
  rss: number[];
}

function vmRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

async function firstOk(child: ChildProcess, url: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode} before answering ${url}`);
    if (
      await fetch(url).then(
        (r) => r.status === 200,
        () => false,
      )
    )
      return;
    if (Date.now() > deadline) throw new Error(`no 200 from ${url} within 30 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function writeConfig(dir: string, port: number, variant: Variant): string {
  const config = join(dir, 'railyard.json');
  writeFileSync(
    config,
    JSON.stringify({
      http: { listen: `127.0.0.1:${port}` },
      publicUrl: `http://127.0.0.1:${port}`,
      dataDir: join(dir, 'data'),
      machinesDir: join(REPO, 'examples'),
      tftp: { enabled: false },
      // fetch refuses port 9: a refresh fails at once, on loopback.
      mirror: { autoRefresh: variant.autoRefresh === true, upstream: 'http://127.0.0.1:9/{channel}/{board}' },
      log: { level: 'warn', format: 'json' },
    }),
  );
  return config;
}

async function once(variant: Variant, idleMs: readonly number[]): Promise<Run> {
  const dir = tempDir('startup');
  const port = await freeTcpPort();
  const config = writeConfig(dir, port, variant);
  const t0 = performance.now();
  // cwd: the checkout, where `--import tsx` resolves.
  const child = spawnTracked(process.execPath, variant.argv(config, port), { cwd: REPO, stdio: 'ignore' });
  try {
    await firstOk(child, `http://127.0.0.1:${port}/healthz`);
    const ms = performance.now() - t0;
    const rss: number[] = [];
    for (const at of idleMs) {
      await new Promise((r) => setTimeout(r, Math.max(0, at - (performance.now() - t0 - ms))));
      rss.push(vmRssMiB(child.pid!));
    }
    return { ms, rss };
  } finally {
    await stopChild(child);
  }
}

interface Result {
  ms: Summary;
  rss: Summary[];
  /** Quick mode: VmRSS of the warm-up run 30 s after its 200 (one sample). */
  warmIdle?: number;
}

interface Plan {
  runs: number;
  idleMs: readonly number[];
  /** Quick mode: RSS of the warm-up run this long after its 200. */
  warmIdleMs?: number;
}

async function measure(ctx: Parameters<Part['run']>[0], plan: Plan, variant: Variant): Promise<Result> {
  ctx.log(`startup: ${variant.name}`);
  // warm-up (page cache, fetch in this process); in quick mode it also gives the idle reading
  const warm = await once(variant, plan.warmIdleMs ? [plan.warmIdleMs] : []);
  const runs: Run[] = [];
  for (let i = 0; i < plan.runs; i++) runs.push(await once(variant, plan.idleMs));
  return {
    ms: summarize(runs.map((r) => r.ms)),
    rss: plan.idleMs.map((_, i) => summarize(runs.map((r) => r.rss[i]!))),
    ...(warm.rss[0] === undefined ? {} : { warmIdle: warm.rss[0] }),
  };
}

export const startup: Part = {
  id: 'startup',
  title: 'Start-up and idle memory',
  async run(ctx): Promise<PartReport> {
    const plan: Plan = ctx.quick
      ? { runs: 3, idleMs: [IDLE_MS[0]], warmIdleMs: IDLE_MS[1] }
      : { runs: ctx.runs, idleMs: IDLE_MS };
    const results: Result[] = [];
    for (const variant of VARIANTS) results.push(await measure(ctx, plan, variant));
    const [ref, compiled, mirror] = results as [Result, Result, Result];
    const rows = VARIANTS.map((v, i) => {
      const r = results[i]!;
      return [
        v.name,
        fmtSummary(r.ms, 0),
        ratio(r.ms.median, ref.ms.median),
        ...r.rss.map((x) => fmtSummary(x, 0)),
        ...(plan.warmIdleMs ? [r.warmIdle === undefined ? '' : r.warmIdle.toFixed(0)] : []),
      ];
    });
    const rss5 = compiled.rss[0] as Summary;
    // Quick mode: the one idle (30 s) reading of the warm-up run.
    const idleOf = (r: Result) => r.warmIdle ?? (r.rss.at(-1) as Summary).median;
    const rssIdle = idleOf(compiled);
    const idleS = (plan.warmIdleMs ?? (plan.idleMs.at(-1) as number)) / 1000;
    const rssCols = plan.idleMs.map((ms, i) =>
      i === plan.idleMs.length - 1 && plan.idleMs.length > 1
        ? `RSS at ${ms / 1000} s (idle), MiB`
        : `RSS at ${ms / 1000} s, MiB`,
    );
    if (plan.warmIdleMs) rssCols.push(`RSS at ${plan.warmIdleMs / 1000} s (idle), warm-up run, MiB`);
    return {
      title: this.title,
      body: [
        'Each run: a fresh process and data dir (so the state database is created), spawn → first 200 on ' +
          `\`/healthz\` (polled every 5 ms), then VmRSS ${plan.idleMs.map((ms) => `${ms / 1000} s`).join(' and ')} ` +
          `after that 200, idle. ${plan.runs} runs after one warm-up` +
          (plan.warmIdleMs ? ` (read once more ${plan.warmIdleMs / 1000} s after its 200)` : '') +
          '. Command: ' +
          `\`npm run bench -- ${ctx.quick ? '--quick ' : ''}--only startup\`.`,
        '',
        table(['server', 'start → first 200, ms', '× reference', ...rssCols], rows),
      ].join('\n'),
      goals: [
        goal(compiled.ms.median <= 1000, `start → first 200 ≤ 1 s: ${compiled.ms.median.toFixed(0)} ms`),
        goal(
          rssIdle <= 80,
          `idle RSS ≤ 80 MiB: ${rssIdle.toFixed(0)} MiB at ${idleS} s idle (${rss5.median.toFixed(0)} MiB ` +
            `at 5 s); with mirror.autoRefresh ${idleOf(mirror).toFixed(0)} MiB`,
        ),
      ],
    };
  },
};
