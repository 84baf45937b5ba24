// The hand-off script (assets/templates/handoff.sh.mustache), shipped beside install.sh. It
// holds nothing of one attempt (its report URL and token are in attempt.env, script.ts), so
// machines of one profile and plan get the same bytes (installer/shared-contents.ts). As in script.ts, every value is checked against a narrow pattern, then
// shell-quoted, so nothing a profile, a fact or the config says can change its meaning.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidRequestError } from '../errors.ts';
import { PACKAGE_ROOT } from '../package-root.ts';
import { missingNames, render } from '../render/template.ts';
import type { HandoffPlan } from './handoff-plan.ts';
import { check, DISK_PATTERN, type ScriptTemplate, shellQuote } from './script.ts';

// PACKAGE_ROOT, not import.meta.url: the compiled build runs from dist/ (package-root.ts)
export const HANDOFF_SCRIPT_TEMPLATE = join(PACKAGE_ROOT, 'assets/templates/handoff.sh.mustache');

const PRINTABLE = /^[\x20-\x7e]{0,400}$/;
const KERNEL_ARG = /^[^\s"'$\\`]{1,256}$/;

export interface HandoffValues {
  /** `/dev/...` or `smallest` (then the script reads the disk from flatcar-install's output). */
  installDisk: string;
  plan: HandoffPlan;
  /** Ignition kernelArguments.shouldExist of the installed system (kernel-args.ts). */
  kernelArgs: readonly string[];
}

let cached: ScriptTemplate | undefined;

/** Load (once) the template; call at startup so a missing file fails early. */
export function handoffScriptTemplate(): ScriptTemplate {
  if (!cached) {
    const text = readFileSync(HANDOFF_SCRIPT_TEMPLATE, 'utf8');
    cached = { text, revision: createHash('sha256').update(text).digest('hex').slice(0, 16) };
  }
  return cached;
}

export function renderHandoffScript(
  values: HandoffValues,
  template: ScriptTemplate = handoffScriptTemplate(),
): string {
  const view = handoffView(values);
  const missing = missingNames(template.text, view);
  if (missing.length > 0)
    throw new InvalidRequestError(`handoff script template uses unknown names: ${missing.join(', ')}`);
  return render(template.text, view);
}

/** What handoff.sh is rendered from, checked (nothing of one attempt: attempt.env has that). */
export function handoffView(v: HandoffValues): Record<string, unknown> {
  check('install disk', v.installDisk, DISK_PATTERN);
  const { plan } = v;
  text('hand-off reason', plan.reason ?? '', PRINTABLE);
  for (const arg of v.kernelArgs) text('kernel argument', arg, KERNEL_ARG);
  for (const d of plan.dmiDeny) {
    text('kexecDeny manufacturer', d.manufacturer, PRINTABLE);
    text('kexecDeny product', d.product, PRINTABLE);
  }
  return {
    installDisk: v.installDisk === 'smallest' ? "''" : shellQuote(v.installDisk),
    method: plan.method,
    reason: shellQuote(plan.reason ?? ''),
    kexecArgs: plan.kexecChecks ? '' : '-i',
    kernelArgs: v.kernelArgs.map(shellQuote).join(' '),
    dmiDeny: plan.dmiDeny
      .map((d) => `${d.index} ${shellQuote(d.manufacturer)} ${shellQuote(d.product)}`)
      .join(' '),
  };
}

/** Free text (single-quoted in the script): only the pattern matters. */
function text(what: string, value: string, pattern: RegExp): void {
  if (!pattern.test(value))
    throw new InvalidRequestError(`installer: invalid ${what} ${JSON.stringify(value)}`);
}
