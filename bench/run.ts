// npm run bench [-- --quick] [--only throughput,storm,pgstorm,tftp,install,mirror,installer,startup,workers] [--runs N] [--out FILE]
// Runs each part against railyard and its reference in the same run and writes BENCHMARKS.md
// (quick mode: bench/out/BENCHMARKS.quick.md). Not a test: it reports, it asserts nothing.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { bootStorm } from './boot-storm.ts';
import { httpThroughput } from './http-throughput.ts';
import { installPipeline } from './install-pipeline.ts';
import { installerRun } from './installer-run.ts';
import type { BenchContext, Part, PartReport } from './lib/context.ts';
import { loadAverage, machineInfo } from './lib/machine.ts';
import { cleanupAll, installCleanupHandlers, run } from './lib/procs.ts';
import { REPO } from './lib/servers.ts';
import { mirrorRefresh } from './mirror-refresh.ts';
import { pgStorm } from './pg-storm.ts';
import { renderReport } from './report.ts';
import { startup } from './startup.ts';
import { tftpBench } from './tftp.ts';
import { workers } from './workers.ts';

const PARTS: Part[] = [
  httpThroughput,
  bootStorm,
  pgStorm,
  tftpBench,
  installPipeline,
  mirrorRefresh,
  installerRun,
  startup,
  workers,
];

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    runs: { type: 'string', default: '5' },
    out: { type: 'string' },
  },
});
// `npm run bench --quick` (without `--`) reaches us as npm_config_quick.
const quick = values.quick === true || process.env['npm_config_quick'] === 'true';
const only = values.only?.split(',');
const out =
  values.out ?? (quick || only ? join(REPO, 'bench/out/BENCHMARKS.quick.md') : join(REPO, 'BENCHMARKS.md'));

installCleanupHandlers();
const started = Date.now();
const ctx: BenchContext = {
  quick,
  runs: Math.max(5, Number(values.runs)),
  log: (msg) =>
    process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`),
};
const machine = machineInfo();
const loadStart = loadAverage();
const reports: PartReport[] = [];
// The workers experiment runs only when named (--only workers).
for (const part of PARTS.filter((p) => (only ? only.includes(p.id) : p.id !== 'workers'))) {
  ctx.log(`${part.title}…`);
  const partStart = Date.now();
  const report = await part.run(ctx);
  report.title += ` — ${((Date.now() - partStart) / 1000).toFixed(0)} s`;
  reports.push(report);
  await cleanupAll(); // nothing of one part leaks into the next
}
const findings = join(REPO, 'bench/findings.md');
const markdown = renderReport({
  findings: existsSync(findings) ? readFileSync(findings, 'utf8') : undefined,
  machine,
  quick,
  date: new Date(started).toISOString(),
  seconds: (Date.now() - started) / 1000,
  loadStart,
  loadEnd: loadAverage(),
  reports,
});
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, markdown);
// Same layout as `npm run lint` wants (Biome formats Markdown tables); bench/out is not linted.
await run(join(REPO, 'node_modules/.bin/biome'), ['format', '--write', out]);
ctx.log(`wrote ${out}`);
await cleanupAll();
