// Read models and admin actions over a StateStore, shared by the HTTP API, the CLI and the
// dashboard.
import { NotFoundError } from '../errors.ts';
import { afterReprovision, type InstallAttempt } from '../machines/attempt.ts';
import type { Mac } from '../machines/identity.ts';
import type { Machine } from '../machines/state.ts';
import { type PhaseSpan, timeline } from '../machines/timeline.ts';
import type { Recorded, StateStore, StoredAttempt, StoredEvent } from './state-store.ts';

/** An attempt as the API shows it: no credential material; its own events and phases. */
export interface AttemptDetail extends InstallAttempt {
  timeline: PhaseSpan[];
  events: StoredEvent[];
}

export interface MachineDetail {
  machine: Machine;
  /** The latest attempt's phases (as `attempts[0].timeline`). */
  timeline: PhaseSpan[];
  /** The newest events, oldest first, each naming its attempt (or null). */
  events: StoredEvent[];
  /** The newest attempts first, each with the events of `events` that belong to it. */
  attempts: AttemptDetail[];
}

/** An attempt without its nonce and token hashes. */
export function publicAttempt(a: StoredAttempt): InstallAttempt {
  const { secrets: _secrets, ...rest } = a;
  return rest;
}

/** Events grouped by attempt: each attempt with its own events and phase timeline. */
export function groupByAttempt(
  attempts: readonly StoredAttempt[],
  events: readonly StoredEvent[],
): AttemptDetail[] {
  return attempts.map((a) => {
    const own = events.filter((e) => e.attemptId === a.id);
    return { ...publicAttempt(a), timeline: timeline(own), events: own };
  });
}

/** GET /api/v1/machines/<mac>: state, facts, attempts with their timelines, recent events. */
export async function machineDetail(
  store: StateStore,
  mac: Mac,
  eventLimit = 200,
  attemptLimit = 20,
): Promise<MachineDetail> {
  const machine = await store.getMachine(mac);
  if (!machine) throw new NotFoundError(`no machine ${mac} (never seen)`);
  const events = await store.events(mac, { limit: eventLimit });
  const attempts = groupByAttempt(await store.attempts(mac, { limit: attemptLimit }), events);
  const latest = attempts[0];
  return { machine, timeline: latest ? latest.timeline : timeline(events), events, attempts };
}

/**
 * POST /api/v1/machines/<mac>/reprovision (admin): the next PXE boot installs again. The
 * open attempt, if any, is cancelled: its credentials stop working.
 */
export async function requestReprovision(
  store: StateStore,
  mac: Mac,
  source: 'admin' = 'admin',
): Promise<Recorded> {
  if (!(await store.getMachine(mac))) throw new NotFoundError(`no machine ${mac} (never seen)`);
  return store.recordEvent(mac, { type: 'reprovision-requested', source }, {}, afterReprovision);
}

/**
 * Versions machines are installing right now (open attempts not yet installed), per
 * channel/board: mirror retention must keep them.
 */
export function versionsInstalling(store: StateStore): (channel: string, board: string) => Promise<string[]> {
  return (channel, board) => store.installingVersions(channel, board);
}
