// Test support (not used by railyard): two network namespaces joined by a veth pair, made
// and removed by the DHCP tests. The DHCP server side has 10.98.0.1/24; railyard is
// pretended to live at 10.98.0.2, so a config that sends clients to the DHCP server instead
// of railyard shows. No address or route leaves the namespaces.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const DHCP_SERVER_IP = '10.98.0.1';
export const RAILYARD_IP = '10.98.0.2';
export const CLIENT_IP = '10.98.0.50';

/** Why these tests cannot run here, or null. */
export function netnsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  if (spawnSync('ip', ['-V']).status !== 0) return 'no ip (iproute2)';
  return null;
}

export function installed(binary: string): boolean {
  return spawnSync('test', ['-x', binary]).status === 0;
}

export function run(cmd: string, args: string[], check = true): string {
  const res = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  if (check && res.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')}: exit ${res.status}: ${res.stderr}`);
  return res.stdout;
}

export class NetnsLab {
  readonly ns: { srv: string; cli: string };
  readonly dev: { srv: string; cli: string };
  readonly dir = mkdtempSync(join(tmpdir(), 'railyard-dhcp-netns-'));
  #server: ChildProcess | undefined;
  #log: number | undefined;

  /** `tag`: a letter or two, so suites in one process never share names. */
  constructor(tag: string) {
    const id = `${process.pid}`.slice(-6);
    this.ns = { srv: `ryd-${id}${tag}-srv`, cli: `ryd-${id}${tag}-cli` };
    this.dev = { srv: `ryd${id}${tag}s`, cli: `ryd${id}${tag}c` };
  }

  /** Create both namespaces; the client gets a static address only when `clientIp` is set. */
  up(clientIp = false): void {
    const { ns, dev } = this;
    run('ip', ['netns', 'add', ns.srv]);
    run('ip', ['netns', 'add', ns.cli]);
    run('ip', [
      'link',
      'add',
      dev.srv,
      'netns',
      ns.srv,
      'type',
      'veth',
      'peer',
      'name',
      dev.cli,
      'netns',
      ns.cli,
    ]);
    run('ip', ['-n', ns.srv, 'addr', 'add', `${DHCP_SERVER_IP}/24`, 'dev', dev.srv]);
    for (const [n, d] of [
      [ns.srv, dev.srv],
      [ns.cli, dev.cli],
      [ns.srv, 'lo'],
      [ns.cli, 'lo'],
    ] as const) {
      run('ip', ['-n', n, 'link', 'set', d, 'up']);
    }
    if (clientIp) {
      run('ip', ['-n', ns.cli, 'addr', 'add', `${CLIENT_IP}/24`, 'dev', dev.cli]);
      // Broadcasts to 255.255.255.255 need a route; this one exists only in the namespace.
      run('ip', ['-n', ns.cli, 'route', 'add', 'default', 'dev', dev.cli]);
    }
  }

  /** Start a server in the server namespace, its output to a log file. */
  startServer(binary: string, args: string[], env: Record<string, string> = {}): void {
    this.#log = openSync(join(this.dir, 'server.out'), 'w');
    this.#server = spawn('ip', ['netns', 'exec', this.ns.srv, binary, ...args], {
      stdio: ['ignore', this.#log, this.#log],
      env: { ...process.env, ...env },
    });
  }

  serverLog(): string {
    return readFileSync(join(this.dir, 'server.out'), 'utf8').slice(-3000);
  }

  /** Run a command in the client namespace; its stdout. */
  client(cmd: string, args: string[]): string {
    return run('ip', ['netns', 'exec', this.ns.cli, cmd, ...args], false);
  }

  /** Stop the server (by PID), delete the namespaces (and so the veths), remove files. */
  async down(): Promise<void> {
    const child = this.#server;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    if (this.#log !== undefined) closeSync(this.#log);
    for (const ns of [this.ns.srv, this.ns.cli]) run('ip', ['netns', 'del', ns], false);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
