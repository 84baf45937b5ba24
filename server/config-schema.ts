// The configuration schema: every key optional, with defaults. Key names are a contract
// (docs and acceptance checks use them). Paths are resolved later, in config.ts.
import { z } from 'zod';

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/;

export const listenSchema = z
  .union([z.string(), z.number().int()])
  .transform((v) => (typeof v === 'number' ? `0.0.0.0:${v}` : v))
  .refine((v) => {
    const m = HOST_PORT.exec(v);
    return m !== null && Number(m[2]) <= 65535;
  }, 'expected host:port, e.g. 0.0.0.0:8080 or [::]:8080');

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration such as `90s`, `15m`, `6h`, `1d`, or a number of seconds. Output: milliseconds. */
export const durationSchema = z.union([z.string(), z.number().nonnegative()]).transform((v, ctx) => {
  if (typeof v === 'number') return v * 1000;
  const m = DURATION.exec(v.trim());
  if (!m) {
    ctx.addIssue({ code: 'custom', message: 'expected a duration such as 30s, 15m, 6h or 1d' });
    return z.NEVER;
  }
  return Number(m[1]) * (UNIT_MS[m[2] as string] as number);
});

export const CHANNELS = ['stable', 'beta', 'alpha', 'lts'] as const;
const VERSION_SPEC = /^(current|current-\d{4}|\d+\.\d+\.\d+)$/;
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export const releaseSchema = z.strictObject({
  channel: z.enum(CHANNELS),
  board: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'expected a board name such as amd64-usr'),
  versions: z
    .array(z.string().regex(VERSION_SPEC, 'expected current, current-YYYY or X.Y.Z'))
    .min(1)
    .default(['current']),
  keep: z.number().int().min(1).default(3),
  files: z.array(z.string().regex(FILE_NAME, 'expected a plain file name')).default([]),
});

const logSchema = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  format: z.enum(['json', 'pretty']).optional(),
});

const tftpSchema = z.strictObject({
  enabled: z.boolean().default(true),
  listen: z.union([listenSchema, z.array(listenSchema).min(1)]).optional(),
  root: z.string().min(1).optional(),
  maxTransfers: z.number().int().min(1).default(100),
  maxPerClient: z.number().int().min(1).default(8),
  maxBlksize: z.number().int().min(512).max(65464).default(1468),
  maxWindowsize: z.number().int().min(1).max(64).default(16),
  retries: z.number().int().min(1).max(20).default(6),
});

const mirrorSchema = z.strictObject({
  upstream: z
    .string()
    .regex(/^https?:\/\/\S+$/, 'expected an http(s) URL template such as https://{channel}.example/{board}')
    .default('https://{channel}.release.flatcar-linux.net/{board}'),
  keyring: z.string().min(1).optional(),
  fingerprint: z
    .string()
    .transform((v) => v.replace(/\s+/g, '').toUpperCase())
    .pipe(z.string().regex(/^[0-9A-F]{40}$/, 'expected a 40-hex-digit OpenPGP primary key fingerprint'))
    .default('F88CFEDEFF29A5B4D9523864E25D9AED0593B34A'),
  autoRefresh: z.boolean().default(true),
  interval: durationSchema.default(6 * 3_600_000),
  staleAfter: durationSchema.default(2 * 86_400_000),
  retries: z.number().int().min(0).max(20).default(4),
  /** First retry delay; doubles per attempt (capped at 30 s). */
  retryDelay: durationSchema.default(1_000),
  timeout: durationSchema.default(30_000),
  releases: z
    .array(releaseSchema)
    .default([{ channel: 'stable', board: 'amd64-usr', versions: ['current'], keep: 3, files: [] }]),
});

const httpSchema = z.strictObject({
  listen: listenSchema.default('0.0.0.0:8080'),
  drainTimeout: durationSchema.default(10_000),
});

const stateSchema = z.strictObject({
  driver: z.enum(['sqlite']).default('sqlite'),
  path: z.string().min(1).optional(),
});

const adminSchema = z.strictObject({
  token: z.string().min(16, 'expected at least 16 characters').optional(),
});

/**
 * Hardware known to hang after kexec: these machines reboot instead. All keys of an entry
 * must match: `manufacturer` / `product` are SMBIOS type 1 strings (checked by the installer
 * on the machine), any other key a railyard fact (mac, uuid, serial, hostname, arch, platform,
 * or a label), as in group selectors.
 */
const kexecDenyEntrySchema = z
  .record(
    z.string(),
    z
      .union([z.string(), z.number()])
      .transform(String)
      .pipe(z.string().regex(/^[\x20-\x7e]{1,128}$/, 'expected 1-128 printable ASCII characters')),
  )
  .refine((entry) => Object.keys(entry).length > 0, 'an empty entry would match every machine')
  .refine((entry) => Object.keys(entry).every((k) => /^[a-z][a-z0-9_-]{0,31}$/.test(k)), {
    message: 'keys: expected manufacturer, product or a fact name (lower case)',
  })
  .refine(
    (entry) => entry['mac'] === undefined || /^([0-9a-fA-F]{2}[:-]?){5}[0-9a-fA-F]{2}$/.test(entry['mac']),
    'mac: expected a MAC address such as 52:54:00:12:34:56',
  );

const installerSchema = z.strictObject({
  cacheEntries: z.number().int().min(1).default(1000),
  failedRetries: z.number().int().min(0).default(3),
  kexecDeny: z.array(kexecDenyEntrySchema).default([]),
});

export const configSchema = z.strictObject({
  http: httpSchema.default(httpSchema.parse({})),
  publicUrl: z
    .string()
    .regex(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, 'expected an http(s) base URL such as http://10.0.0.5:8080')
    .transform((v) => v.replace(/\/+$/, ''))
    .optional(),
  dataDir: z.string().min(1).default('./var'),
  machinesDir: z.string().min(1).optional(),
  tftp: tftpSchema.default(tftpSchema.parse({})),
  log: logSchema.default(logSchema.parse({})),
  mirror: mirrorSchema.default(mirrorSchema.parse({})),
  state: stateSchema.default(stateSchema.parse({})),
  admin: adminSchema.default(adminSchema.parse({})),
  installer: installerSchema.default(installerSchema.parse({})),
});

export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
export type ReleaseConfig = z.output<typeof releaseSchema>;

/** Dotted paths of every leaf key that an env var `RAILYARD_<SECTION>_<KEY>` may set. */
export function leafPaths(): string[] {
  const out: string[] = [];
  for (const [key, schema] of Object.entries(configSchema.shape)) {
    const inner = unwrapObject(schema);
    if (inner) for (const sub of Object.keys(inner.shape)) out.push(`${key}.${sub}`);
    else out.push(key);
  }
  return out;
}

function unwrapObject(schema: z.ZodType): z.ZodObject | undefined {
  let s: z.ZodType = schema;
  for (let i = 0; i < 4; i++) {
    if (s instanceof z.ZodObject) return s;
    if (s instanceof z.ZodDefault || s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
    else return undefined;
  }
  return undefined;
}
