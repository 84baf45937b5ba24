// The configuration schema: every key optional, with defaults. Key names are a contract
// (docs and acceptance checks use them). Paths are resolved later, in config.ts.
import { z } from 'zod';
import { POOL_REFRESH } from './machines/model.ts';
import { CHANNELS, VERSION_SPEC, VERSION_SPEC_EXPECTED } from './machines/release.ts';

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

/** Node timers overflow (and fire at once) past 2^31-1 ms (~24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A duration such as `90s`, `15m`, `6h`, `1d`, or a number of seconds. Output: milliseconds. */
export const durationSchema = durationBetween(0, Number.MAX_SAFE_INTEGER, '');

/**
 * A duration bounded to [min, max] (given as durations, e.g. '1m', '7d'). A duration that
 * arms a timer (`timer`, the default) must stay under MAX_TIMER_MS.
 */
export function durationIn(min: string, max: string, use: 'timer' | 'age' = 'timer') {
  const hi = parseDuration(max);
  if (use === 'timer' && hi > MAX_TIMER_MS) throw new Error(`duration bound ${max} exceeds the timer limit`);
  return durationBetween(parseDuration(min), hi, ` from ${min} to ${max}`);
}

function durationBetween(lo: number, hi: number, range: string) {
  return z.union([z.string(), z.number().nonnegative()]).transform((v, ctx) => {
    const m = typeof v === 'string' ? DURATION.exec(v.trim()) : undefined;
    const ms =
      typeof v === 'number' ? v * 1000 : m ? Number(m[1]) * (UNIT_MS[m[2] as string] as number) : NaN;
    if (!(ms >= lo && ms <= hi)) {
      const message = range
        ? `expected a duration${range} (a number with ms, s, m, h or d)`
        : 'expected a duration such as 30s, 15m, 6h or 1d';
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }
    return ms;
  });
}

function parseDuration(text: string): number {
  const m = DURATION.exec(text) as RegExpExecArray;
  return Number(m[1]) * (UNIT_MS[m[2] as string] as number);
}

/** An integer in [min, max]; the message names both bounds. */
export function intIn(min: number, max: number) {
  return z
    .number()
    .int()
    .min(min, `expected an integer from ${min} to ${max}`)
    .max(max, `expected an integer from ${min} to ${max}`);
}

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export const releaseSchema = z.strictObject({
  channel: z.enum(CHANNELS),
  board: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'expected a board name such as amd64-usr'),
  versions: z.array(z.string().regex(VERSION_SPEC, VERSION_SPEC_EXPECTED)).min(1).default(['current']),
  keep: intIn(1, 1000).default(3),
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
  maxTransfers: intIn(1, 10_000).default(100),
  maxPerClient: intIn(1, 10_000).default(8),
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
  interval: durationIn('1m', '7d').default(6 * 3_600_000),
  staleAfter: durationIn('1m', '365d', 'age').default(2 * 86_400_000),
  retries: intIn(0, 20).default(4),
  /** First retry delay; doubles per attempt (capped at 30 s). */
  retryDelay: durationIn('0s', '30s').default(1_000),
  timeout: durationIn('100ms', '1h').default(30_000),
  /** Let `current` move to a lower version than it points at now. */
  allowDowngrade: z.boolean().default(false),
  /** Publish a version whose signed artifacts are byte-identical to another version's. */
  allowDuplicateRelease: z.boolean().default(false),
  /** Derive the fast-install files (.zst, bmap, digests) of every verified release image. */
  deriveImages: z.boolean().default(true),
  /** zstd level of the derived .zst (measured in BENCHMARKS.md: 3 is as small as 9-15 on Flatcar-like images). */
  zstdLevel: intIn(1, 19).default(3),
  /** zstd --long window log, 0 = off (no gain measured; a window above 27 needs decoder flags). */
  zstdLong: intIn(0, 27)
    .refine((v) => v === 0 || v >= 10, 'expected 0 (off) or a window log from 10 to 27')
    .default(0),
  /** Threads for lbzip2 and zstd while deriving; 0 = one per core (the work runs at nice 19). */
  deriveThreads: intIn(0, 256).default(0),
  releases: z
    .array(releaseSchema)
    .default([{ channel: 'stable', board: 'amd64-usr', versions: ['current'], keep: 3, files: [] }]),
  /** Also mirror the update payloads of the mirrored versions (docs/updates.md). */
  updates: z.boolean().default(false),
  updateUpstream: z
    .string()
    .regex(/^https?:\/\/\S+$/, 'expected an http(s) URL template such as https://update.example/{board}')
    .default('https://update.release.flatcar-linux.net/{board}'),
  /** Extension payloads published beside flatcar_production_update.gz (oem-<id>.gz, flatcar-<name>.gz). */
  updateFiles: z
    .array(
      z.string().regex(/^(oem|flatcar)-[A-Za-z0-9._-]+\.gz$/, 'expected oem-<id>.gz or flatcar-<name>.gz'),
    )
    .default([]),
});

