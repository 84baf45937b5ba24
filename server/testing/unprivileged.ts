// Run railyard as `nobody` from a checkout `nobody` may not reach (a clone under /root, or
// any private 0700 directory). The child gets its own mount namespace in which the package
// root is bind-mounted onto a fresh directory under the temp dir, then drops to uid/gid 65534
// with no capabilities. Test-only: needs root (unshare, mount, setpriv from util-linux).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PACKAGE_ROOT } from '../config.ts';

export const isRoot = process.getuid?.() === 0;

export interface Unprivileged {
  /** Argv prefix: run the rest of the command line as nobody, inside the new mount namespace. */
  wrap: readonly string[];
  /** Where the package root is visible to that command (use it for paths into the checkout). */
  root: string;
  /** The same path under `root`: e.g. `at(CLI)` for the CLI entry point. */
  at: (pathInPackage: string) => string;
  /** Remove the (empty) mount point. */
  cleanup: () => void;
}

export function unprivileged(): Unprivileged {
  const root = mkdtempSync(join(tmpdir(), 'railyard-pkg-'));
  const script = 'mount --bind "$0" "$1" && shift && exec "$@"';
  const drop = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all'];
  return {
    wrap: ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, PACKAGE_ROOT, root, ...drop],
    root,
    at: (path) => join(root, relative(PACKAGE_ROOT, path)),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}
