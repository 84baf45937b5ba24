// node --import tsx bench/dashboard-polling.ts [--seconds 10] [--runs 3] [--machines 10000]
// Does dashboard polling starve /ipxe? railyard serve (child process) over a state.db with
// 10,000 machines; wrk drives /ipxe (8 keep-alive connections, provisioned MACs, iPXE
// user agent) alone (the reference), then while the dashboard is polled: 50 browsers at
// the page script's 2 s interval across the first pages, and a worst case of 16 connections
// requesting /ui/live as fast as they can. Prints /ipxe p50/p99 and the ratios as markdown.
// Not a test: it reports, it asserts nothing. Run under flock /tmp/railyard-heavy.lock.
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openStateStore } from '../server/store/open.ts';
import { seedFleet } from '../server/ui/fixtures/seed.ts';
import { makeFixture } from './lib/fixture.ts';
import { loadAverage, machineInfo } from './lib/machine.ts';
import { cleanupAll, installCleanupHandlers, removeTempDir, runOk, tempDir } from './lib/procs.ts';
import { startRailyard } from './lib/servers.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    machines: { type: 'string', default: '10000' },
  },
});
const SECONDS = Number(values.seconds);
const RUNS = Number(values.runs);
const MACHINES = Number(values.machines);

const latencyLua = (paths: string[], headers: Record<string, string>) => `
local paths = { ${paths.map((p) => `"${p}"`).join(', ')} }
local i = 0
${Object.entries(headers)
  .map(([k, v]) => `wrk.headers["${k}"] = "${v}"`)
  .join('\n')}
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  io.write(string.format("BENCH %d %d %.1f %.1f %d\\n", summary.requests, summary.duration,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status))
end
`;

interface Run {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  badStatus: number;
}

async function wrk(dir: string, name: string, base: string, lua: string, conns: number): Promise<Run> {
  const script = join(dir, `${name}.lua`);
  writeFileSync(script, lua);
  const out = await runOk('wrk', ['-t1', `-c${conns}`, `-d${SECONDS}s`, '-s', script, base]);
  const m = /^BENCH (\d+) (\d+) ([\d.]+) ([\d.]+) (\d+)$/m.exec(out);
  if (!m) throw new Error(`wrk printed no summary:\n${out}`);
  return {
    requests: Number(m[1]),
    rps: Number(m[1]) / (Number(m[2]) / 1e6),
    p50: Number(m[3]),
    p99: Number(m[4]),
    badStatus: Number(m[5]),
  };
}