/** A DNS name (or a `.example.com` suffix) the Host header may carry; IP literals are always allowed. */
const HOST_NAME = /^\.?[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$/;

const httpSchema = z.strictObject({
  listen: listenSchema.default('0.0.0.0:8080'),
  drainTimeout: durationIn('0s', '10m').default(10_000),
  /** Time a client has to send the request line and headers. */
  headerTimeout: durationIn('1s', '10m').default(10_000),
  /** Time a client has, after its headers, to send the request body. */
  bodyTimeout: durationIn('1s', '10m').default(30_000),
  /** A connection with no traffic either way for this long is closed (a stalled download too). */
  idleTimeout: durationIn('5s', '1h').default(120_000),
  maxConnections: intIn(16, 65_536).default(4096),
  maxConnectionsPerClient: intIn(1, 65_536).default(256),
  /** Extra names browsers may reach /ui and /api by (DNS-rebinding check), besides publicUrl's. */
  allowedHosts: z
    .array(z.string().regex(HOST_NAME, 'expected a host name such as railyard.example.com or .example.com'))
    .default([]),
});

const uiSchema = z.strictObject({
  /** Unauthenticated read-only dashboard and GET API; writes still need the admin credential. */
  public: z.boolean().default(false),
  /** A dashboard sign-in lasts this long. */
  sessionTtl: durationIn('5m', '30d', 'age').default(12 * 3_600_000),
});

const stateSchema = z.strictObject({
  driver: z.enum(['sqlite', 'postgres']).default('sqlite'),
  path: z.string().min(1).optional(),
  /** driver postgres: a libpq-style URL, postgres://user:password@host:port/database (password never shown). */
  url: z
    .string()
    .regex(
      /^postgres(ql)?:\/\/\S+$/,
      'expected a postgres:// URL such as postgres://railyard:…@db.example:5432/railyard',
    )
    .optional(),
  /** driver postgres: connections per instance. */
  poolSize: intIn(1, 500).default(10),
  /** Events kept per machine (oldest deleted first). */
  eventsPerMachine: intIn(100, 1_000_000).default(2000),
  /** Install attempts kept per machine, the open one included (oldest closed deleted first, with their events). */
  attemptsPerMachine: intIn(2, 10_000).default(100),
});

const adminSchema = z.strictObject({
  token: z
    .string()
    .min(16, 'expected at least 16 characters')
    .max(1024, 'expected at most 1024 characters')
    .regex(/^[\x21-\x7e]+$/, 'expected printable ASCII without spaces')
    .optional(),
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

const updatesSchema = z.strictObject({
  /** A rollout slot frees when its machine shows no progress for this long (docs/updates.md). */
  slotTimeout: durationIn('1m', '30d', 'age').default(3_600_000),
  /** Machine-ids railyard never installed that it keeps a record of (least recently seen go first). */
  maxUnknown: intIn(0, 1_000_000).default(1000),
});

const installerSchema = z.strictObject({
  cacheEntries: intIn(1, 100_000).default(1000),
  failedRetries: intIn(0, 100).default(3),
  /** Serve an attempt's installer only to the client IP that received its install script. */
  bindClientIp: z.boolean().default(true),
  /** Hardware known to hang after kexec: it reboots instead (docs/handoff.md). */
  kexecDeny: z.array(kexecDenyEntrySchema).max(1000, 'expected at most 1000 entries').default([]),
});

/** Warm pools (docs/pool.md): server-wide defaults; a group's `pool:` may override `refresh`. */
const poolSchema = z.strictObject({
  /** A pooled machine that has not long-polled for this long leaves the pool (event pool-vanished). */
  vanishAfter: durationIn('10s', '7d').default(180_000),
  /** When the pool's release moves: refresh pooled machines in the background, or rewrite on claim. */
  refresh: z.enum(POOL_REFRESH).default('background'),
  /** Pooled machines refreshed (rewritten) at the same time, per pool group. */
  refreshConcurrency: intIn(1, 1000).default(2),
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
  ui: uiSchema.default(uiSchema.parse({})),
  installer: installerSchema.default(installerSchema.parse({})),
  updates: updatesSchema.default(updatesSchema.parse({})),
  pool: poolSchema.default(poolSchema.parse({})),
});

/** Keys whose values are secrets: never echoed in errors or logs. */
export const SECRET_KEYS: ReadonlySet<string> = new Set(['admin.token']);

export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
export type ReleaseConfig = z.output<typeof releaseSchema>;

/** Dotted paths of every leaf key that an env var `RAILYARD_<SECTION>_<KEY>` may set. */
export function leafPaths(): string[] {
  return [...leafSchemas().keys()];
}

/**
 * Leaf keys whose value is a plain string (tokens, URLs, paths): their environment values
 * are taken verbatim, never parsed as YAML (`RAILYARD_ADMIN_TOKEN=0x1234…` stays a string).
 */
export function isStringKey(path: string): boolean {
  const schema = leafSchemas().get(path);
  return schema !== undefined && acceptsOnlyStrings(schema);
}

function leafSchemas(): Map<string, z.ZodType> {
  const out = new Map<string, z.ZodType>();
  for (const [key, schema] of Object.entries(configSchema.shape)) {
    const inner = unwrapObject(schema);
    if (inner) for (const [sub, s] of Object.entries(inner.shape)) out.set(`${key}.${sub}`, s as z.ZodType);
    else out.set(key, schema);
  }
  return out;
}

function acceptsOnlyStrings(schema: z.ZodType): boolean {
  let s: z.ZodType = schema;
  for (let i = 0; i < 6; i++) {
    if (s instanceof z.ZodString) return true;
    if (s instanceof z.ZodDefault || s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
    else if (s instanceof z.ZodPipe) s = s.in as z.ZodType;
    else return false;
  }
  return false;
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
