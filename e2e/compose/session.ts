// One compose-lab test run: a work dir, one cleanup stack (compose down -v, the engine by
// PID, bridges, the work dir; run on success, failure, SIGINT and SIGTERM), and what the
// steps hand on to each other.
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cleanup } from '../lib/cleanup.ts';
import type { StandinRelease } from '../lib/release.ts';
import type { ComposeLab } from './compose.ts';
import type { Engine } from './engine.ts';
import type { HostNetState } from './host.ts';

export const CACHE = join(
  process.env['RAILYARD_FIXTURE_CACHE'] ?? '/var/cache/railyard-fixtures',
  'lab-compose',
);
export const EXEC_ROOT = '/run/railyard-compose';
export const PROJECT = 'rycmp';

export interface Session {
  workDir: string;
  cleanup: Cleanup;
  t0: number;
  hostBefore?: HostNetState;
  engine?: Engine;
  release?: StandinRelease;
  lab?: ComposeLab;
  timings: Record<string, number>;
}

/** Why this test cannot run here, or null. */
export function missingPrerequisite(): string | null {
  if (process.getuid?.() !== 0) return 'not root (dockerd, debootstrap and QEMU networking need root)';
  try {
    accessSync('/dev/net/tun', constants.R_OK | constants.W_OK);
  } catch {
    return '/dev/net/tun is missing';
  }
  for (const bin of [
    'dockerd',
    'containerd',
    'runc',
    'docker-compose',
    'debootstrap',
    'setpriv',
    'iptables',
  ]) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    } catch {
      return `${bin} is not installed (apt-get install docker.io docker-compose debootstrap)`;
    }
  }
  try {
    accessSync('/usr/bin/docker', constants.X_OK);
  } catch {
    return "/usr/bin/docker (Debian's docker.io CLI) is missing";
  }
  return null;
}

export async function openSession(): Promise<Session> {
  const cleanup = new Cleanup();
  const onSignal = () => void cleanup.run().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  cleanup.add('remove signal handlers', () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  });
  const workDir = await mkdtemp(join(tmpdir(), 'rycmp-'));
  if (process.env['COMPOSE_KEEP']) cleanup.add('keep work dir', () => console.log(`  kept ${workDir}`));
  else cleanup.add(`remove ${workDir}`, () => rm(workDir, { recursive: true, force: true }));
  return { workDir, cleanup, t0: Date.now(), timings: {} };
}

export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is not available: an earlier step failed`);
  return value;
}

export function log(msg: string): void {
  console.log(`  compose: ${msg}`);
}

export function since(t: number): number {
  return Math.round((Date.now() - t) / 100) / 10;
}
