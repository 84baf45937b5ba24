// Run one derivation job in the worker process (derive-worker.ts) at low CPU and I/O priority:
// `ionice -c 3 nice -n 19 node derive-worker.js` (without ionice when it is not installed). From
// the compiled build (dist/, what users run) the worker is the compiled sibling and runs without
// a loader; from the sources (tests, development under tsx) it is `--import tsx derive-worker.ts`.
// The job goes in on stdin, the result comes back as one JSON line on stdout. An abort signal
// kills the worker's process group (its lbzip2 and zstd too).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { PassResult, RoundTripResult, WorkerJob } from './derive-pass.ts';

/** True when this module is the compiled build's (dist/server/mirror/derive-spawn.js). */
const COMPILED = import.meta.url.endsWith('.js');
const WORKER = fileURLToPath(
  new URL(COMPILED ? './derive-worker.js' : './derive-worker.ts', import.meta.url),
);

/** Node options the worker needs: none compiled; the tsx loader (resolved from here) otherwise. */
export function workerArgv(): string[] {
  if (COMPILED) return [WORKER];
  return ['--import', createRequire(import.meta.url).resolve('tsx'), WORKER];
}

export interface WorkerOptions {
  /** nice value for the worker and its children (default 19, the lowest priority). */
  niceness?: number;
  signal?: AbortSignal | undefined;
  /** Called with the worker's PID once it runs (tests kill it mid-way). */
  onStart?: (pid: number) => void;
}

export interface WorkerOutcome<R> {
  result: R;
  cpuSeconds: number;
}

type ResultOf<J extends WorkerJob> = J extends { kind: 'pass' } ? PassResult : RoundTripResult;

export async function runWorker<J extends WorkerJob>(
  job: J,
  options: WorkerOptions = {},
): Promise<WorkerOutcome<ResultOf<J>>> {
  const node = ['nice', '-n', String(options.niceness ?? 19), process.execPath, ...workerArgv()];
  try {
    return await attempt(['ionice', '-c', '3', ...node], job, options);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return await attempt(node, job, options);
  }
}

function attempt<R>(argv: string[], job: WorkerJob, o: WorkerOptions): Promise<WorkerOutcome<R>> {
  return new Promise((resolve, reject) => {
    o.signal?.throwIfAborted();
    const proc = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    proc.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 8192) stderr += d.toString();
    });
    const kill = () => {
      try {
        if (proc.pid) process.kill(-proc.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    o.signal?.addEventListener('abort', kill, { once: true });
    proc.once('spawn', () => proc.pid && o.onStart?.(proc.pid));
    proc.once('error', reject);
    proc.once('close', (code, signal) => {
      o.signal?.removeEventListener('abort', kill);
      const line = stdout.trim().split('\n').at(-1) ?? '';
      let parsed: { ok?: boolean; result?: R; cpuSeconds?: number; error?: string } = {};
      try {
        parsed = JSON.parse(line) as typeof parsed;
      } catch {
        // no result line: killed or crashed
      }
      if (code === 0 && parsed.ok && parsed.result) {
        resolve({ result: parsed.result, cpuSeconds: parsed.cpuSeconds ?? 0 });
        return;
      }
      if (o.signal?.aborted) return reject(o.signal.reason);
      const why = parsed.error ?? (stderr.trim().split('\n').at(-1) || `exited ${signal ?? code}`);
      reject(new Error(`image derivation worker: ${why}`));
    });
    proc.stdin.on('error', () => undefined); // a worker that died early: its exit says why
    proc.stdin.end(JSON.stringify(job));
  });
}
