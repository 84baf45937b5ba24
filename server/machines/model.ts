// Profiles and groups (matchbox-style). A profile says what a machine boots; a group maps
// selectors to a profile plus metadata. The schemas are the file format: the catalog
// (catalog/load.ts) validates every file with them once, at load; immutable afterwards.
import { z } from 'zod';
import { HOSTNAME } from './identity.ts';
import { CHANNELS, VERSION_SPEC, VERSION_SPEC_EXPECTED } from './release.ts';
import { groupUpdatesSchema, profileUpdatesSchema } from './updates.ts';

/** How a pool's machines follow a release move (docs/pool.md); config `pool.refresh` and a group's `pool.refresh`. */
export const POOL_REFRESH = ['background', 'on-claim'] as const;

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
  version: z.string().regex(VERSION_SPEC, VERSION_SPEC_EXPECTED).default('current'),
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

type Path = Array<string | number>;

export interface MetadataProblem {
  path: Path;
  value: unknown;
  message: string;
}

/**
 * The metadata values that cannot go into an iPXE script (where `{{metadata.KEY}}` and the
 * machine view put them), each with what was expected: no string anywhere may change a
 * script's structure (a line break, `${`), a value under a key ending in `url` has no
 * whitespace, and `hostname` (the machine's host name when it reports none) is an RFC 1123
 * host name.
 */
export function metadataProblems(metadata: Record<string, unknown>): MetadataProblem[] {
  const problems: MetadataProblem[] = [];
  const host = metadata['hostname'];
  if (host !== undefined && (typeof host !== 'string' || !HOSTNAME.test(host)))
    problems.push({
      path: ['hostname'],
      value: host,
      message:
        'expected an RFC 1123 host name (labels of letters, digits and inner hyphens, at most 63 each, 253 in all)',
    });
  const walk = (value: unknown, path: Path): void => {
    if (typeof value === 'string') {
      if (/[\r\n]/.test(value) || value.includes('${'))
        problems.push({
          path,
          value,
          message: 'expected a value without line breaks or "${" (it goes into iPXE scripts)',
        });
      else if (/url$/i.test(String(path.at(-1))) && /\s/.test(value))
        problems.push({ path, value, message: 'expected a URL without whitespace' });
    } else if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) walk(v, [...path, i]);
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
    }
  };
  for (const [k, v] of Object.entries(metadata)) walk(v, [k]);
  return problems;
}

/** A group's (or a pool claim's) metadata: free keys; values checked by `metadataProblems`. */
export const metadataSchema = z.record(z.string(), z.unknown()).superRefine((m, ctx) => {
  for (const p of metadataProblems(m))
    ctx.addIssue({ code: 'custom', path: p.path, input: p.value, message: p.message });
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
    metadata: metadataSchema.default({}),
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

/** Every profile and group, as loaded and validated (catalog/load.ts). Immutable. */
export interface MachineSet {
  dir: string;
  profiles: ReadonlyMap<string, Profile>;
  /** Sorted most specific first (see match.ts). */
  groups: readonly Group[];
  revision: string;
}
