// Part 2b: the boot storm (part 2's client and path) with the state in SQLite (the
// reference, same invocation), in PostgreSQL behind one railyard, and in PostgreSQL behind
// two railyard instances sharing the machines (each instance gets half, at the same time).
// PostgreSQL is a throwaway local cluster (server/testing/postgres.ts, fsync off like any
// test cluster: this measures railyard's queries, not a disk). Database time per machine:
// pg_stat_database.active_time over the run / machines.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { type PgCluster, startPostgres } from '../server/testing/postgres.ts';
import { goal, type Part, type PartReport, table } from './lib/context.ts';
import { makeFixture } from './lib/fixture.ts';
import { cpuSeconds, processTree, runOk, tempDir } from './lib/procs.ts';
import { REPO, type RunningServer, startRailyard } from './lib/servers.ts';
import { fmtSummary, ratio, summarize } from './lib/stats.ts';

const MACHINES = 1000;
const INFLIGHT = 200;
const PATH = ['/boot.ipxe', '/ipxe?mac={mac}&platform=pcbios&arch=x86_64', '/installer/{mac}.cpio.gz'];

interface ClientResult {
  seconds: number;
  paths: number;
  errors: number;
  request: { p99: number };
  path: { p99: number };
  clientCpuSeconds: number;
}

interface Row {
  pathsPerSec: number;
  p99: number;
  pathP99: number;
  errors: number;
  railyardCpu: number;
  dbCpu: number;
  dbMsPerMachine: number | undefined;
}

type Setup = 'sqlite' | 'postgres ×1' | 'postgres ×2';

export const pgStorm: Part = {
  id: 'pgstorm',
  title: '2b. Boot storm: SQLite, PostgreSQL × 1 and × 2 instances (1,000 machines, 200 in flight)',
  async run(ctx) {
    const dir = tempDir('pgstorm');
    const cluster = await startPostgres();
    const started: RunningServer[] = [];
    try {
      const fixture = (name: string) => {
        const d = join(dir, name);
        mkdirSync(d, { recursive: true });
        return makeFixture(d).dataDir;
      };
      const state = { driver: 'postgres', url: cluster.url(), poolSize: 20 };
      const sqlite = await startRailyard({ dataDir: fixture('sqlite') });
      const one = await startRailyard({ dataDir: fixture('pg1'), config: { state } });
      const two = [one, await startRailyard({ dataDir: fixture('pg2'), config: { state } })];
      started.push(sqlite, ...two);
      const setups: [Setup, RunningServer[]][] = [
        ['sqlite', [sqlite]],
        ['postgres ×1', [one]],
        ['postgres ×2', two],
      ];
      const rows = new Map<Setup, Row[]>(setups.map(([s]) => [s, []]));
      for (let i = 0; i <= ctx.runs; i++) {
        const order = i % 2 ? [...setups].reverse() : setups;
        for (const [name, servers] of order) {
          const r = await storm(servers, cluster, name === 'sqlite' ? undefined : cluster, i, name);
          if (i > 0) rows.get(name)?.push(r);
        }
        ctx.log(`pg storm run ${i}/${ctx.runs}`);
      }
      return report(rows);
    } finally {
      await Promise.all(started.map((s) => s.stop()));
      await cluster.stop();
    }
  },
};

async function activeMs(cluster: PgCluster): Promise<number> {
  const client = new pg.Client({ connectionString: cluster.url() });
  await client.connect();
  try {
    await client.query('SELECT pg_stat_force_next_flush()');
    const { rows } = await client.query<{ ms: number }>(
      "SELECT active_time AS ms FROM pg_stat_database WHERE datname = 'railyard'",
    );
    return Number(rows[0]?.ms ?? Number.NaN);
  } finally {
    await client.end();
  }
}

