// Child processes and temp dirs the bench owns. Everything is registered here and torn down
// by PID (process group) on exit, error, SIGINT or SIGTERM: the bench never leaves a server
// running or a temp file behind.
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

export function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `railyard-bench-${label}-`));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Spawn in its own process group so stop() reaches grandchildren too. */
export function spawnTracked(cmd: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options, detached: true });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** SIGTERM the child's group, SIGKILL after graceMs; resolves when it has exited. */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  signalGroup(child.pid, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child.pid!, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command to completion (tracked, so Ctrl-C still stops it). */
export function run(cmd: string, args: string[], options: SpawnOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawnTracked(cmd, args, options);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d;
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export async function runOk(cmd: string, args: string[], options: SpawnOptions = {}): Promise<string> {
  const r = await run(cmd, args, options);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** utime + stime of a process and its descendants' live threads, in seconds. */
export function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15)
    } catch {
      // exited
    }
  }
  return ticks / 100; // USER_HZ is 100 on Linux
}

/** Peak RSS (VmHWM) in MiB. */
export function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

/** The PID and all its descendants (nginx master + workers). */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (const p of out) {
    for (const task of safeReaddir(`/proc/${p}/task`)) {
      const kids = safeRead(`/proc/${p}/task/${task}/children`).trim();
      if (kids) out.push(...kids.split(/\s+/).map(Number));
    }
  }
  return out;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export async function cleanupAll(): Promise<void> {
  await Promise.all([...children].map((c) => stopChild(c, 2000)));
  for (const dir of [...tempDirs]) removeTempDir(dir);
}

/** Clean up on Ctrl-C / SIGTERM / crash; the normal path calls cleanupAll() itself. */
export function installCleanupHandlers(): void {
  const bail = (why: string, code: number) => {
    process.stderr.write(`\nbench: ${why}, cleaning up\n`);
    cleanupAll().finally(() => process.exit(code));
  };
  process.once('SIGINT', () => bail('interrupted', 130));
  process.once('SIGTERM', () => bail('terminated', 143));
  process.once('uncaughtException', (err) => bail(`crashed: ${err.stack ?? err}`, 1));
  process.once('unhandledRejection', (err) => bail(`crashed: ${String(err)}`, 1));
  process.once('exit', () => {
    for (const c of children) if (c.pid) signalGroup(c.pid, 'SIGKILL');
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });
}
