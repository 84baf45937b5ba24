// What a client's Omaha events mean for its update record and its machine's timeline
// (pure). Event types and results as update_engine sends them (omaha_request_action.h
// OmahaEvent; update_attempter.cc): 13/1 download started, 14/1 download finished, 3/1
// update complete (installed, reboot needed), 3/2 with previousversion on the first check
// after a boot, result 0 an error with its action code, 9 deferred. 1 and 2 (download and
// install complete) are older clients' spellings and read the same way.
import type { EventData, EventType } from '../machines/state.ts';
import { SLOT_STATES, type UpdateClient } from './client.ts';
import { decodeActionCode } from './codes.ts';
import type { OmahaEvent } from './omaha-request.ts';
import { compareVersions, parseVersion } from './versions.ts';

export interface EventOutcome {
  client: UpdateClient;
  /** Timeline event for a known machine; undefined for noise (a boot that followed no update). */
  timeline: { type: EventType; data: EventData } | undefined;
  /** For metrics: what happened. */
  kind:
    | 'download-started'
    | 'downloaded'
    | 'installed'
    | 'complete'
    | 'failed'
    | 'deferred'
    | 'boot'
    | 'other';
}

const NO_SLOT = { slotSince: null } as const;

/** Apply one event to the client; `now` refreshes a held slot (progress). */
export function applyOmahaEvent(c: UpdateClient, e: OmahaEvent, now: string): EventOutcome {
  const progress = (
    state: UpdateClient['state'],
    kind: EventOutcome['kind'],
    type: EventType,
  ): EventOutcome => ({
    client: {
      ...c,
      state,
      lastResult: kind,
      slotSince: c.slotSince !== null && SLOT_STATES.has(state) ? now : c.slotSince,
    },
    timeline: { type, data: versionData(c) },
    kind,
  });
  if (e.result === 0) return failed(c, e);
  if (e.result === 9)
    return {
      client: { ...c, ...NO_SLOT, state: 'deferred', lastResult: 'deferred' },
      timeline: { type: 'update-deferred', data: { ...versionData(c), eventType: e.type } },
      kind: 'deferred',
    };
  if (e.type === 13) return progress('downloading', 'download-started', 'update-download-started');
  if (e.type === 14 || e.type === 1) return progress('downloaded', 'downloaded', 'update-download-finished');
  if ((e.type === 3 || e.type === 2) && e.result === 1)
    return progress('installed', 'installed', 'update-installed');
  if (e.type === 3 && e.result === 2) return booted(c, e);
  return { client: c, timeline: undefined, kind: 'other' };
}

/** 3/2: the first check after a boot. With a real previousversion the machine rebooted into an update. */
function booted(c: UpdateClient, e: OmahaEvent): EventOutcome {
  const prev = e.previousVersion;
  const updated = prev !== undefined && prev !== '0.0.0.0' && prev !== c.version;
  const reached = c.target !== null && reachedTarget(c);
  if (!updated && !reached) return { client: c, timeline: undefined, kind: 'boot' };
  return {
    client: { ...c, ...NO_SLOT, state: 'complete', lastResult: 'complete', errorCode: null },
    timeline: {
      type: 'update-rebooted',
      data: { version: c.version, previousVersion: prev ?? null, target: c.target },
    },
    kind: 'complete',
  };
}

function failed(c: UpdateClient, e: OmahaEvent): EventOutcome {
  const d = decodeActionCode(e.errorCode ?? 1);
  return {
    client: { ...c, ...NO_SLOT, state: 'failed', lastResult: `error ${d.code} ${d.name}`, errorCode: d.code },
    timeline: {
      type: 'update-failed',
      data: {
        ...versionData(c),
        eventType: e.type,
        errorCode: d.code,
        error: d.name,
        flags: d.flags.join(',') || null,
      },
    },
    kind: 'failed',
  };
}

/** The client runs its target (or something newer). */
export function reachedTarget(c: UpdateClient): boolean {
  if (c.target === null || !parseVersion(c.version) || !parseVersion(c.target)) return false;
  return compareVersions(c.version, c.target) >= 0;
}

function versionData(c: UpdateClient): EventData {
  return { version: c.version, target: c.target };
}
