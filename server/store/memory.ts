// An in-memory StateStore with the same semantics as SQLite (same reducer, same attempt
// rules, same retention), for tests of other modules. Every write computes its result
// first and commits only when nothing threw, like a transaction.
import { NotFoundError } from '../errors.ts';
import { isOpen } from '../machines/attempt.ts';
import type { Mac } from '../machines/identity.ts';
import { applyEvent, type EventType, type Machine, newMachine } from '../machines/state.ts';
import { type FleetQueries, fleetOver } from './fleet.ts';
import { memoryPool } from './memory-pool.ts';
import type { PoolStore } from './pool-store.ts';
import { memorySessions, type SessionStore } from './sessions.ts';
import { withSighting } from './sighting.ts';
import {
  type AttemptStep,
  type Clock,
  DEFAULT_LIMITS,
  MAX_TIME,
  type NewAttempt,
  type NewEvent,
  type OpenAttemptStep,
  type Opened,
  type Recorded,
  type Sighting,
  type StateStore,
  type StoredAttempt,
  type StoredEvent,
  type StoreLimits,
} from './state-store.ts';

export function memoryStore(
  clock: Clock = () => new Date(),
  limits: StoreLimits = DEFAULT_LIMITS,
): StateStore {
  return new MemoryStore(clock, limits);
}

