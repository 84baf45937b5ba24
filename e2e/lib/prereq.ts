// What the E2E suite needs on the host; a reason to skip when something is missing.

import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

export function missingPrerequisite(): string | null {
  if (process.getuid?.() !== 0) return 'not root (QEMU networking and namespaces need root)';
  try {
    accessSync('/dev/net/tun', constants.R_OK | constants.W_OK);
  } catch {
    return '/dev/net/tun is missing';
  }
  for (const bin of [
    'qemu-system-x86_64',
    'qemu-img',
    'busybox',
    'dnsmasq',
    'debugfs',
    'sfdisk',
    'mcopy',
    'curl',
  ]) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    } catch {
      return `${bin} is not installed (see .ci/run for the package list)`;
    }
  }
  return null;
}
