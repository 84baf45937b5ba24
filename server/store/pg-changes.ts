// Cross-instance change feed: every write transaction NOTIFYs `<mac> <event id> <instance> <state>`
// on the store's channel (delivered at COMMIT); each instance LISTENs on one dedicated
// connection and tells its subscribers about the other instances' writes (dashboard
// caches, the last-known-machine cache); its own it already knows. When that
// connection drops it reconnects on its own (backoff up to 5 s) and then reports
// `undefined`: notifications may have been missed, everything cached must go.
import pg from 'pg';
import { storedMac } from '../machines/identity.ts';
import { MACHINE_STATES, type MachineState } from '../machines/state.ts';
import type { ChangeFeed, ChangeListener, Recorded } from './state-store.ts';

export function changeChannel(schema?: string): string {
  return schema ? `railyard_changes_${schema}` : 'railyard_changes';
}

/** The NOTIFY a write sends with its COMMIT (plain SQL: the MAC is canonical, the rest ours). */
export function notifySql(channel: string, r: Recorded, instance: string): string {
  const mac = r.machine.mac.replace(/[^0-9a-f:]/g, '');
  const payload = `${mac} ${Math.trunc(r.event.id)} ${instance} ${r.machine.state.replace(/[^a-z-]/g, '')}`;
  return `SELECT pg_notify('${channel}', '${payload}');`;
}

export class PgChangeFeed implements ChangeFeed {
  readonly #url: string;
  readonly #channel: string;
  readonly #listeners = new Set<ChangeListener>();
  #client: pg.Client | undefined;
  #closed = false;
  #retryMs = 250;
  #timer: NodeJS.Timeout | undefined;
  #ready: Promise<void> | undefined;

  readonly #instance: string;

  constructor(url: string, channel: string, instance: string) {
    this.#url = url;
    this.#channel = channel;
    this.#instance = instance;
  }

  /** Connect (and keep reconnecting); resolves after the first LISTEN or failed attempt. */
  start(): Promise<void> {
    this.#ready ??= this.#connect();
    return this.#ready;
  }

  get listening(): boolean {
    return this.#client !== undefined;
  }

  subscribe(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const client = new pg.Client({
      connectionString: this.#url,
      connectionTimeoutMillis: 3000,
      keepAlive: true,
    });
    let lost = false;
    const onLost = () => {
      if (lost) return;
      lost = true;
      if (this.#client === client) this.#client = undefined;
      client.end().catch(() => undefined);
      this.#retry();
    };
    client.on('error', onLost);
    client.on('end', onLost);
    client.on('notification', (msg) => {
      const [mac, id, from, state] = (msg.payload ?? '').split(' ');
      if (msg.channel !== this.#channel || !mac || from === this.#instance) return;
      if (!(MACHINE_STATES as readonly string[]).includes(state ?? '')) return;
      this.#emit({ mac: storedMac(mac), eventId: Number(id), state: state as MachineState });
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(this.#channel)}`);
    } catch {
      onLost();
      return;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
    this.#retryMs = 250;
    this.#emit(undefined); // whatever happened while we were not listening is unknown
  }

  #retry(): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#connect(), this.#retryMs);
    this.#timer.unref();
    this.#retryMs = Math.min(this.#retryMs * 2, 5000);
  }

  #emit(change: Parameters<ChangeListener>[0]): void {
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch {
        // a subscriber's failure is its own; the feed goes on
      }
    }
  }
}
