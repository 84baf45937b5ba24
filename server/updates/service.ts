// The Omaha endpoint's core: parse, identify the client, apply its events, answer its update
// check under its policy, record what happened (the machine's timeline for machines railyard
// installed; the bounded update table for all). Transport-free: http/update-routes.ts adapts it.
import type { Logger } from '../log.ts';
import type { MachineSet } from '../machines/model.ts';
import type { StateStore } from '../store/state-store.ts';
import { SLOT_STATES, type UpdateClient, type UpdateStore } from './client.ts';
import { applyOmahaEvent, type EventOutcome, reachedTarget } from './events.ts';
import { type Identified, identify } from './identify.ts';
import { FLATCAR_APP_ID, type OmahaApp, parseOmahaRequest } from './omaha-request.ts';
import { type AppAnswer, type Offer, omahaResponse } from './omaha-response.ts';
import { eligibility, type NoUpdateReason } from './policy.ts';

/** Resolves a policy's version and reads the precomputed payload manifest (mirror/). */
export interface PayloadSource {
  resolveVersion(channel: string, board: string, spec: string): Promise<string | undefined>;
  offer(board: string, version: string): Promise<Omit<Offer, 'codebase'> | undefined>;
}

export interface UpdateObserver {
  checked(result: 'offer' | NoUpdateReason): void;
  event(kind: EventOutcome['kind']): void;
}

export interface UpdateServiceDeps {
  machines: () => MachineSet;
  store: StateStore;
  updates: UpdateStore;
  payloads: PayloadSource;
  publicUrl: string;
  slotTimeoutMs: number;
  maxUnknown: number;
  log: Logger;
  observer?: UpdateObserver;
  now?: () => Date;
}

type Check = { offer: Offer } | { noupdate: NoUpdateReason };

export class UpdateService {
  readonly #d: UpdateServiceDeps;

  constructor(deps: UpdateServiceDeps) {
    this.#d = deps;
  }

