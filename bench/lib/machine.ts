// The machine and moment a run describes: nproc, CPU, RAM, kernel, load, commit.
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { REPO } from './servers.ts';

export interface MachineInfo {
  nproc: number;
  cpu: string;
  ramGiB: string;
  kernel: string;
  node: string;
  commit: string;
  dirty: boolean;
}

export function machineInfo(): MachineInfo {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: REPO, encoding: 'utf8' }).trim();
  return {
    nproc: Number(execFileSync('nproc', { encoding: 'utf8' }).trim()),
    cpu: cpus()[0]?.model ?? 'unknown',
    ramGiB: (totalmem() / 2 ** 30).toFixed(1),
    kernel: release(),
    node: process.version,
    commit: git('rev-parse', '--short=12', 'HEAD'),
    dirty: git('status', '--porcelain', '--untracked-files=no') !== '',
  };
}

export function loadAverage(): string {
  return loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}
