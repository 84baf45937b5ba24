// Row shapes and mappings shared by the SQL backends (SQLite and PostgreSQL keep the same
// columns: timestamps as ISO-8601 text, facts and event data as JSON text).
import type { AttemptState } from '../machines/attempt.ts';
import { type Facts, type Mac, storedMac } from '../machines/identity.ts';
import type { EventData, Machine } from '../machines/state.ts';
import type { NewAttempt, StoredAttempt, StoredEvent } from './state-store.ts';

export interface MachineRow {
  mac: string;
  state: Machine['state'];
  failures: number;
  failure_reason: string | null;
  facts: string;
  profile: string | null;
  grp: string | null;
  first_seen: string;
  last_seen: string;
}

export interface EventRow extends Omit<StoredEvent, 'data' | 'attemptId'> {
  data: string;
  attempt_id: number | null;
}

export interface AttemptRow {
  id: number;
  mac: string;
  state: AttemptState;
  grp: string;
  profile: string;
  profile_revision: string;
  group_revision: string;
  channel: string;
  board: string;
  version: string;
  install_disk: string;
  phone_home: number;
  facts: string;
  client_ip: string | null;
  opened_at: string;
  closed_at: string | null;
  nonce: string;
  install_token_hash: string;
  first_boot_token_hash: string;
}

export function toMachine(row: MachineRow): Machine {
  return {
    mac: storedMac(row.mac),
    state: row.state,
    failures: row.failures,
    failureReason: row.failure_reason,
    facts: JSON.parse(row.facts) as Facts,
    profile: row.profile,
    group: row.grp,
    firstSeen: row.first_seen,
    lastSeen: row.last_seen,
  };
}

export function toRow(m: Machine): MachineRow {
  return {
    mac: m.mac,
    state: m.state,
    failures: m.failures,
    failure_reason: m.failureReason,
    facts: JSON.stringify(m.facts),
    profile: m.profile,
    grp: m.group,
    first_seen: m.firstSeen,
    last_seen: m.lastSeen,
  };
}

export function toEvent({ attempt_id, data, ...r }: EventRow): StoredEvent {
  return { ...r, data: JSON.parse(data) as EventData, attemptId: attempt_id };
}

export function toAttempt(r: AttemptRow): StoredAttempt {
  return {
    id: r.id,
    mac: storedMac(r.mac),
    state: r.state,
    group: r.grp,
    profile: r.profile,
    profileRevision: r.profile_revision,
    groupRevision: r.group_revision,
    channel: r.channel,
    board: r.board,
    version: r.version,
    installDisk: r.install_disk,
    phoneHome: r.phone_home === 1,
    facts: JSON.parse(r.facts) as Facts,
    clientIp: r.client_ip,
    openedAt: r.opened_at,
    closedAt: r.closed_at,
    secrets: {
      nonce: r.nonce,
      installTokenHash: r.install_token_hash,
      firstBootTokenHash: r.first_boot_token_hash,
    },
  };
}

/** The columns of a new attempt row (as both backends insert it). */
export function attemptColumns(mac: Mac, a: NewAttempt, at: string) {
  return {
    mac,
    grp: a.group,
    profile: a.profile,
    profile_revision: a.profileRevision,
    group_revision: a.groupRevision,
    channel: a.channel,
    board: a.board,
    version: a.version,
    install_disk: a.installDisk,
    phone_home: a.phoneHome ? 1 : 0,
    facts: JSON.stringify(a.facts),
    client_ip: a.clientIp,
    opened_at: at,
    nonce: a.secrets.nonce,
    install_token_hash: a.secrets.installTokenHash,
    first_boot_token_hash: a.secrets.firstBootTokenHash,
  };
}
