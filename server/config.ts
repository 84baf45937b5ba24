// Load, validate and resolve railyard's configuration. The only module that reads
// environment variables (the CLI passes argv-derived overrides in). Produces one frozen,
// fully-resolved `Config`; a bad value throws ConfigError naming file, key, value and
// what was expected.
import { existsSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import YAML from 'yaml';
import type { z } from 'zod';
import { configSchema, isStringKey, leafPaths, type ParsedConfig, SECRET_KEYS } from './config-schema.ts';
import { ConfigError, redactSecrets } from './errors.ts';
import { type ListenAddress, parseListen } from './listen-address.ts';
import { defaultLogFormat, type LogFormat } from './log.ts';
import { PACKAGE_ROOT } from './package-root.ts';

/** Root of the railyard checkout / package (holds assets/, examples/): see package-root.ts. */
/** listen-address.ts, re-exported for the CLI. */
export { type ListenAddress, PACKAGE_ROOT, parseListen };

export interface Config extends Omit<ParsedConfig, 'tftp' | 'log' | 'mirror' | 'state' | 'machinesDir'> {
  publicUrl: string;
  dataDir: string;
  machinesDir: string;
  /** Where the config came from, for messages. */
  source: string;
  tftp: Omit<ParsedConfig['tftp'], 'listen' | 'root'> & {
    listen: string[];
    root: string;
    /** False when tftp.listen was not set anywhere: startup may fall back to an unprivileged port. */
    listenExplicit: boolean;
  };
  log: { level: ParsedConfig['log']['level']; format: LogFormat };
  mirror: Omit<ParsedConfig['mirror'], 'keyring'> & { keyring: string; stockKeyring: boolean };
  state: ParsedConfig['state'] & { path: string };
}

export interface LoadOptions {
  file?: string | undefined;
  env?: Record<string, string | undefined>;
  /** Dotted-path overrides from command-line flags, e.g. { 'http.listen': '127.0.0.1:9000' }. */
  overrides?: Record<string, unknown>;
  cwd?: string;
}

export const DEFAULT_KEYRING = join(PACKAGE_ROOT, 'assets/keys/flatcar-image-signing-key.asc');

export function loadConfig(options: LoadOptions = {}): Config {
  const cwd = options.cwd ?? process.cwd();
  const file = options.file ? resolve(cwd, options.file) : undefined;
  const raw = file ? readConfigFile(file) : {};
  const fromEnv = applyEnv(raw, options.env ?? {});
  for (const [path, value] of Object.entries(options.overrides ?? {})) {
    if (value !== undefined) setPath(fromEnv.data, path, value);
  }
  const parsed = configSchema.safeParse(fromEnv.data, { reportInput: true });
  if (!parsed.success) throw toConfigError(parsed.error, file, fromEnv.sources);
  const baseDir = file ? dirname(file) : cwd;
  return deepFreeze(
    resolveConfig(parsed.data, { baseDir, cwd, source: file ?? 'built-in defaults', raw: fromEnv.data }),
  );
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `${file}: cannot read config file (${(err as NodeJS.ErrnoException).code ?? err})`,
      { file },
    );
  }
  let data: unknown;
  try {
    data = YAML.parse(text, { prettyErrors: true });
  } catch (err) {
    throw new ConfigError(`${file}: not valid YAML/JSON: ${(err as Error).message}`, { file });
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(`${file}: expected a mapping of config keys at the top level`, { file });
  }
  return data as Record<string, unknown>;
}

/** `publicUrl` → `PUBLIC_URL`, `mirror.autoRefresh` → `MIRROR_AUTO_REFRESH`. */
export function envName(path: string): string {
  return `RAILYARD_${path
    .split('.')
    .map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase())
    .join('_')}`;
}

function applyEnv(raw: Record<string, unknown>, env: Record<string, string | undefined>) {
  const data = structuredClone(raw);
  const sources = new Map<string, string>();
  for (const path of leafPaths()) {
    const names = [envName(path), `RAILYARD_${path.replace(/\./g, '_').toUpperCase()}`];
    const name = names.find((n) => env[n] !== undefined);
    if (!name) continue;
    const value = env[name] as string;
    setPath(data, path, isStringKey(path) ? value : parseEnvValue(value));
    sources.set(path, `environment variable ${name}`);
  }
  return { data, sources };
}

