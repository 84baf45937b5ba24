// One wrk run under /usr/bin/time: aggregate bytes/s, requests, errors, client CPU.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOk } from './procs.ts';

const DONE_LUA = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d\\n", summary.bytes, summary.duration, summary.requests,
    e.connect + e.read + e.write + e.timeout, e.status))
end
`;

export interface WrkResult {
  bytes: number;
  seconds: number;
  requests: number;
  /** Socket errors and timeouts. */
  errors: number;
  /** Non-2xx/3xx answers. */
  badStatus: number;
  clientCpuSeconds: number;
  clientMaxRssMiB: number;
}

export async function wrk(
  dir: string,
  url: string,
  connections: number,
  seconds: number,
): Promise<WrkResult> {
  const script = join(dir, 'wrk-done.lua');
  const timeFile = join(dir, 'wrk-time.txt');
  writeFileSync(script, DONE_LUA);
  const threads = Math.min(2, connections);
  const out = await runOk('/usr/bin/time', [
    '-f',
    '%U %S %M',
    '-o',
    timeFile,
    'wrk',
    `-t${threads}`,
    `-c${connections}`,
    `-d${seconds}s`,
    '--timeout',
    '120s',
    '-s',
    script,
    url,
  ]);
  const line = /^BENCH (\d+) (\d+) (\d+) (\d+) (\d+)$/m.exec(out);
  if (!line) throw new Error(`wrk printed no summary:\n${out}`);
  const [u, s, rssKb] = readFileSync(timeFile, 'utf8').trim().split(/\s+/).map(Number);
  return {
    bytes: Number(line[1]),
    seconds: Number(line[2]) / 1e6,
    requests: Number(line[3]),
    errors: Number(line[4]),
    badStatus: Number(line[5]),
    clientCpuSeconds: (u ?? 0) + (s ?? 0),
    clientMaxRssMiB: (rssKb ?? 0) / 1024,
  };
}