  /** Answer one Omaha request body. InvalidRequestError (400) before anything is recorded. */
  async handle(body: Uint8Array, ip: string): Promise<string> {
    const request = parseOmahaRequest(body);
    const answers: AppAnswer[] = [];
    for (const app of request.apps) answers.push(await this.#app(app, ip));
    return omahaResponse(answers);
  }

  async #app(app: OmahaApp, ip: string): Promise<AppAnswer> {
    if (app.appId !== FLATCAR_APP_ID) return { appId: app.appId, status: 'error-unknownApplication' };
    const answer = { appId: app.appId, status: 'ok' as const, ping: app.ping, events: app.events.length };
    if (!app.machineId) {
      if (app.updateCheck) this.#d.observer?.checked('no-machine-id');
      return { ...answer, check: app.updateCheck ? 'noupdate' : 'none' };
    }
    const now = (this.#d.now ?? (() => new Date()))().toISOString();
    const who = await identify(
      { ...app, machineId: app.machineId },
      { ...this.#d, machines: this.#d.machines() },
    );
    let client = this.#seen(await this.#d.updates.get(who.machineId), who, app, ip, now);
    for (const event of app.events) client = await this.#event(client, who, event, now);
    if (!app.updateCheck) {
      await this.#save(client);
      return { ...answer, check: 'none' };
    }
    const check = await this.#check(client, who, app, now);
    this.#d.observer?.checked('offer' in check ? 'offer' : check.noupdate);
    return { ...answer, check: 'offer' in check ? check.offer : 'noupdate' };
  }

  #seen(
    prev: UpdateClient | undefined,
    who: Identified,
    app: OmahaApp,
    ip: string,
    now: string,
  ): UpdateClient {
    const base: UpdateClient = prev ?? {
      machineId: who.machineId,
      mac: who.mac,
      group: null,
      track: '',
      board: '',
      oem: '',
      version: '',
      target: null,
      state: 'idle',
      slotSince: null,
      lastCheck: null,
      lastResult: null,
      errorCode: null,
      ip,
      firstSeen: now,
      lastSeen: now,
    };
    return {
      ...base,
      mac: who.mac,
      group: who.policy?.group ?? base.group,
      track: app.track,
      board: app.board,
      oem: app.oem,
      version: app.version,
      ip,
      lastSeen: now,
      // A slot that timed out is gone: later progress does not revive it (maxConcurrent holds).
      slotSince: this.#alive(base.slotSince, now) ? base.slotSince : null,
    };
  }

  async #event(client: UpdateClient, who: Identified, event: OmahaApp['events'][number], now: string) {
    const outcome = applyOmahaEvent(client, event, now);
    this.#d.observer?.event(outcome.kind);
    if (outcome.timeline && who.mac)
      await this.#d.store.recordEvent(who.mac, {
        type: outcome.timeline.type,
        source: 'node',
        data: outcome.timeline.data,
      });
    if (outcome.kind === 'failed' || outcome.kind === 'complete')
      this.#d.log.info(
        { machineId: who.machineId, mac: who.mac, ...outcome.timeline?.data },
        `update ${outcome.kind}`,
      );
    return outcome.client;
  }

  async #check(client: UpdateClient, who: Identified, app: OmahaApp, now: string): Promise<Check> {
    const p = who.policy;
    const target = p && (await this.#d.payloads.resolveVersion(p.channel, p.board, p.version));
    const offer = target && p ? await this.#d.payloads.offer(p.board, target) : undefined;
    const paused = p ? await this.#paused(p.group) : false;
    const verdict = eligibility({
      policy: p,
      track: app.track,
      board: app.board,
      running: app.version,
      target: target || undefined,
      payload: offer !== undefined,
      pausedByAdmin: paused,
      now: new Date(now),
    });
    if (!verdict.offer || !offer || !target || !p)
      return this.#noupdate(client, verdict.offer ? 'no-payload' : verdict.reason, now);
    const holding =
      SLOT_STATES.has(client.state) && client.target === target && this.#alive(client.slotSince, now);
    const next: UpdateClient = {
      ...client,
      state: holding ? client.state : 'offered',
      target,
      slotSince: now,
      lastCheck: now,
      lastResult: 'offered',
      errorCode: holding ? client.errorCode : null,
    };
    if (!(await this.#saveUnknownFirst(client))) return this.#noupdate(client, 'too-many-unknown', now);
    if (!(await this.#d.updates.takeSlot(next, p.maxConcurrent, this.#cutoff(now))))
      return this.#noupdate(client, 'rollout-full', now);
    if (!holding && who.mac)
      await this.#d.store.recordEvent(who.mac, {
        type: 'update-offered',
        source: 'http',
        data: { version: target, from: app.version, group: p.group },
      });
    const codebase = `${this.#d.publicUrl}/mirror/update/${encodeURIComponent(p.board)}/${target}/`;
    return { offer: { ...offer, codebase } };
  }

  async #noupdate(client: UpdateClient, reason: NoUpdateReason, now: string): Promise<Check> {
    const done = client.target !== null && reachedTarget(client);
    const releases = SLOT_STATES.has(client.state) || client.slotSince !== null;
    const next: UpdateClient = {
      ...client,
      state: done ? 'complete' : releases ? 'idle' : client.state,
      slotSince: null,
      lastCheck: now,
      lastResult: reason,
    };
    await this.#save(next);
    return { noupdate: reason };
  }

  /** An unknown client must have its (capped) row before it may take a slot. */
  async #saveUnknownFirst(client: UpdateClient): Promise<boolean> {
    if (client.mac !== null) return true;
    return this.#d.updates.save(
      { ...client, slotSince: null, state: SLOT_STATES.has(client.state) ? 'idle' : client.state },
      this.#d.maxUnknown,
    );
  }

  async #save(client: UpdateClient): Promise<void> {
    if (!(await this.#d.updates.save(client, this.#d.maxUnknown)))
      this.#d.log.warn(
        { machineId: client.machineId, maxUnknown: this.#d.maxUnknown },
        'update client not recorded: too many unknown machine-ids',
      );
  }

  async #paused(group: string): Promise<boolean> {
    return (await this.#d.updates.pauses()).some((p) => p.group === group || p.group === '*');
  }

  #cutoff(now: string): string {
    return new Date(Date.parse(now) - this.#d.slotTimeoutMs).toISOString();
  }

  #alive(since: string | null, now: string): boolean {
    return since !== null && since >= this.#cutoff(now);
  }
}
