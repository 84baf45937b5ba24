// The installer script (assets/templates/install.sh.mustache), rendered per machine. Every
// value is validated against a narrow pattern and then shell-quoted, so nothing a profile,
// a fact or the config says can change the script's meaning.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidRequestError } from '../errors.ts';
import { canonicalMac } from '../machines/identity.ts';
import { PACKAGE_ROOT } from '../package-root.ts';
import { missingNames, render } from '../render/template.ts';
import { TOKEN_PATTERN } from './tokens.ts';

export const INSTALL_SCRIPT_TEMPLATE = join(PACKAGE_ROOT, 'assets/templates/install.sh.mustache');

const URL_PATTERN = /^https?:\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?(\/[A-Za-z0-9._~%/:@+=,-]*)?$/;
const DISK_PATTERN = /^(smallest|\/dev\/[A-Za-z0-9/_.:-]+)$/;
const VERSION_PATTERN = /^\d+\.\d+\.\d+$/;

export interface ScriptValues {
  mac: string;
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
}

export interface ScriptTemplate {
  text: string;
  /** Content hash: part of the installer cache key. */
  revision: string;
}

let cached: ScriptTemplate | undefined;

/** Load (once) the script template; call at startup so a missing file fails early. */
export function installScriptTemplate(): ScriptTemplate {
  if (!cached) {
    const text = readFileSync(INSTALL_SCRIPT_TEMPLATE, 'utf8');
    cached = { text, revision: createHash('sha256').update(text).digest('hex').slice(0, 16) };
  }
  return cached;
}

export function renderInstallScript(
  values: ScriptValues,
  template: ScriptTemplate = installScriptTemplate(),
): string {
  const view = scriptView(values);
  const missing = missingNames(template.text, view);
  if (missing.length > 0)
    throw new InvalidRequestError(`install script template uses unknown names: ${missing.join(', ')}`);
  return render(template.text, view);
}

function scriptView(v: ScriptValues): Record<string, unknown> {
  const mac = canonicalMac(v.mac);
  check('report URL', v.reportUrl, URL_PATTERN);
  check('mirror base URL', v.mirrorBase, URL_PATTERN);
  check('install disk', v.installDisk, DISK_PATTERN);
  check('version', v.version, VERSION_PATTERN);
  check('token', v.token, TOKEN_PATTERN);
  if (!Number.isSafeInteger(v.attemptId) || v.attemptId < 1)
    throw new InvalidRequestError(`installer: invalid attempt id ${v.attemptId}`);
  return {
    mac,
    attemptId: v.attemptId,
    version: v.version,
    reportUrl: shellQuote(v.reportUrl),
    token: shellQuote(v.token),
    mirrorBase: shellQuote(v.mirrorBase.replace(/\/+$/, '')),
    diskArgs: v.installDisk === 'smallest' ? '-s' : `-d ${shellQuote(v.installDisk)}`,
    keyring: v.keyring,
  };
}

function check(what: string, value: string, pattern: RegExp): void {
  if (!pattern.test(value) || value.includes('..')) {
    throw new InvalidRequestError(`installer: invalid ${what} ${JSON.stringify(value)}`);
  }
}

/** POSIX single quoting: safe for any string. */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** `<publicUrl>/api/v1/machines/<mac>/attempts/<id>/events`: where the attempt's reports go. */
export function reportUrl(publicUrl: string, mac: string, attemptId: number): string {
  if (!Number.isSafeInteger(attemptId) || attemptId < 1)
    throw new InvalidRequestError(`installer: invalid attempt id ${attemptId}`);
  return `${publicUrl.replace(/\/+$/, '')}/api/v1/machines/${canonicalMac(mac)}/attempts/${attemptId}/events`;
}
