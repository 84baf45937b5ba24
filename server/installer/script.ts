// The installer script (assets/templates/install.sh.mustache), rendered per machine. Every
// value is validated against a narrow pattern and then shell-quoted, so nothing a profile,
// a fact or the config says can change the script's meaning.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidRequestError } from '../errors.ts';
import type { Mac } from '../machines/identity.ts';
import { PACKAGE_ROOT } from '../package-root.ts';
import { missingNames, render } from '../render/template.ts';
import { BZ2_PLAN, type ImagePlan } from './image-plan.ts';
import { TOKEN_PATTERN } from './tokens.ts';

export const INSTALL_SCRIPT_TEMPLATE = join(PACKAGE_ROOT, 'assets/templates/install.sh.mustache');
export const POOL_SCRIPT_TEMPLATE = join(PACKAGE_ROOT, 'assets/templates/pool.sh.mustache');
export const WRITE_IMAGE_TEMPLATE = join(PACKAGE_ROOT, 'assets/templates/write-image.sh.mustache');

export const URL_PATTERN =
  /^https?:\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?(\/[A-Za-z0-9._~%/:@+=,-]*)?$/;
export const DISK_PATTERN = /^(smallest|\/dev\/[A-Za-z0-9/_.:-]+)$/;
const VERSION_PATTERN = /^\d+\.\d+\.\d+$/;
/** A canonical MAC (the `Mac` type says so; checked again because it goes into a script). */
export const MAC_PATTERN = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

export interface ScriptValues {
  mac: Mac;
  /** The install attempt this installer belongs to. */
  attemptId: number;
  reportUrl: string;
  token: string;
  /** `/dev/...` or `smallest` (flatcar-install -s). */
  installDisk: string;
  mirrorBase: string;
  /** A resolved release version X.Y.Z (never `current`: the mirror may move on mid-rollout). */
  version: string;
  keyring: boolean;
  /** The image path of this attempt (image-plan.ts); the .bz2 path when absent. */
  image?: ImagePlan | undefined;
}

export interface ScriptTemplate {
  text: string;
  /** Content hash: part of the installer cache key. */
  revision: string;
}

const cached = new Map<string, ScriptTemplate>();

function loadTemplate(path: string): ScriptTemplate {
  let t = cached.get(path);
  if (!t) {
    const text = readFileSync(path, 'utf8');
    t = { text, revision: createHash('sha256').update(text).digest('hex').slice(0, 16) };
    cached.set(path, t);
  }
  return t;
}

/** Load (once) the script template; call at startup so a missing file fails early. */
export function installScriptTemplate(): ScriptTemplate {
  return loadTemplate(INSTALL_SCRIPT_TEMPLATE);
}

/** The image writer (write-image.sh) that install.sh runs; loaded once like the script. */
export function writeImageTemplate(): ScriptTemplate {
  return loadTemplate(WRITE_IMAGE_TEMPLATE);
}

/** The warm-pool script (pool.sh) a pool attempt runs instead of install.sh (docs/pool.md). */
export function poolScriptTemplate(): ScriptTemplate {
  return loadTemplate(POOL_SCRIPT_TEMPLATE);
}

/**
 * pool.sh: `claimUrl` is the machine's long-poll; the image id its disk marker names is the
 * pinned SHA-256 of the zstd stream, or (bz2 path, no digest pinned) that of `bz2 <version>`.
 */
export function renderPoolScript(
  values: ScriptValues,
  claimUrl: string,
  template: ScriptTemplate = poolScriptTemplate(),
): string {
  check('claim URL', claimUrl, URL_PATTERN);
  const zstd = values.image?.format === 'zstd' ? values.image.zstd : undefined;
  const imageId = zstd?.sha256 ?? createHash('sha256').update(`bz2 ${values.version}`).digest('hex');
  check('image digest', imageId, SHA256);
  return renderChecked('pool script', template, {
    ...scriptView(values),
    claimUrl: shellQuote(claimUrl),
    imageId: shellQuote(imageId),
  });
}

/** `<publicUrl>/api/v1/machines/<mac>/claim`: a pooled machine's long-poll. */
export function claimUrl(publicUrl: string, mac: Mac): string {
  return `${publicUrl.replace(/\/+$/, '')}/api/v1/machines/${mac}/claim`;
}

export function renderInstallScript(
  values: ScriptValues,
  template: ScriptTemplate = installScriptTemplate(),
): string {
  return renderChecked('install script', template, scriptView(values));
}

export function renderWriteImage(
  values: ScriptValues,
  template: ScriptTemplate = writeImageTemplate(),
): string {
  return renderChecked('image writer', template, writeImageView(values));
}

/**
 * What write-image.sh is rendered from: checked, and nothing of one attempt (no MAC, token,
 * report URL: attempt.env has them), so machines of one profile and plan share it; a template
 * naming anything else fails as an unknown name.
 */
export function writeImageView(values: ScriptValues): Record<string, unknown> {
  return { ...sharedView(values), ...imageView(values.image ?? BZ2_PLAN) };
}

