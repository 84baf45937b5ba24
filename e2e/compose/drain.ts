// `docker stop` of a railyard container while two downloads are in flight (rate-limited
// curl on the host): the short one must complete, the long one is cut at http.drainTimeout,
// new connections are refused meanwhile, and railyard exits 0 on its own before Docker's
// SIGKILL (docker stop's default grace is 10 s).
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import type { Engine } from './engine.ts';
import { waitFor } from './host.ts';

export const RATE = 2 * 1024 * 1024; // bytes/s per download

export interface DrainResult {
  stopSeconds: number;
  exitCode: number;
  short: { code: number | null; bytes: number };
  long: { code: number | null; bytes: number };
  refusedDuringDrain: boolean;
}

function download(url: string, out: string): Promise<{ code: number | null; bytes: number }> {
  // --max-time: a connection to a container that was killed (its netns gone) never ends
  const args = ['-sS', '--max-time', '120', '--limit-rate', String(RATE), '-o', out, url];
  const child = spawn('curl', args, { stdio: 'ignore' });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, bytes: sizeOf(out) })));
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

export async function stopDuringDownloads(
  engine: Engine,
  id: string,
  ip: string,
  files: { short: string; long: string; dir: string },
): Promise<DrainResult> {
  const outShort = `${files.dir}/short.out`;
  const outLong = `${files.dir}/long.out`;
  const short = download(`http://${ip}:8080/assets/${files.short}`, outShort);
  const long = download(`http://${ip}:8080/assets/${files.long}`, outLong);
  // both in flight: each has received its first MiB
  await waitFor('both downloads to be under way', 30, async () =>
    [outShort, outLong].every((f) => sizeOf(f) >= 1024 * 1024),
  );
  const t0 = Date.now();
  const stopped = engine.docker(['stop', id]);
  await new Promise((r) => setTimeout(r, 1000));
  const refusedDuringDrain = await fetch(`http://${ip}:8080/healthz`, {
    signal: AbortSignal.timeout(2000),
  }).then(
    () => false,
    () => true,
  );
  await stopped;
  const stopSeconds = (Date.now() - t0) / 1000;
  const exitCode = Number((await engine.docker(['inspect', '--format', '{{.State.ExitCode}}', id])).trim());
  return { stopSeconds, exitCode, short: await short, long: await long, refusedDuringDrain };
}
