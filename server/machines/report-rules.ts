// Which report an attempt accepts, with which credential, and what follows: one row per
// report type. A report that does not fit is refused with a ConflictError that says why,
// and nothing changes (the store runs `reportStep` inside the transaction that records it).
// The machine's own state follows from the event (state.ts applyEvent).
import { ConflictError } from '../errors.ts';
import { type AttemptState, type InstallAttempt, isOpen } from './attempt.ts';
import type { ReportType } from './report.ts';

/** install: embedded in the installer (script); first-boot: in the installed system's unit. */
export type Credential = 'install' | 'first-boot';

export interface ReportRule {
  credential: Credential;
  /** Attempt states the report is accepted in. */
  from: readonly AttemptState[];
  /** The attempt's state afterwards; undefined leaves it as it is. */
  to?: AttemptState;
}

// Reports are best effort (curl retries, then gives up): a lost `install-started` must not
// turn the `installed` that follows into a 409, so later reports also accept `served`.
export const REPORT_RULES: Readonly<Record<ReportType, ReportRule>> = {
  'install-started': { credential: 'install', from: ['served'], to: 'installing' },
  progress: { credential: 'install', from: ['served', 'installing'], to: 'installing' },
  installed: { credential: 'install', from: ['served', 'installing'], to: 'installed' },
  'install-failed': { credential: 'install', from: ['served', 'installing'], to: 'failed' },
  handoff: { credential: 'install', from: ['installed'], to: 'handed-off' },
  'first-boot': { credential: 'first-boot', from: ['installed', 'handed-off'], to: 'provisioned' },
};

/** The attempt's state after accepting `type`; throws ConflictError when it does not fit. */
export function reportStep(type: ReportType, attempt: Pick<InstallAttempt, 'id' | 'state'>): AttemptState {
  const rule = REPORT_RULES[type];
  if (!isOpen(attempt.state)) {
    throw new ConflictError(`attempt ${attempt.id} is closed (${attempt.state}): it accepts no more reports`);
  }
  if (!rule.from.includes(attempt.state)) {
    throw new ConflictError(
      `${type} does not fit attempt ${attempt.id}: it is ${attempt.state}, and ${type} is accepted only while ${rule.from.join(' or ')}`,
    );
  }
  return rule.to ?? attempt.state;
}