/** Env values are YAML scalars or flow collections: `true`, `8080`, `[a, b]`, `{...}`. */
function parseEnvValue(value: string): unknown {
  try {
    return YAML.parse(value);
  } catch {
    return value;
  }
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1] as string] = value;
}

function toConfigError(
  error: z.ZodError,
  file: string | undefined,
  sources: Map<string, string>,
): ConfigError {
  const lines = error.issues.map((issue) => {
    const key = issue.path.join('.') || '(top level)';
    const where = sources.get(key) ?? (file ? `${file}` : 'configuration');
    const value = 'input' in issue && issue.input !== undefined ? ` = ${shownValue(key, issue.input)}` : '';
    return `${where}: ${key}${value}: ${issue.message}`;
  });
  const first = error.issues[0];
  return new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`, {
    file,
    key: first ? first.path.join('.') : undefined,
  });
}

/** A value as an error message may show it: secrets never (nested ones too), URL passwords masked. */
function shownValue(key: string, input: unknown): string {
  return redactSecrets(JSON.stringify(withoutSecrets(key === '(top level)' ? '' : key, input)));
}

function withoutSecrets(path: string, value: unknown): unknown {
  if (SECRET_KEYS.has(path)) return '[redacted]';
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, withoutSecrets(path ? `${path}.${k}` : k, v)]),
  );
}

interface ResolveContext {
  baseDir: string;
  cwd: string;
  source: string;
  raw: Record<string, unknown>;
}

function resolveConfig(p: ParsedConfig, ctx: ResolveContext): Config {
  const dataDir = resolve(ctx.baseDir, p.dataDir);
  const httpPort = parseListen(p.http.listen).port;
  const tftpListen = p.tftp.listen === undefined ? ['0.0.0.0:69'] : ([] as string[]).concat(p.tftp.listen);
  const keyring = p.mirror.keyring ? resolve(ctx.baseDir, p.mirror.keyring) : DEFAULT_KEYRING;
  return {
    ...p,
    source: ctx.source,
    dataDir,
    publicUrl: p.publicUrl ?? derivePublicUrl(parseListen(p.http.listen).host, httpPort),
    machinesDir: p.machinesDir ? resolve(ctx.baseDir, p.machinesDir) : defaultMachinesDir(dataDir),
    tftp: {
      ...p.tftp,
      listen: tftpListen,
      listenExplicit: p.tftp.listen !== undefined,
      root: p.tftp.root ? resolve(ctx.baseDir, p.tftp.root) : defaultTftpRoot(),
    },
    log: { level: p.log.level, format: p.log.format ?? defaultLogFormat() },
    mirror: { ...p.mirror, keyring, stockKeyring: keyring === DEFAULT_KEYRING },
    state: resolveState(p.state, dataDir, ctx),
  };
}

/** state.path resolved; driver postgres needs state.url (its password is never shown). */
function resolveState(state: ParsedConfig['state'], dataDir: string, ctx: ResolveContext): Config['state'] {
  if (state.driver === 'postgres' && state.url === undefined) {
    throw new ConfigError(
      `${ctx.source}: state.url: state.driver is postgres but no URL is set (state.url or RAILYARD_STATE_URL, e.g. postgres://railyard:…@db:5432/railyard)`,
      { file: ctx.source, key: 'state.url' },
    );
  }
  return { ...state, path: state.path ? resolve(ctx.baseDir, state.path) : join(dataDir, 'state.db') };
}

/** For a wildcard listen address, nodes need a routable one: the first non-internal IPv4. */
function derivePublicUrl(host: string, port: number): string {
  let h = host;
  if (h === '0.0.0.0' || h === '::' || h === '') {
    const addrs = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal);
    h = addrs[0]?.address ?? '127.0.0.1';
  }
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

function defaultMachinesDir(dataDir: string): string {
  const own = join(dataDir, 'machines');
  return existsSync(own) ? own : join(PACKAGE_ROOT, 'examples');
}

function defaultTftpRoot(): string {
  const shipped = join(PACKAGE_ROOT, 'assets/ipxe');
  return existsSync(shipped) ? shipped : '/usr/lib/ipxe';
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
