// Test-only: a throwaway PostgreSQL cluster (Debian's postgresql-15) started by the tests
// themselves. initdb runs as `nobody` when we are root (PostgreSQL refuses to run as root)
// into a fresh temp dir (the checkout is never touched, so a private 0700 checkout does not
// matter); the server listens on 127.0.0.1 on a free port (password auth, SCRAM) and on a
// Unix socket in that dir. It is stopped by PID: `stop()`, and on process exit (also after
// a failed test) by an exit hook; `--pdeathsig` ends it if the test process is killed.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './spawn-railyard.ts';
import { isRoot } from './unprivileged.ts';

const run = promisify(execFile);
const BIN = process.env['RAILYARD_PG_BIN'] ?? newestInstalled();
export const PG_USER = 'railyard';
export const PG_PASSWORD = 'pg-test-pass-8c1f';

/** Whether the PostgreSQL binaries are installed (CI installs `postgresql`). */
export const havePostgres = existsSync(join(BIN, 'postgres'));

export interface PgCluster {
  /** A postgres:// URL for `database` (default `railyard`) with the password in it. */
  url(database?: string): string;
  port: number;
  /** The postmaster's PID while it runs. */
  readonly pid: number | undefined;
  /** The temp dir holding the cluster (removed by stop()). */
  dir: string;
  /** Stop (fast shutdown) keeping the data: `start()` brings it back on the same port. */
  halt(): Promise<void>;
  start(): Promise<void>;
  /** Stop and delete everything. */
  stop(): Promise<void>;
}

/** Debian's /usr/lib/postgresql/<major>/bin, the newest major installed (15 on bookworm). */
function newestInstalled(): string {
  let majors: number[] = [];
  try {
    majors = readdirSync('/usr/lib/postgresql').map(Number).filter(Number.isInteger);
  } catch {
    // not installed: havePostgres is false
  }
  return `/usr/lib/postgresql/${Math.max(15, ...majors)}/bin`;
}

const alive = new Map<ChildProcess, string>();
process.on('exit', () => {
  for (const [child, dir] of alive) {
    try {
      if (child.pid) process.kill(child.pid, 'SIGQUIT');
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort: exiting anyway (the test that started it removes what is left)
    }
  }
});

/** `argv` as `nobody` when root (setpriv), else as ourselves. */
function asOwner(argv: string[]): string[] {
  if (!isRoot) return argv;
  return ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--pdeathsig=SIGQUIT', ...argv];
}

export async function startPostgres(options: { maxConnections?: number } = {}): Promise<PgCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'railyard-pg-'));
  const data = join(dir, 'data');
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, `${PG_PASSWORD}\n`, { mode: 0o600 });
  if (isRoot) {
    chownSync(dir, 65534, 65534);
    chownSync(pwfile, 65534, 65534);
  }
  const initdb = asOwner([
    join(BIN, 'initdb'),
    ...['-D', data, '-U', PG_USER, '--pwfile', pwfile, '--auth=scram-sha-256', '-E', 'UTF8'],
    ...['--no-sync', '--no-instructions', '--locale=C.UTF-8'],
  ]);
  await run(initdb[0] as string, initdb.slice(1), { cwd: dir }).catch((err: Error & { stderr?: string }) => {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${err.message}\n${err.stderr ?? ''}`);
  });
  const port = await freePort();
  let child: ChildProcess | undefined;
  const settings = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: dir,
    max_connections: String(options.maxConnections ?? 200),
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    shared_buffers: '32MB',
    log_min_messages: 'fatal',
  };
  const start = async () => {
    const argv = asOwner([
      join(BIN, 'postgres'),
      ...['-D', data, '-p', String(port)],
      ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    ]);
    const proc = spawn(argv[0] as string, argv.slice(1), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    alive.set(proc, dir);
    let log = '';
    const onData = (d: Buffer) => {
      log = (log + d.toString()).slice(-20_000);
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.on('exit', () => alive.delete(proc));
    await waitReady(port, proc, () => log);
  };
  const halt = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGINT'); // fast shutdown: disconnects clients, keeps the data
    await exited;
  };
  await start();
  await createDatabase(`postgres://${PG_USER}:${PG_PASSWORD}@127.0.0.1:${port}/postgres`, 'railyard');
  return {
    url: (database = 'railyard') =>
      `postgres://${PG_USER}:${PG_PASSWORD}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    port,
    dir,
    get pid() {
      return child?.pid;
    },
    halt,
    start,
    stop: async () => {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** CREATE DATABASE `name` over the admin URL (any database of the cluster). */
export async function createDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}

async function waitReady(port: number, proc: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null)
      throw new Error(`postgres exited (${proc.exitCode ?? proc.signalCode}):\n${log()}`);
    const ok = await run(join(BIN, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-q']).then(
      () => true,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) {
      proc.kill('SIGQUIT');
      throw new Error(`postgres did not become ready in 60 s:\n${log()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
