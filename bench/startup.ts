// Part `startup`: `railyard serve` (fresh data dir, no TFTP, no mirror refresh) from spawn to
// the first 200 on /healthz, and its idle RSS 5 s later. Reference in the same run: a bare
// node:http server (Node's own floor). Also railyard from its sources through tsx, what
// bin/railyard.js ran before the compiled build.
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI } from '../server/testing/cli.ts';
import { goal, type Part, type PartReport, table } from './lib/context.ts';
import { spawnTracked, stopChild, tempDir } from './lib/procs.ts';
import { freeTcpPort, REPO } from './lib/servers.ts';
import { fmtSummary, ratio, type Summary, summarize } from './lib/stats.ts';

const IDLE_MS = 5000;

interface Variant {
  name: string;
  argv: (config: string, port: number) => string[];
}

const BARE = `require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.argv[1]), '127.0.0.1')`;
const VARIANTS: Variant[] = [
  { name: 'node:http hello (reference)', argv: (_c, port) => ['-e', BARE, String(port)] },
  { name: 'railyard (compiled, bin/railyard.js)', argv: (c) => [CLI, 'serve', '--config', c] },
  {
    name: 'railyard from sources (node --import tsx server/cli.ts)',
    argv: (c) => ['--import', 'tsx', join(REPO, 'server/cli.ts'), 'serve', '--config', c],
  },
];

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

async function once(variant: Variant): Promise<{ ms: number; rss: number }> {
  const dir = tempDir('startup');
  const port = await freeTcpPort();
  const config = join(dir, 'railyard.json');
  writeFileSync(
    config,
    JSON.stringify({
      http: { listen: `127.0.0.1:${port}` },
      publicUrl: `http://127.0.0.1:${port}`,
      dataDir: join(dir, 'data'),
      machinesDir: join(REPO, 'examples'),
      tftp: { enabled: false },
      mirror: { autoRefresh: false },
      log: { level: 'warn', format: 'json' },
    }),
  );
  const t0 = performance.now();
  // cwd: the checkout, where `--import tsx` resolves.
  const child = spawnTracked(process.execPath, variant.argv(config, port), { cwd: REPO, stdio: 'ignore' });
  try {
    await firstOk(child, `http://127.0.0.1:${port}/healthz`);
    const ms = performance.now() - t0;
    await new Promise((r) => setTimeout(r, IDLE_MS));
    return { ms, rss: vmRssMiB(child.pid!) };
  } finally {
    await stopChild(child);
  }
}

export const startup: Part = {
  id: 'startup',
  title: 'Start-up and idle memory',
  async run(ctx): Promise<PartReport> {
    const results: { ms: Summary; rss: Summary }[] = [];
    for (const variant of VARIANTS) {
      ctx.log(`startup: ${variant.name}`);
      await once(variant); // warm-up (page cache, fetch in this process)
      const runs: { ms: number; rss: number }[] = [];
      for (let i = 0; i < ctx.runs; i++) runs.push(await once(variant));
      results.push({ ms: summarize(runs.map((r) => r.ms)), rss: summarize(runs.map((r) => r.rss)) });
    }
    const [ref, compiled] = results as [(typeof results)[0], (typeof results)[0]];
    const rows = VARIANTS.map((v, i) => {
      const r = results[i]!;
      return [v.name, fmtSummary(r.ms, 0), ratio(r.ms.median, ref.ms.median), fmtSummary(r.rss, 0)];
    });
    return {
      title: this.title,
      body: [
        `Each run: a fresh process and data dir (so the state database is created), spawn → first 200 on ` +
          `\`/healthz\` (polled every 5 ms), then VmRSS after ${IDLE_MS / 1000} s idle. ${ctx.runs} runs ` +
          'after one warm-up. Command: `npm run bench -- --only startup`.',
        '',
        table(
          ['server', 'start → first 200, ms', '× reference', `idle RSS after ${IDLE_MS / 1000} s, MiB`],
          rows,
        ),
      ].join('\n'),
      goals: [
        goal(compiled.ms.median <= 1000, `start → first 200 ≤ 1 s: ${compiled.ms.median.toFixed(0)} ms`),
        goal(compiled.rss.median <= 80, `idle RSS ≤ 80 MiB: ${compiled.rss.median.toFixed(0)} MiB`),
      ],
    };
  },
};
