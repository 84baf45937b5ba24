// A railyard instance for one E2E suite: its own data dir and machines dir, the stand-in
// release mirrored with the real `railyard mirror refresh` from the fake upstream, then
// `railyard serve` as a child process (optionally inside a network namespace), killed by PID.
import type { ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import YAML from 'yaml';
// bin/railyard.js on the compiled build, rebuilt first if stale: what users run.
import { CLI as BIN } from '../../server/testing/cli.ts';
import type { Cleanup } from './cleanup.ts';
import { run, startTracked, stopChild } from './proc.ts';
import type { StandinRelease } from './release.ts';

export const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef';

export interface RailyardOptions {
  workDir: string;
  release: StandinRelease;
  upstreamUrl: string;
  /** host:port railyard's HTTP listens on (127.0.0.1:N, or a namespace address). */
  listen: string;
  /** URL the nodes use (slirp guestfwd address, or the namespace address). */
  publicUrl: string;
  /** Network namespace to run `serve` in; none = this one. */
  netns?: string;
  tftp?: { listen: string; root: string };
  /** Versions to mirror besides current (pinned X.Y.Z). */
  extraVersions?: string[];
  /** The config's `installer` section (e.g. kexecDeny). */
  installer?: Record<string, unknown>;
  /** Also mirror the update payloads (and the stand-in's extension payload) from the fake upstream. */
  updates?: boolean;
  /** profiles/ and groups/ (id → body), and other files (templates) by relative path. */
  machines: {
    profiles: Record<string, object>;
    groups: Record<string, object>;
    files?: Record<string, string>;
  };
  /** Config sections merged over the suite's (e.g. `state` for PostgreSQL). */
  config?: Record<string, unknown>;
}

export interface Railyard {
  configFile: string;
  dataDir: string;
  opts: RailyardOptions;
  cli(args: string[]): Promise<string>;
  stop(): Promise<void>;
  /** kill -9 (a rack dying), resolved once it has exited. */
  kill?(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  if (addr === null || typeof addr === 'string') throw new Error('no free port');
  return addr.port;
}

export async function startRailyard(cleanup: Cleanup, opts: RailyardOptions): Promise<Railyard> {
  const configFile = await writeConfig(opts);
  const dataDir = join(opts.workDir, 'data');
  const cli = (args: string[]) => run(process.execPath, [BIN, ...args, '--config', configFile]);
  await cli(['mirror', 'refresh', '--quiet']);
  const child = startServe(cleanup, opts, configFile);
  await waitReady(child, opts);
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  };
  return { configFile, dataDir, opts, cli, stop: () => stopChild(child), kill };
}

async function writeConfig(o: RailyardOptions): Promise<string> {
  const mdir = join(o.workDir, 'machines');
  for (const kind of ['profiles', 'groups'] as const) {
    await mkdir(join(mdir, kind), { recursive: true });
    for (const [id, body] of Object.entries(o.machines[kind])) {
      await writeFile(join(mdir, kind, `${id}.yaml`), YAML.stringify({ id, ...body }));
    }
  }
  for (const [rel, text] of Object.entries(o.machines.files ?? {})) await writeFile(join(mdir, rel), text);
  const config = {
    http: { listen: o.listen, drainTimeout: '1s' },
    publicUrl: o.publicUrl,
    dataDir: join(o.workDir, 'data'),
    machinesDir: mdir,
    tftp: o.tftp ? { enabled: true, ...o.tftp } : { enabled: false },
    log: { level: 'info', format: 'json' },
    admin: { token: ADMIN_TOKEN },
    ...(o.installer ? { installer: o.installer } : {}),
    mirror: {
      upstream: `${o.upstreamUrl}/{channel}/{board}`,
      keyring: o.release.key,
      fingerprint: o.release.fingerprint,
      autoRefresh: false,
      retries: 1,
      releases: [
        { channel: 'stable', board: 'amd64-usr', versions: ['current', ...(o.extraVersions ?? [])], keep: 3 },
      ],
      ...(o.updates
        ? {
            updates: true,
            updateUpstream: `${o.upstreamUrl}/update/{board}`,
            updateFiles: ['flatcar-standin.gz'],
          }
        : {}),
    },
    ...o.config,
  };
  const file = join(o.workDir, 'railyard.yaml');
  await writeFile(file, YAML.stringify(config));
  return file;
}

function startServe(cleanup: Cleanup, o: RailyardOptions, configFile: string): ChildProcess {
  const cmd = [process.execPath, BIN, 'serve', '--config', configFile];
  const [bin, ...args] = o.netns ? ['ip', 'netns', 'exec', o.netns, ...cmd] : cmd;
  // `ip netns exec` execs the command: the PID is railyard's own.
  const child = startTracked(cleanup, bin!, args);
  const log = createWriteStream(join(o.workDir, 'railyard.log'));
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

async function waitReady(child: ChildProcess, o: RailyardOptions): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`railyard serve exited (${child.exitCode}); see ${o.workDir}/railyard.log`);
    try {
      await httpGet(o, `http://${o.listen}/boot.ipxe`);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`railyard serve not ready after 30 s; see ${o.workDir}/railyard.log`);
}

/** GET a URL on railyard's listener: fetch() here, curl inside its namespace. */
export async function httpGet(
  o: Pick<RailyardOptions, 'netns'>,
  url: string,
  headers: Record<string, string> = {},
): Promise<string> {
  const h = Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  if (o.netns) return run('ip', ['netns', 'exec', o.netns, 'curl', '-fsS', '--max-time', '10', ...h, url]);
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return res.text();
}
