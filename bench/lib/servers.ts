// Start railyard and the reference servers fresh, on loopback, each in its own temp dir.
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { CLI } from '../../server/testing/cli.ts';
import { processTree, spawnTracked, stopChild } from './procs.ts';

export const REPO = resolve(import.meta.dirname, '..', '..');

export interface RunningServer {
  name: string;
  url: string;
  /** The main PID (for VmHWM). */
  pid: number;
  /** Every PID that does work (nginx: master + workers), for CPU accounting. */
  pids(): number[];
  stop(): Promise<void>;
}

export function freeTcpPort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

export function freeUdpPort(): Promise<number> {
  return new Promise((res, rej) => {
    const sock = createSocket('udp4');
    sock.once('error', rej);
    sock.bind(0, '127.0.0.1', () => {
      const { port } = sock.address();
      sock.close(() => res(port));
    });
  });
}

export interface RailyardOptions {
  dataDir: string;
  tftp?: { port: number; root: string };
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=…'] when profiling. */
  nodeFlags?: string[];
  /** Config sections merged over the bench's (e.g. `state` for PostgreSQL). */
  config?: Record<string, unknown>;
  /** Default: the examples' machines dir. */
  machinesDir?: string;
  /** Extra `mirror` keys (autoRefresh stays off), e.g. a test keyring and its fingerprint. */
  mirror?: Record<string, unknown>;
  /** Run N railyard processes as Node cluster workers on one port (bench/workers.ts). */
  workers?: number;
}

export async function startRailyard(options: RailyardOptions): Promise<RunningServer> {
  const port = await freeTcpPort();
  const url = `http://127.0.0.1:${port}`;
  const config = {
    http: { listen: `127.0.0.1:${port}` },
    publicUrl: url,
    dataDir: options.dataDir,
    machinesDir: options.machinesDir ?? join(REPO, 'examples'),
    tftp: options.tftp
      ? {
          enabled: true,
          listen: `127.0.0.1:${options.tftp.port}`,
          root: options.tftp.root,
          maxBlksize: 65464,
          maxWindowsize: 64,
          maxTransfers: 200,
          maxPerClient: 200, // every bench client is 127.0.0.1
        }
      : { enabled: false },
    mirror: { ...options.mirror, autoRefresh: false },
    log: { level: 'warn', format: 'json' },
    ...options.config,
  };
  const file = join(options.dataDir, '..', `railyard-${port}.json`);
  writeFileSync(file, JSON.stringify(config, null, 2));
  const serve = [CLI, 'serve', '--config', file];
  const cluster = join(REPO, 'bench/lib/cluster-primary.js');
  const child = spawnTracked(
    process.execPath,
    options.workers ? [cluster, String(options.workers), ...serve] : [...(options.nodeFlags ?? []), ...serve],
    { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return ready('railyard', child, url, `${url}/healthz`);
}

export interface NginxOptions {
  dir: string;
  root: string;
}

export async function startNginx(options: NginxOptions): Promise<RunningServer> {
  const port = await freeTcpPort();
  const conf = join(options.dir, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off;
user root;
pid ${options.dir}/nginx.pid;
error_log ${options.dir}/error.log warn;
worker_processes auto;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  default_type application/octet-stream;
  client_body_temp_path ${options.dir}/body;
  proxy_temp_path ${options.dir}/proxy;
  fastcgi_temp_path ${options.dir}/fastcgi;
  server {
    listen 127.0.0.1:${port};
    root ${options.root};
  }
}
`,
  );
  const child = spawnTracked(
    '/usr/sbin/nginx',
    ['-c', conf, '-p', options.dir, '-e', `${options.dir}/error.log`],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const url = `http://127.0.0.1:${port}`;
  return ready('nginx', child, url, `${url}/`);
}

async function ready(name: string, child: ChildProcess, url: string, probe: string): Promise<RunningServer> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d).slice(-4000);
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited ${child.exitCode} at startup: ${stderr}`);
    const ok = await fetch(probe).then(
      (r) => r.status < 500,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new Error(`${name} did not answer ${probe} within 30 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const pid = child.pid!;
  return { name, url, pid, pids: () => processTree(pid), stop: () => stopChild(child, 15_000) };
}