class MemoryStore implements StateStore {
  readonly fleet: FleetQueries = fleetOver(this);
  readonly sessions: SessionStore = memorySessions();
  readonly #machines = new Map<string, Machine>();
  readonly pool: PoolStore = memoryPool((mac) => this.#machines.get(mac)?.facts);
  readonly #attempts = new Map<number, StoredAttempt>();
  #log: StoredEvent[] = [];
  #nextEvent = 1;
  #nextAttempt = 1;
  readonly #clock: Clock;
  readonly #limits: StoreLimits;

  constructor(clock: Clock, limits: StoreLimits) {
    this.#clock = clock;
    this.#limits = limits;
  }

  async getMachine(mac: Mac) {
    return this.#machines.get(mac);
  }

  async listMachines() {
    return [...this.#machines.values()].sort((a, b) => (a.mac < b.mac ? -1 : 1));
  }

  async recordEvent(
    mac: Mac,
    event: NewEvent,
    seen: Sighting = {},
    step?: OpenAttemptStep,
  ): Promise<Recorded> {
    const at = this.#at(event);
    const open = step ? this.#openOf(mac) : undefined;
    const next = open && step ? step(open) : undefined;
    if (open && next !== undefined) {
      const attempt = this.#setState(open, next, at);
      return { ...this.#append(mac, { ...event, at, attemptId: open.id }, seen), attempt };
    }
    return this.#append(mac, { ...event, at }, seen);
  }

  async openAttempt(mac: Mac, spec: NewAttempt, event: NewEvent, seen: Sighting = {}): Promise<Opened> {
    const at = this.#at(event);
    const previous = this.#openOf(mac);
    const superseded = previous && this.#setState(previous, 'superseded', at);
    const id = this.#nextAttempt++;
    const attempt: StoredAttempt = {
      ...structuredClone(spec),
      id,
      mac,
      state: 'served',
      openedAt: at,
      closedAt: null,
    };
    this.#attempts.set(id, attempt);
    const recorded = this.#append(mac, { ...event, at, attemptId: id }, seen);
    this.#pruneAttempts(mac);
    return { ...recorded, attempt: structuredClone(attempt), superseded };
  }

  async recordReport(attemptId: number, event: NewEvent, step: AttemptStep) {
    const stored = this.#attempts.get(attemptId);
    if (!stored) throw new NotFoundError(`no install attempt ${attemptId}`);
    const at = this.#at(event);
    const next = step(structuredClone(stored));
    const attempt = this.#setState(stored, next, at);
    return { ...this.#append(stored.mac, { ...event, at, attemptId }, {}), attempt };
  }

  async getAttempt(id: number) {
    const a = this.#attempts.get(id);
    return a && structuredClone(a);
  }

  async openAttemptOf(mac: Mac) {
    return this.#openOf(mac);
  }

  async attempts(mac: Mac, options: { limit?: number } = {}) {
    const all = [...this.#attempts.values()].filter((a) => a.mac === mac).sort((a, b) => b.id - a.id);
    return structuredClone(options.limit === undefined ? all : all.slice(0, options.limit));
  }

  async openAttempts() {
    return structuredClone(
      [...this.#attempts.values()].filter((a) => isOpen(a.state)).sort((a, b) => a.id - b.id),
    );
  }

  async events(mac: Mac, options: { limit?: number } = {}) {
    const all = this.#log.filter((e) => e.mac === mac);
    return structuredClone(options.limit === undefined ? all : all.slice(-options.limit));
  }

  async latestEvent(mac: string, type: EventType, at = MAX_TIME) {
    const found = this.#log.findLast((e) => e.mac === mac && e.type === type && e.at <= at);
    return found && structuredClone(found);
  }

  async installingVersions(channel: string, board: string) {
    const open = [...this.#attempts.values()].filter(
      (a) =>
        isOpen(a.state) &&
        (a.state === 'served' || a.state === 'installing') &&
        a.channel === channel &&
        a.board === board,
    );
    return [...new Set(open.map((a) => a.version))].sort();
  }

  async close() {}

  #at(event: NewEvent): string {
    return event.at ?? this.#clock().toISOString();
  }

  #openOf(mac: Mac): StoredAttempt | undefined {
    for (const a of this.#attempts.values()) if (a.mac === mac && isOpen(a.state)) return structuredClone(a);
    return undefined;
  }

  #setState(attempt: StoredAttempt, state: StoredAttempt['state'], at: string): StoredAttempt {
    const closedAt = isOpen(state) ? null : (attempt.closedAt ?? at);
    const next = { ...structuredClone(attempt), state, closedAt };
    this.#attempts.set(attempt.id, next);
    return structuredClone(next);
  }

  #append(mac: Mac, event: NewEvent & { at: string }, seen: Sighting): Recorded {
    const data = event.data ?? {};
    const before = this.#machines.get(mac) ?? newMachine(mac, event.at);
    const machine = withSighting(
      applyEvent(before, { type: event.type, source: event.source, at: event.at, data }),
      seen,
    );
    this.#machines.set(mac, machine);
    const stored: StoredEvent = {
      id: this.#nextEvent++,
      mac,
      type: event.type,
      source: event.source,
      at: event.at,
      data,
      state: machine.state,
      attemptId: event.attemptId ?? null,
    };
    this.#log.push(stored);
    this.#pruneEvents(mac);
    return { machine: structuredClone(machine), event: structuredClone(stored) };
  }

  #pruneEvents(mac: Mac): void {
    const limit = this.#limits.eventsPerMachine;
    const mine = this.#log.filter((e) => e.mac === mac);
    if (mine.length <= limit) return;
    const keep = Math.max(1, limit - Math.ceil(limit / 20));
    const drop = new Set(mine.slice(0, mine.length - keep).map((e) => e.id));
    this.#log = this.#log.filter((e) => !drop.has(e.id));
  }

  #pruneAttempts(mac: Mac): void {
    const closed = [...this.#attempts.values()]
      .filter((a) => a.mac === mac && !isOpen(a.state))
      .sort((a, b) => b.id - a.id);
    const keepClosed = Math.max(0, this.#limits.attemptsPerMachine - (this.#openOf(mac) ? 1 : 0));
    const old = new Set(closed.slice(keepClosed).map((a) => a.id));
    if (old.size === 0) return;
    for (const id of old) this.#attempts.delete(id);
    this.#log = this.#log.filter((e) => e.attemptId === null || !old.has(e.attemptId));
  }
}
