// Entry point of the derivation worker, a separate low-priority process (spawned by
// derive-spawn.ts under `nice`/`ionice`): reads one job as JSON on stdin, runs it, prints one
// JSON line on stdout ({ok, result, cpuSeconds} or {ok: false, error}). Keeping the pass out
// of the server process keeps its CPU at low priority and its hashing off the event loop; a
// crash or kill of this process leaves only a `.part` file, never a published one.
import { readFileSync } from 'node:fs';
import { runPass, runRoundTrip, type WorkerJob } from './derive-pass.ts';

/** CPU seconds of this process and its reaped children (utime, stime, cutime, cstime). */
function cpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  return ((f[11] ?? 0) + (f[12] ?? 0) + (f[13] ?? 0) + (f[14] ?? 0)) / 100;
}

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const job = JSON.parse(Buffer.concat(chunks).toString('utf8')) as WorkerJob;
  const result = job.kind === 'pass' ? await runPass(job) : await runRoundTrip(job);
  process.stdout.write(`${JSON.stringify({ ok: true, result, cpuSeconds: cpuSeconds() })}\n`);
}

main().catch((err: unknown) => {
  process.stdout.write(
    `${JSON.stringify({ ok: false, error: err instanceof Error ? err.message : String(err) })}\n`,
  );
  process.exitCode = 1;
});
