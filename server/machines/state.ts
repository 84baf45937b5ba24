// Machine provisioning state: a pure reducer over events. Every state change is an event
// (with timestamp and source); the store appends the event and saves the reduced machine
// in one transaction. Installer reports are accepted in any order: the state follows the
// latest report, because the node knows better than our guess about what it is doing.
import type { Facts, Mac } from './identity.ts';

export const MACHINE_STATES = [
  'new',
  'installing',
  'installed',
  'provisioned',
  'failed',
  'reprovision-requested',
  // Warm pool (docs/pool.md): written and waiting in RAM for a claim; claimed, not yet installed.
  'pooled',
  'claimed',
] as const;
export type MachineState = (typeof MACHINE_STATES)[number];

export const EVENT_TYPES = [
  'install-script-served',
  'kernel-fetched',
  'initrd-fetched',
  'installer-fetched',
  'install-started',
  'progress',
  'installed',
  'install-failed',
  'handoff',
  'disk-boot-script-served',
  'first-boot',
  'reprovision-requested',
  'failure-script-served',
  // Updates of the installed system (server/updates): timeline only.
  'update-offered',
  'update-download-started',
  'update-download-finished',
  'update-installed',
  'update-rebooted',
  'update-failed',
  'update-deferred',
  // Warm pool (docs/pool.md).
  'pooled',
  'pool-claimed',
  'claim-delivered',
  'pool-released',
  'pool-vanished',
  'pool-refresh',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Who caused the event: railyard's HTTP edge, the installer script, an admin, the installed node. */
export const EVENT_SOURCES = ['http', 'installer', 'admin', 'node'] as const;
export type EventSource = (typeof EVENT_SOURCES)[number];

/** Extra event data (bytes, durationMs, exitCode, output, ignitionSha256, …): JSON values only. */
export type EventData = Record<string, string | number | boolean | null>;

export interface MachineEvent {
  type: EventType;
  source: EventSource;
  /** ISO 8601 timestamp (UTC). */
  at: string;
  data: EventData;
}

export interface Machine {
  /** Canonical MAC (lower-case, colons). */
  mac: Mac;
  state: MachineState;
  /** Failed install attempts since the last reprovision request. */
  failures: number;
  /** Why the latest install failed; null once installed or reprovisioned. */
  failureReason: string | null;
  facts: Facts;
  /** Profile and group ids the machine last matched; null when never matched. */
  profile: string | null;
  group: string | null;
  firstSeen: string;
  lastSeen: string;
}

export function newMachine(mac: Mac, at: string): Machine {
  return {
    mac,
    state: 'new',
    failures: 0,
    failureReason: null,
    facts: {},
    profile: null,
    group: null,
    firstSeen: at,
    lastSeen: at,
  };
}

/** The state after `event`; events that only add to the timeline return the state unchanged. */
export function applyEvent(machine: Machine, event: MachineEvent): Machine {
  const next: Machine = { ...machine, lastSeen: later(machine.lastSeen, event.at) };
  switch (event.type) {
    case 'install-script-served':
    case 'install-started':
      return { ...next, state: 'installing' };
    case 'installed':
      return { ...next, state: 'installed', failureReason: null };
    case 'install-failed':
      return {
        ...next,
        state: 'failed',
        failures: machine.failures + 1,
        failureReason: failureReason(event.data),
      };
    case 'disk-boot-script-served':
      return machine.state === 'installed' ? { ...next, state: 'provisioned' } : next;
    case 'first-boot':
      return { ...next, state: 'provisioned', failureReason: null };
    case 'reprovision-requested':
      return { ...next, state: 'reprovision-requested', failures: 0, failureReason: null };
    case 'pooled':
    case 'pool-released':
      return { ...next, state: 'pooled', failures: 0, failureReason: null };
    case 'pool-claimed':
      return { ...next, state: 'claimed' };
    case 'pool-vanished':
      // Left the pool: its next PXE boot enters it again (a rewrite only if its disk changed).
      return { ...next, state: 'new' };
    default:
      return next;
  }
}

function failureReason(data: EventData): string {
  const parts: string[] = [];
  if (typeof data['exitCode'] === 'number') parts.push(`flatcar-install exited with ${data['exitCode']}`);
  if (typeof data['reason'] === 'string') parts.push(data['reason']);
  const output = typeof data['output'] === 'string' ? telling(data['output']) : undefined;
  if (output) parts.push(output);
  return parts.join(': ') || 'install failed (no reason given)';
}

/**
 * The output line that says what went wrong: the last one mentioning a failure (gpg's "BAD
 * signature", "error", "failed"), not the installer's clean-up chatter after it; else the
 * last line.
 */
function telling(output: string): string | undefined {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return (
    lines.findLast((l) =>
      /\b(bad|error|fail(ed|ure)?|cannot|can't|denied|no such|not found|invalid)\b/i.test(l),
    ) ?? lines.at(-1)
  );
}

function later(a: string, b: string): string {
  return b > a ? b : a;
}
