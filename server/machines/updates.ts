// The `updates` key of a profile (where the installed system is pointed, and what it is
// offered) and of a group (rollout overrides for that group's machines): the file format.
// What a machine is offered, given these, is decided in updates/policy.ts.
import { z } from 'zod';
import { CHANNELS, VERSION_SPEC, VERSION_SPEC_EXPECTED } from './release.ts';
import { windowSchema } from './window.ts';

/** `railyard`: SERVER=<publicUrl>/v1/update/; `public`: Flatcar's server; `none`: SERVER=disabled. */
export const UPDATE_SERVERS = ['railyard', 'public', 'none'] as const;
export type UpdateServer = (typeof UPDATE_SERVERS)[number];

const rollout = {
  /** The version offered: the mirror's `current` (or `current-YYYY`) of the channel, or a pinned X.Y.Z. */
  version: z.string().regex(VERSION_SPEC, VERSION_SPEC_EXPECTED),
  /** At most this many machines of the group update at once (offer → completion, error or slot timeout). */
  maxConcurrent: z.number().int().min(1).max(100_000),
  window: windowSchema,
  paused: z.boolean(),
};

export const profileUpdatesSchema = z.strictObject({
  server: z.enum(UPDATE_SERVERS).default('railyard'),
  /** The Omaha track (GROUP=) the installed system asks for; default: the profile's channel. */
  channel: z.enum(CHANNELS).optional(),
  version: rollout.version.default('current'),
  maxConcurrent: rollout.maxConcurrent.default(1),
  window: rollout.window.optional(),
  paused: rollout.paused.default(false),
});

/** A group overrides the rollout of its machines; what is installed and where it points stays the profile's. */
export const groupUpdatesSchema = z.strictObject({
  version: rollout.version.optional(),
  maxConcurrent: rollout.maxConcurrent.optional(),
  window: rollout.window.optional(),
  paused: rollout.paused.optional(),
});

export type ProfileUpdates = z.output<typeof profileUpdatesSchema>;
export type GroupUpdates = z.output<typeof groupUpdatesSchema>;
