// Profiles and groups (matchbox-style). A profile says what a machine boots; a group maps
// selectors to a profile plus metadata. Validated once when loaded, immutable afterwards.
import { z } from 'zod';
import { CHANNELS, POOL_REFRESH } from '../config-schema.ts';
import { groupUpdatesSchema, profileUpdatesSchema } from '../updates/policy.ts';

const ID = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected letters, digits, ., _ or - (max 64)');
const KERNEL_ARG = z
  .string()
  .min(1)
  .regex(/^[^\s${}"'\\;]+$/, 'expected one kernel argument without spaces, quotes, $, {, }, ; or backslash');

export const profileSchema = z.strictObject({
  id: ID,
  description: z.string().optional(),
  channel: z.enum(CHANNELS).default('stable'),
  board: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*$/, 'expected a board such as amd64-usr')
    .default('amd64-usr'),
  version: z
    .string()
    .regex(/^(current|current-\d{4}|\d+\.\d+\.\d+)$/, 'expected current, current-YYYY or X.Y.Z')
    .default('current'),
  installDisk: z
    .string()
    .regex(/^(smallest|\/dev\/[A-Za-z0-9/_.:-]+)$/, 'expected a device path such as /dev/sda, or "smallest"')
    .default('smallest'),
  kernelArgs: z.array(KERNEL_ARG).default([]),
  /** Ignition template for the installed system: a file (relative to machinesDir) or an inline object. */
  ignition: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).optional(),
  ipxeTemplate: z.string().min(1).optional(),
  localBoot: z.enum(['sanboot', 'exit', 'auto']).default('auto'),
  /** Add a first-boot phone-home unit to the installed system's Ignition. */
  phoneHome: z.boolean().default(true),
  /** After the install: kexec into the installed system (no second firmware POST), or reboot. */
  handoff: z.enum(['kexec', 'reboot']).default('kexec'),
  /** kexec-tools' purgatory SHA-256 check of the loaded kernel; false = `kexec -i` (docs/handoff.md). */
  kexecChecks: z.boolean().default(true),
  /** What a `failed` machine gets: another install attempt (up to retryLimit) or a console message. */
  onFailure: z.enum(['retry', 'show']).default('retry'),
  retryLimit: z.number().int().min(0).max(100).optional(),
  /** How the installer gets the image: the railyard-derived .zst (falls back to bz2), or the stock .bz2 path. */
  image: z.enum(['zstd', 'bz2']).default('zstd'),
  /** zstd path only: write every byte (dense), or only the mapped ranges over a zeroed span (sparse). */
  imageWriter: z.enum(['dense', 'sparse']).default('dense'),
  /** Updates of the installed system (docs/updates.md): where it points, what it is offered. */
  updates: profileUpdatesSchema.optional(),
});

const SELECTOR_KEY = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'expected a lower-case selector name');
const SELECTOR_VALUE = z.union([z.string().min(1), z.number()]).transform(String);

/** A pool group (docs/pool.md): its machines pre-install `profile` and wait in RAM for a claim. */
const groupPoolSchema = z.strictObject({
  /** The base profile pooled machines write (release, disk, image path); a claim names the final one. */
  profile: ID,
  /** Overrides the server's `pool.refresh` for this group. */
  refresh: z.enum(POOL_REFRESH).optional(),
});

export const groupSchema = z
  .strictObject({
    id: ID,
    description: z.string().optional(),
    profile: ID.optional(),
    selector: z.record(SELECTOR_KEY, SELECTOR_VALUE).default({}),
    metadata: z.record(z.string(), z.unknown()).default({}),
    /** Rollout overrides for this group's machines (docs/updates.md). */
    updates: groupUpdatesSchema.optional(),
    pool: groupPoolSchema.optional(),
  })
  .superRefine((g, ctx) => {
    if (g.pool && g.profile !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['profile'],
        message: 'a pool group names its base profile in pool.profile only (claims name the final profile)',
      });
    if (!g.pool && g.profile === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['profile'],
        message: 'required (or pool.profile for a pool group)',
      });
  })
  // `profile` is the profile machines of the group install: a pool group's base profile.
  .transform(({ profile, ...g }) => ({ ...g, profile: profile ?? g.pool?.profile ?? '' }));

export type ProfileInput = z.input<typeof profileSchema>;
export type Profile = z.output<typeof profileSchema> & {
  /** Content hash of the profile file and the templates it uses: part of cache keys. */
  revision: string;
  /** The parsed Ignition template (object with mustache placeholders in strings). */
  ignitionTemplate: Record<string, unknown>;
  /** iPXE template text when the profile has its own. */
  ipxeTemplateText?: string;
};
export type Group = z.output<typeof groupSchema>;
