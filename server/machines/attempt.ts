// The install attempt: the unit of trust. `/ipxe` opens one when it decides `install`, and
// everything after it belongs to it: the installer is rendered from it (never by matching
// again), reports name it and carry its credentials, events carry its id. At most one
// attempt per machine is open; a new install decision supersedes the open one.
import type { Facts, Mac } from './identity.ts';

/**
 * - served: the install script went out; installing: the installer said it started;
 * - installed: the image is on disk (the attempt stays open for `handoff` and `first-boot`);
 * - handed-off: the installer reported how it left the live system (kexec or reboot);
 * - pooled: a pool attempt's disk is written and the node waits in RAM for a claim;
 *   claimed: an admin claimed it (its claim is delivered on the node's next long-poll);
 * - provisioned, failed, superseded, cancelled: closed (the attempt accepts nothing more).
 */
export const ATTEMPT_STATES = [
  'served',
  'installing',
  'installed',
  'handed-off',
  'pooled',
  'claimed',
  'provisioned',
  'failed',
  'superseded',
  'cancelled',
] as const;
export type AttemptState = (typeof ATTEMPT_STATES)[number];

export const OPEN_ATTEMPT_STATES: readonly AttemptState[] = [
  'served',
  'installing',
  'installed',
  'handed-off',
  'pooled',
  'claimed',
];

export function isOpen(state: AttemptState): boolean {
  return OPEN_ATTEMPT_STATES.includes(state);
}

/** What `/ipxe` decided, pinned: the installer and every check after it use only this. */
export interface AttemptSpec {
  group: string;
  profile: string;
  /** Content hash of the profile (and its templates) when the attempt opened. */
  profileRevision: string;
  /** Content hash of the group (selectors, metadata) when the attempt opened. */
  groupRevision: string;
  channel: string;
  board: string;
  /** The resolved release X.Y.Z (never `current`). */
  version: string;
  installDisk: string;
  /** Whether the installed system reports `first-boot` (profile phoneHome). */
  phoneHome: boolean;
  /** The facts of the `/ipxe` request that opened the attempt. */
  facts: Facts;
  /** The client address that received the install script; null when unknown (in-process). */
  clientIp: string | null;
}

export interface InstallAttempt extends AttemptSpec {
  /** Assigned by the store; increases with every attempt. */
  id: number;
  mac: Mac;
  state: AttemptState;
  openedAt: string;
  /** null while open. */
  closedAt: string | null;
}

/**
 * The next state of the machine's open attempt when its disk-boot script is served:
 * attributed to the attempt once it is installed; it closes as provisioned when the
 * installed system will not phone home (phoneHome false), else it waits for `first-boot`.
 * undefined: the event is not part of the attempt.
 */
export function afterDiskBoot(attempt: InstallAttempt): AttemptState | undefined {
  if (attempt.state !== 'installed' && attempt.state !== 'handed-off') return undefined;
  return attempt.phoneHome ? attempt.state : 'provisioned';
}

/** An admin reprovision closes the open attempt: its credentials stop working. */
export function afterReprovision(_attempt: InstallAttempt): AttemptState {
  return 'cancelled';
}
