// Child processes for the E2E harness: every process is tracked by PID and killed by PID
// (never by name) when its scope is cleaned up, even after a failed assertion.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import type { Cleanup } from './cleanup.ts';

const execFileP = promisify(execFile);

/** Run a command to completion; throws with its stderr when it fails. */
export async function run(
  cmd: string,
  args: readonly string[],
  opts: { input?: string } = {},
): Promise<string> {
  if (opts.input !== undefined) return runWithInput(cmd, args, opts.input);
  try {
    const { stdout } = await execFileP(cmd, [...args], { maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

function runWithInput(cmd: string, args: readonly string[], input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let errText = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      errText += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} failed (${code}): ${errText.trim()}`)),
    );
    child.stdin.end(input);
  });
}

/** Spawn a long-running process; its PID is killed (TERM, then KILL) at cleanup. */
export function startTracked(
  cleanup: Cleanup,
  cmd: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; stdio?: 'pipe' | 'ignore' } = {},
): ChildProcess {
  const child = spawn(cmd, [...args], {
    stdio: opts.stdio === 'ignore' ? 'ignore' : ['pipe', 'pipe', 'pipe'],
    env: opts.env ?? process.env,
  });
  cleanup.add(`kill ${cmd} pid ${child.pid}`, () => stopChild(child));
  return child;
}

export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Kill a process this harness started indirectly (e.g. a daemon's pid file), by PID. */
export function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // already gone
  }
}