async function storm(
  servers: RunningServer[],
  cluster: PgCluster,
  db: PgCluster | undefined,
  run: number,
  name: Setup,
): Promise<Row> {
  const pids = () => servers.flatMap((s) => s.pids());
  const dbPids = () => (cluster.pid ? processTree(cluster.pid) : []);
  const cpu0 = cpuSeconds(pids());
  const db0 = cpuSeconds(dbPids());
  const active0 = db ? await activeMs(db) : 0;
  const base = { sqlite: 0, 'postgres ×1': 64, 'postgres ×2': 128 }[name];
  const share = MACHINES / servers.length;
  const results = await Promise.all(
    servers.map((s, k) =>
      runOk(
        process.execPath,
        [
          '--import',
          'tsx',
          join(REPO, 'bench/storm-client.ts'),
          s.url.slice(7),
          String(share),
          String(INFLIGHT / servers.length),
          String(base + run * servers.length + k),
          ...PATH,
        ],
        { cwd: REPO },
      ).then((out) => JSON.parse(out) as ClientResult),
    ),
  );
  await new Promise((r) => setTimeout(r, 1200)); // backends report their stats when idle
  const active = db ? (await activeMs(db)) - active0 : undefined;
  const seconds = Math.max(...results.map((r) => r.seconds));
  return {
    pathsPerSec: results.reduce((a, r) => a + r.paths, 0) / seconds,
    p99: Math.max(...results.map((r) => r.request.p99)),
    pathP99: Math.max(...results.map((r) => r.path.p99)),
    errors: results.reduce((a, r) => a + r.errors, 0),
    railyardCpu: cpuSeconds(pids()) - cpu0,
    dbCpu: cpuSeconds(dbPids()) - db0,
    dbMsPerMachine: active === undefined ? undefined : active / MACHINES,
  };
}

function report(rows: Map<Setup, Row[]>): PartReport {
  const med = (s: Setup, f: (r: Row) => number) => summarize((rows.get(s) ?? []).map(f)).median;
  const cell = (xs: Row[], f: (r: Row) => number, d: number) => fmtSummary(summarize(xs.map(f)), d);
  const lines = [...rows].map(([name, xs]) => [
    name,
    cell(xs, (r) => r.pathsPerSec, 0),
    cell(xs, (r) => r.p99, 1),
    cell(xs, (r) => r.pathP99, 1),
    String(xs.reduce((a, r) => a + r.errors, 0)),
    cell(xs, (r) => r.railyardCpu, 2),
    name === 'sqlite' ? 'in railyard' : cell(xs, (r) => r.dbCpu, 2),
    name === 'sqlite' ? 'in railyard' : cell(xs, (r) => r.dbMsPerMachine ?? Number.NaN, 2),
  ]);
  const sqlite = med('sqlite', (r) => r.pathsPerSec);
  const body = [
    `Each run: ${MACHINES} machines (distinct MACs per run and setup, so every decision opens a new ` +
      `install attempt and every installer is built cold), ${INFLIGHT} in flight in total, part 2's client ` +
      'and path (`/boot.ipxe`, `/ipxe`, `/installer/<mac>.cpio.gz`). × 2: two railyard processes on the ' +
      'same database, each driven by its own client with half the machines and half the concurrency, ' +
      'at once. PostgreSQL 15 runs on the same machine (fsync off); "DB CPU s" is the postmaster and ' +
      'its backends; "DB ms/machine" is pg_stat_database.active_time over the run divided by the ' +
      'machines. Latencies in ms (the larger of the two clients for × 2); CPU in seconds per run.',
    '',
    table(
      ['state', 'full paths/s', 'p99', 'path p99', 'errors', 'railyard CPU s', 'DB CPU s', 'DB ms/machine'],
      lines,
    ),
    '',
    `Ratios against SQLite, full paths/s: PostgreSQL × 1 ${ratio(
      med('postgres ×1', (r) => r.pathsPerSec),
      sqlite,
    )}, ` +
      `× 2 ${ratio(
        med('postgres ×2', (r) => r.pathsPerSec),
        sqlite,
      )}.`,
  ].join('\n');
  const errors = [...rows.values()].flat().reduce((a, r) => a + r.errors, 0);
  return {
    title: pgStorm.title,
    body,
    goals: [goal(errors === 0, `0 errors in every setup — ${errors}`)],
  };
}
