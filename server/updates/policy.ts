// Update policy: given the `updates` key of a profile and of a group (machines/updates.ts),
// the effective policy of a machine and the checks that need no shared state. Pure. The one
// shared-state decision (a rollout slot) is made atomically in the store.
import type { GroupUpdates, ProfileUpdates, UpdateServer } from '../machines/updates.ts';
import { inWindow, type UpdateWindow } from '../machines/window.ts';
import { compareVersions, parseVersion } from './versions.ts';

export interface UpdatePolicy {
  /** The rollout pool: slots and the pause switch are per group. */
  group: string;
  profile: string;
  server: UpdateServer;
  channel: string;
  board: string;
  version: string;
  maxConcurrent: number;
  window: UpdateWindow | undefined;
  /** Paused in the files (the API/UI switch is stored separately and combined by the service). */
  paused: boolean;
}

interface PolicySource {
  id: string;
  channel: string;
  board: string;
  updates?: ProfileUpdates | undefined;
}

/** The machine's policy, or undefined when its profile has no `updates` (Flatcar's defaults apply). */
export function effectivePolicy(
  profile: PolicySource,
  group: { id: string; updates?: GroupUpdates | undefined },
): UpdatePolicy | undefined {
  const u = profile.updates;
  if (!u) return undefined;
  const g = group.updates ?? {};
  return {
    group: group.id,
    profile: profile.id,
    server: u.server,
    channel: u.channel ?? profile.channel,
    board: profile.board,
    version: g.version ?? u.version,
    maxConcurrent: g.maxConcurrent ?? u.maxConcurrent,
    window: g.window ?? u.window,
    paused: g.paused ?? u.paused,
  };
}

/** Why a machine gets `noupdate` (recorded on the client, counted in metrics). */
export const NOUPDATE_REASONS = [
  'no-machine-id',
  'no-policy',
  'not-served-here',
  'board-mismatch',
  'track-mismatch',
  'paused',
  'outside-window',
  'not-mirrored',
  'no-payload',
  'up-to-date',
  'newer-running',
  'bad-version',
  'rollout-full',
  'too-many-unknown',
] as const;
export type NoUpdateReason = (typeof NOUPDATE_REASONS)[number];

export type Eligibility = { offer: true } | { offer: false; reason: NoUpdateReason };

export interface EligibilityInput {
  policy: UpdatePolicy | undefined;
  /** The track (GROUP) the client asked for. */
  track: string;
  /** The board it runs (`board` attribute; empty when not sent). */
  board: string;
  /** The version the client runs (its `version` attribute). */
  running: string;
  /** The policy's version resolved through the mirror; undefined when not mirrored. */
  target: string | undefined;
  /** The target has a published update payload. */
  payload: boolean;
  /** The API/UI pause switch for the policy's group (or all groups). */
  pausedByAdmin: boolean;
  now: Date;
}

/**
 * Everything but the slot: offer only a mirrored payload strictly newer than what runs
 * (never a downgrade, never the same version), inside the window, when not paused.
 */
export function eligibility(i: EligibilityInput): Eligibility {
  const no = (reason: NoUpdateReason): Eligibility => ({ offer: false, reason });
  if (!i.policy) return no('no-policy');
  if (i.policy.server !== 'railyard') return no('not-served-here');
  if (i.track !== i.policy.channel) return no('track-mismatch');
  if (i.board !== '' && i.board !== i.policy.board) return no('board-mismatch');
  if (!i.target) return no('not-mirrored');
  if (!parseVersion(i.running)) return no('bad-version');
  const order = compareVersions(i.target, i.running);
  if (order === 0) return no('up-to-date');
  if (order < 0) return no('newer-running');
  if (i.policy.paused || i.pausedByAdmin) return no('paused');
  if (i.policy.window && !inWindow(i.policy.window, i.now)) return no('outside-window');
  if (!i.payload) return no('no-payload');
  return { offer: true };
}
