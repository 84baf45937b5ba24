// A private Docker engine for the compose lab test: Debian's dockerd with its own data and
// exec roots and socket, and no iptables, NAT, IP forwarding or default bridge, so it leaves
// the host's firewall (the netns-based tests share it) exactly as it was. Stopped by PID;
// every bridge of its networks is deleted afterwards, also when a step failed.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Cleanup } from '../lib/cleanup.ts';
import { run } from '../lib/proc.ts';
import { bridgesOf, deleteLinks, waitFor } from './host.ts';

export const DOCKER = '/usr/bin/docker'; // Debian's docker.io CLI, the engine's own version

export interface EngineOptions {
  /** images, layers, volumes: kept between runs (the layer cache), unless fresh. */
  dataRoot: string;
  /** sockets, pid file, containerd state: removed at every start and stop. */
  execRoot: string;
  /** dockerd's own log. */
  logFile: string;
}

export class Engine {
  readonly host: string;
  #bridges = new Set<string>();

  private constructor(
    readonly opts: EngineOptions,
    readonly child: ChildProcess,
  ) {
    this.host = `unix://${join(opts.execRoot, 'docker.sock')}`;
  }

  static async start(cleanup: Cleanup, opts: EngineOptions): Promise<Engine> {
    await stopStale(opts);
    await removeExecRoot(opts.execRoot);
    await mkdir(opts.execRoot, { recursive: true, mode: 0o700 });
    await mkdir(opts.dataRoot, { recursive: true, mode: 0o700 });
    const sock = `unix://${join(opts.execRoot, 'docker.sock')}`;
    const args = [
      ...['--pdeathsig', 'TERM', '--', 'dockerd'], // dockerd dies with this test, whatever kills it
      ...['--data-root', opts.dataRoot, '--exec-root', opts.execRoot, '-H', sock],
      ...['--pidfile', join(opts.execRoot, 'dockerd.pid')],
      ...['--iptables=false', '--ip6tables=false', '--ip-forward=false', '--ip-masq=false'],
      ...['--bridge=none', '--log-level=warn'],
    ];
    const child = spawn('setpriv', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(opts.logFile, { flags: 'a' });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    const engine = new Engine(opts, child);
    cleanup.add(`stop dockerd pid ${child.pid}`, () => engine.stop());
    await waitFor('dockerd answering on its socket', 60, async () => {
      if (child.exitCode !== null) throw new Error(`dockerd exited (${child.exitCode}); see ${opts.logFile}`);
      return engine.docker(['version', '--format', '{{.Server.Version}}']).then(
        () => true,
        () => false,
      );
    });
    return engine;
  }

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return { ...process.env, DOCKER_HOST: this.host, DOCKER_BUILDKIT: '0', ...extra };
  }

  docker(args: readonly string[], opts: { input?: string } = {}): Promise<string> {
    return run('env', [`DOCKER_HOST=${this.host}`, 'DOCKER_BUILDKIT=0', DOCKER, ...args], opts);
  }

  /** Exit code, stdout and stderr of a docker command that may fail (synchronous; short ones). */
  dockerResult(
    args: readonly string[],
    input?: string,
  ): { code: number | null; stdout: string; stderr: string } {
    const r = spawnSync(DOCKER, [...args], {
      env: this.env(),
      encoding: 'utf8',
      input,
      maxBuffer: 64 * 1024 * 1024,
      timeout: 300_000,
    });
    return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /** Remember the bridges of the engine's networks now, to delete whatever it leaves. */
  async noteBridges(): Promise<void> {
    for (const b of await bridgesOf(this)) this.#bridges.add(b);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM by PID (dockerd stops its containers), SIGKILL after 60 s; then its bridges go. */
  async stop(): Promise<{ exitCode: number | null; leftBridges: string[] }> {
    if (this.running) {
      await this.noteBridges().catch(() => undefined);
      const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 60_000);
      await exited;
      clearTimeout(timer);
    }
    const leftBridges = await deleteLinks([...this.#bridges]);
    await removeExecRoot(this.opts.execRoot);
    return { exitCode: this.child.exitCode, leftBridges };
  }
}

/** dockerd leaves its netns bind mount (<exec root>/netns/default) behind: unmount, then remove. */
async function removeExecRoot(dir: string): Promise<void> {
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .reverse();
  for (const m of mounts) await run('umount', [m]);
  await rm(dir, { recursive: true, force: true });
}

/** A dockerd a killed earlier run left behind (its pid file names our exec root). */
async function stopStale(opts: EngineOptions): Promise<void> {
  const pidFile = join(opts.execRoot, 'dockerd.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  const cmdline = (() => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      return '';
    }
  })();
  if (!pid || !cmdline.includes(opts.execRoot)) return;
  // its parent (the test that started it) still alive: another run is in progress; leave it
  const ppid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
  if (ppid > 1 && existsSync(`/proc/${ppid}`) && ppid !== process.pid)
    throw new Error(`another compose lab test is running: dockerd pid ${pid} (started by pid ${ppid})`);
  console.log(`  compose: stopping dockerd pid ${pid} left by an earlier run`);
  process.kill(pid, 'SIGTERM');
  await waitFor(`stale dockerd ${pid} to exit`, 60, async () => !existsSync(`/proc/${pid}`));
}