/** `browsers` clients, each GET /ui/live?page=N every 2 s (as the page script does). */
function pollLikeBrowsers(base: string, cookie: string, browsers: number, pages: number) {
  let stop = false;
  let done = 0;
  let failed = 0;
  const one = (page: number) =>
    new Promise<void>((resolve) => {
      const req = request(`${base}/ui/live?page=${page}`, { headers: { cookie } }, (res) => {
        if (res.statusCode !== 200) failed++;
        res.resume();
        res.on('end', () => {
          done++;
          resolve();
        });
      });
      req.on('error', () => {
        failed++;
        resolve();
      });
      req.end();
    });
  const loops = Array.from({ length: browsers }, async (_, b) => {
    await new Promise((r) => setTimeout(r, (2000 * b) / browsers));
    while (!stop) {
      const t0 = Date.now();
      await one((b % pages) + 1);
      await new Promise((r) => setTimeout(r, Math.max(0, 2000 - (Date.now() - t0))));
    }
  });
  return {
    stop: async () => {
      stop = true;
      await Promise.all(loops);
      return { done, failed };
    },
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

installCleanupHandlers();
const dir = tempDir('dashboard-polling');
try {
  const fixture = makeFixture(dir);
  const store = await openStateStore({ driver: 'sqlite', path: join(fixture.dataDir, 'state.db') });
  const t0 = Date.now();
  await seedFleet(store, MACHINES, Date.now());
  await store.close();
  process.stderr.write(`seeded ${MACHINES} machines in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  const server = await startRailyard({ dataDir: fixture.dataDir });
  const token = readFileSync(join(fixture.dataDir, 'admin-token'), 'utf8').trim();
  const login = await fetch(`${server.url}/ui/login`, {
    method: 'POST',
    body: new URLSearchParams({ token }),
    redirect: 'manual',
  });
  const cookie = /railyard_session=[^;]+/.exec(login.headers.get('set-cookie') ?? '')?.[0] ?? '';
  if (!cookie) throw new Error(`sign-in failed: ${login.status}`);
  const macs = Array.from({ length: 1000 }, (_, i) => {
    const n = i * 7;
    return `02-00-00-00-${((n >> 8) & 0xff).toString(16).padStart(2, '0')}-${(n & 0xff).toString(16).padStart(2, '0')}`;
  });
  const ipxeLua = latencyLua(
    macs.map((m) => `/ipxe?mac=${m}&arch=x86_64&platform=pcbios`),
    { 'User-Agent': 'iPXE/1.21.1' },
  );
  const pages = Math.ceil(MACHINES / 100);
  const pollLua = latencyLua(
    Array.from({ length: pages }, (_, i) => `/ui/live?page=${i + 1}`),
    { Cookie: cookie },
  );
  const alone: Run[] = [];
  const browsers: Run[] = [];
  const flood: Run[] = [];
  const floodPolls: Run[] = [];
  const browserPolls: string[] = [];
  for (let r = 0; r < RUNS; r++) {
    alone.push(await wrk(dir, 'ipxe', server.url, ipxeLua, 8));
    const poller = pollLikeBrowsers(server.url, cookie, 50, Math.min(pages, 10));
    browsers.push(await wrk(dir, 'ipxe', server.url, ipxeLua, 8));
    const polled = await poller.stop();
    browserPolls.push(`${polled.done} polls, ${polled.failed} failed`);
    const [ipxe, polls] = await Promise.all([
      wrk(dir, 'ipxe', server.url, ipxeLua, 8),
      wrk(dir, 'poll', server.url, pollLua, 16),
    ]);
    flood.push(ipxe);
    floodPolls.push(polls);
  }
  const row = (label: string, runs: Run[]) => {
    const p99 = median(runs.map((x) => x.p99));
    return `| ${label} | ${median(runs.map((x) => x.p50)).toFixed(1)} | ${p99.toFixed(1)} | ${(p99 / median(alone.map((x) => x.p99))).toFixed(2)}× | ${median(runs.map((x) => x.rps)).toFixed(0)} | ${runs.reduce((a, x) => a + x.badStatus, 0)} |`;
  };
  const m = machineInfo();
  const out = [
    `## Dashboard polling vs /ipxe (${MACHINES.toLocaleString('en')} machines)`,
    '',
    `${new Date().toISOString()}, ${JSON.stringify(m)}, load average at start ${loadAverage()}.`,
    `Command: \`flock /tmp/railyard-heavy.lock node --import tsx bench/dashboard-polling.ts --seconds ${SECONDS} --runs ${RUNS}\`.`,
    `wrk, 8 keep-alive connections to /ipxe (1,000 provisioned MACs, iPXE user agent), ${SECONDS} s per run, median of ${RUNS} runs; ratios against /ipxe alone in the same invocation.`,
    '',
    '| /ipxe while… | p50 ms | p99 ms | p99 ratio | /ipxe req/s | non-2xx |',
    '| --- | --- | --- | --- | --- | --- |',
    row('nothing else (reference)', alone),
    row('50 browsers poll /ui/live every 2 s', browsers),
    row('16 connections poll /ui/live flat out', flood),
    '',
    `Polls answered: browsers ${browserPolls.join('; ')}; flat out ${median(floodPolls.map((x) => x.rps)).toFixed(0)} req/s (p99 ${median(floodPolls.map((x) => x.p99)).toFixed(1)} ms), non-2xx ${floodPolls.reduce((a, x) => a + x.badStatus, 0)}.`,
    '',
  ].join('\n');
  process.stdout.write(out);
  await server.stop();
} finally {
  await cleanupAll();
  removeTempDir(dir);
}