/**
 * attempt.env (0600, beside the scripts): the attempt's report URL and token, which
 * write-image.sh and handoff.sh source, so those two are the same for every machine of a
 * profile and plan and are encoded once (shared-contents.ts).
 */
export function renderAttemptEnv(
  values: Pick<ScriptValues, 'mac' | 'attemptId' | 'reportUrl' | 'token'>,
): string {
  check('MAC', values.mac, MAC_PATTERN);
  check('report URL', values.reportUrl, URL_PATTERN);
  check('token', values.token, TOKEN_PATTERN);
  checkAttemptId(values.attemptId);
  return [
    `# railyard: install attempt ${values.attemptId} of ${values.mac} (sourced by write-image.sh and handoff.sh)`,
    `REPORT_URL=${shellQuote(values.reportUrl)}`,
    `TOKEN=${shellQuote(values.token)}`,
    '',
  ].join('\n');
}

function renderChecked(what: string, template: ScriptTemplate, view: Record<string, unknown>): string {
  const missing = missingNames(template.text, view);
  if (missing.length > 0)
    throw new InvalidRequestError(`${what} template uses unknown names: ${missing.join(', ')}`);
  return render(template.text, view);
}

const SHA256 = /^[0-9a-f]{64}$/;
const REASON = /^[\x20-\x7e]{1,300}$/;

/** The image plan's values, checked and shell-quoted (empty strings on the bz2 path). */
function imageView(plan: ImagePlan): Record<string, string> {
  check('image reason', plan.reason, REASON);
  const z = plan.zstd;
  if (plan.format === 'zstd' && !z)
    throw new InvalidRequestError('installer: zstd image plan without its source');
  if (z) {
    for (const u of [z.url, z.mappedUrl, z.spansUrl]) check('image URL', u, URL_PATTERN);
    for (const h of [z.sha256, z.mappedSha256, z.spansSha256, z.spansDataSha256, z.rawSha256])
      check('image digest', h, SHA256);
    for (const n of [z.size, z.mappedSize, z.spansBytes, z.rawSize])
      if (!Number.isSafeInteger(n) || n < 0)
        throw new InvalidRequestError(`installer: invalid image size ${n}`);
  }
  const q = (v: string | number | undefined) => shellQuote(v === undefined ? '' : String(v));
  return {
    format: q(plan.format),
    writer: q(plan.writer),
    planReason: q(plan.reason),
    zstUrl: q(z?.url),
    zstSha256: q(z?.sha256),
    zstSize: q(z?.size ?? 0),
    mappedUrl: q(z?.mappedUrl),
    mappedSha256: q(z?.mappedSha256),
    mappedSize: q(z?.mappedSize ?? 0),
    spansUrl: q(z?.spansUrl),
    spansSha256: q(z?.spansSha256),
    spansDataSha256: q(z?.spansDataSha256),
    spansBytes: q(z?.spansBytes ?? 0),
    rawSize: q(z?.rawSize ?? 0),
  };
}

function scriptView(v: ScriptValues): Record<string, unknown> {
  const mac = v.mac;
  check('MAC', mac, MAC_PATTERN);
  check('report URL', v.reportUrl, URL_PATTERN);
  check('token', v.token, TOKEN_PATTERN);
  checkAttemptId(v.attemptId);
  return {
    ...sharedView(v),
    mac,
    attemptId: v.attemptId,
    reportUrl: shellQuote(v.reportUrl),
    token: shellQuote(v.token),
  };
}

/** The values that are the same for every attempt of a profile and release. */
function sharedView(v: ScriptValues): Record<string, unknown> {
  check('mirror base URL', v.mirrorBase, URL_PATTERN);
  check('install disk', v.installDisk, DISK_PATTERN);
  check('version', v.version, VERSION_PATTERN);
  return {
    version: v.version,
    mirrorBase: shellQuote(v.mirrorBase.replace(/\/+$/, '')),
    disk: shellQuote(v.installDisk),
    diskArgs: v.installDisk === 'smallest' ? '-s' : `-d ${shellQuote(v.installDisk)}`,
    keyring: v.keyring,
  };
}

/** Throws InvalidRequestError unless `value` matches `pattern` (and has no `..`). */
export function check(what: string, value: string, pattern: RegExp): void {
  if (!pattern.test(value) || value.includes('..')) {
    throw new InvalidRequestError(`installer: invalid ${what} ${JSON.stringify(value)}`);
  }
}

function checkAttemptId(id: number): void {
  if (!Number.isSafeInteger(id) || id < 1)
    throw new InvalidRequestError(`installer: invalid attempt id ${id}`);
}

/** POSIX single quoting: safe for any string. */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** `<publicUrl>/api/v1/machines/<mac>/attempts/<id>/events`: where the attempt's reports go. */
export function reportUrl(publicUrl: string, mac: Mac, attemptId: number): string {
  checkAttemptId(attemptId);
  return `${publicUrl.replace(/\/+$/, '')}/api/v1/machines/${mac}/attempts/${attemptId}/events`;
}
