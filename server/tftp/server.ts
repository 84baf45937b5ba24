// The TFTP server: one listening socket per configured address, read requests only, limits on
// concurrent transfers (total and per client IP). Each transfer gets its own socket bound to
// the address its request arrived on, so replies leave from the address the client talked to
// (Node has no IP_PKTINFO; binding per address is the portable way).
//
// Nothing a client sends can throw out of here: every socket has an 'error' handler, every
// send has a callback, and failures to open files or sockets (EMFILE included) become an
// ERROR reply and a log line.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { isIPv6 } from 'node:net';
import { errorMessage } from '../errors.ts';
import type { Stoppable } from '../lifecycle.ts';
import type { ListenAddress } from '../listen-address.ts';
import type { Logger } from '../log.ts';
import { tftpErrorFor } from './errors.ts';
import { pickVictim, SuspectAddresses } from './eviction.ts';
import { negotiate } from './options.ts';
import { decodePacket, ErrorCode, encodeError, type RequestPacket } from './packets.ts';
import type { TftpClient, TftpSource } from './source.ts';
import { Transfer, type TransferResult } from './transfer.ts';

export interface TftpLimits {
  maxTransfers: number;
  maxPerClient: number;
  maxBlksize: number;
  maxWindowsize: number;
  /** Retransmits (at ≥ 1 s intervals) before a silent client is dropped. */
  retries: number;
}

/** Optional observer (metrics): once per transfer that started, and for every ERROR sent. */
export interface TftpObserver {
  transferEnded?(result: TransferResult): void;
  errorSent?(code: number): void;
  /** A bound listener socket failed (main.ts: a fatal error, everything stops). */
  listenerFailed?(err: Error): void;
}

/** One admitted request: `transfer` is set once the file is open and the socket bound. */
interface Slot {
  key: string;
  ip: string;
  file: string;
  transfer?: Transfer;
  released?: boolean;
}

interface LogFields {
  client: string;
  port: number;
  file: string;
}

const MODES = new Set(['octet', 'netascii']); // netascii is served byte-for-byte, like octet

export class TftpServer implements Stoppable {
  readonly name = 'tftp';
  readonly #source: TftpSource;
  readonly #limits: TftpLimits;
  readonly #log: Logger;
  readonly #observer: TftpObserver;
  readonly #listeners: Socket[] = [];
  /** Keyed by local address + client address + port: a retransmitted RRQ is not a new transfer. */
  readonly #transfers = new Map<string, Slot>();
  readonly #perClient = new Map<string, number>();
  readonly #suspects = new SuspectAddresses();
  #stopping = false;
  #evictions = 0;

  constructor(source: TftpSource, limits: TftpLimits, log: Logger, observer: TftpObserver = {}) {
    this.#source = source;
    this.#limits = limits;
    this.#log = log;
    this.#observer = observer;
  }

  /** The bound listener sockets. */
  get listeners(): readonly Socket[] {
    return this.#listeners;
  }

  get activeTransfers(): number {
    return this.#transfers.size;
  }

  /** Transfers aborted to make room for a new request (their clients never answered). */
  get evictions(): number {
    return this.#evictions;
  }

  /** Bind one listener; rejects with the bind error (EACCES, EADDRINUSE...) for the caller to explain. */
  async listen(at: ListenAddress): Promise<AddressInfo> {
    const socket = await bindSocket(at.host, at.port);
    socket.on('error', (err) => {
      this.#log.error({ err, listen: at }, 'TFTP listener error');
      this.#observer.listenerFailed?.(err);
    });
    socket.on('message', (msg, rinfo) => this.#onRequest(socket, at.host, msg, rinfo));
    this.#listeners.push(socket);
    return socket.address();
  }

  #onRequest(listener: Socket, localHost: string, msg: Buffer, from: RemoteInfo): void {
    if (this.#stopping) return;
    const packet = decodePacket(msg);
    const reply = (code: number, message: string) => {
      try {
        listener.send(encodeError(code, message), from.port, from.address, () => {});
        this.#observer.errorSent?.(code);
      } catch {
        // port 0 from a forged source, or the listener closed meanwhile: nobody to tell
      }
    };
    if (packet?.op === 'wrq') {
      this.#log.info({ client: from.address, file: packet.filename }, 'TFTP write request refused');
      reply(ErrorCode.ACCESS_VIOLATION, 'read-only server');
    } else if (packet?.op === 'invalid') {
      this.#log.debug({ client: from.address, reason: packet.reason }, 'TFTP malformed request');
      reply(ErrorCode.ILLEGAL_OPERATION, 'malformed request');
    } else if (packet?.op === 'rrq') {
      if (!MODES.has(packet.mode)) reply(ErrorCode.ILLEGAL_OPERATION, `unsupported mode ${packet.mode}`);
      else
        this.#serve(localHost, packet, from, reply).catch((err: unknown) =>
          this.#log.error({ err, client: from.address }, 'TFTP request handling failed'),
        );
    }
    // Anything else on the request port (short datagrams, DATA, ACK, ERROR, junk) is ignored.
  }

  async #serve(
    localHost: string,
    request: RequestPacket,
    from: RemoteInfo,
    reply: (code: number, message: string) => void,
  ): Promise<void> {
    const key = `${localHost}|${from.address}|${from.port}`;
    const existing = this.#transfers.get(key);
    // Same name again: the client retransmitted its RRQ, our timer covers it. Another name
    // from the same port: the client gave up on the old one without telling us.
    if (existing && (existing.file === request.filename || !existing.transfer)) return;
    existing?.transfer?.abort('the client sent a new request', false);
    const fields = { client: from.address, port: from.port, file: request.filename };
    const slot = this.#reserve(key, from.address, request.filename);
    if (!slot) {
      this.#log.warn({ ...fields, active: this.#transfers.size }, 'TFTP busy: request refused');
      reply(ErrorCode.DISK_FULL, 'busy, try again later');
      return;
    }
    try {
      await this.#run(slot, localHost, request, fields);
    } catch (err) {
      const mapped = tftpErrorFor(err);
      const cause = mapped.level === 'error' ? { err } : { reason: errorMessage(err) };
      this.#log[mapped.level]({ ...fields, ...cause }, `TFTP request failed: ${mapped.message}`);
      if (!this.#stopping) reply(mapped.code, mapped.message);
    } finally {
      this.#release(key, from.address, slot);
    }
  }

  /** Open, bind, negotiate, transfer, log. Throws before the transfer starts (not found, EMFILE). */
  async #run(slot: Slot, localHost: string, request: RequestPacket, fields: LogFields): Promise<void> {
    const client: TftpClient = { address: fields.client, port: fields.port };
    const file = await this.#source.open(request.filename, client);
    let socket: Socket;
    try {
      socket = await bindSocket(localHost, 0);
      if (this.#stopping) {
        socket.close();
        throw new Error('server stopping');
      }
    } catch (err) {
      await file.close().catch(() => {});
      throw err;
    }
    if (slot.released) {
      // Evicted while opening (eviction.ts): the slot went to a newer request.
      socket.close();
      await file.close().catch(() => {});
      this.#log.debug(fields, 'TFTP request evicted before its transfer started');
      return;
    }
    const negotiated = negotiate(request.options, file.size, this.#limits);
    const onErrorSent = (code: number) => this.#observer.errorSent?.(code);
    slot.transfer = new Transfer({
      socket,
      client,
      file,
      negotiated,
      retries: this.#limits.retries,
      onErrorSent,
    });
    // Eviction goes by when transfers started: move this slot to the back (newest).
    if (!slot.released && this.#transfers.get(slot.key) === slot) {
      this.#transfers.delete(slot.key);
      this.#transfers.set(slot.key, slot);
    }
    slot.transfer.start();
    const result = await slot.transfer.done;
    if (result.outcome === 'complete') this.#suspects.clear(fields.client);
    this.#logResult(fields, file.size, negotiated.blksize, negotiated.windowsize, result);
    this.#observer.transferEnded?.(result);
  }

  /**
   * A slot for a new request. When the server (or this client) is full, a slot whose client
   * never answered gives its place up (eviction.ts): forged or silent requests, however many
   * source addresses they come from, cannot keep a real client out.
   */
  #reserve(key: string, ip: string, file: string): Slot | undefined {
    if (this.#transfers.size >= this.#limits.maxTransfers && !this.#evictSilent(() => true)) return undefined;
    if ((this.#perClient.get(ip) ?? 0) >= this.#limits.maxPerClient && !this.#evictSilent((s) => s.ip === ip))
      return undefined;
    const slot: Slot = { key, ip, file };
    this.#transfers.set(key, slot);
    this.#perClient.set(ip, (this.#perClient.get(ip) ?? 0) + 1);
    return slot;
  }

  /** Give up a slot (matching `which`) whose client never answered, as eviction.ts orders them. */
  #evictSilent(which: (slot: Slot) => boolean): boolean {
    const slot = pickVictim(this.#transfers.values(), this.#suspects, which);
    if (!slot) return false;
    this.#release(slot.key, slot.ip, slot);
    this.#suspects.add(slot.ip);
    // A slot still opening sees `released` when its file and socket are ready (#run).
    slot.transfer?.abort('evicted: the server is full and this client never answered', false);
    this.#evictions++;
    return true;
  }

  #release(key: string, ip: string, slot: Slot): void {
    if (slot.released) return;
    slot.released = true;
    if (this.#transfers.get(key) === slot) this.#transfers.delete(key);
    const left = (this.#perClient.get(ip) ?? 1) - 1;
    if (left > 0) this.#perClient.set(ip, left);
    else this.#perClient.delete(ip);
  }

  #logResult(
    fields: LogFields,
    size: number,
    blksize: number,
    windowsize: number,
    result: TransferResult,
  ): void {
    const line = { ...fields, size, blksize, windowsize, ...result };
    if (result.outcome === 'complete' || result.probe) {
      this.#log[result.probe ? 'debug' : 'info'](line, `TFTP sent ${fields.file}`);
    } else {
      this.#log.warn(line, `TFTP transfer of ${fields.file} ended: ${result.outcome}`);
    }
  }

  /** Stop listening now; let transfers run until `deadline`, then abort what is left. */
  async stop(deadline: number): Promise<void> {
    this.#stopping = true;
    for (const socket of this.#listeners.splice(0)) socket.close();
    const running = [...this.#transfers.values()].flatMap((slot) => (slot.transfer ? [slot.transfer] : []));
    if (running.length === 0) return;
    const timer = setTimeout(
      () => {
        for (const t of running) t.abort('server shutting down');
      },
      Math.max(0, deadline - Date.now()),
    );
    await Promise.all(running.map((t) => t.done));
    clearTimeout(timer);
  }
}

/** A UDP socket bound to host:port, with an error handler installed before anything can fail. */
export function bindSocket(host: string, port: number): Promise<Socket> {
  const socket = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', ipv6Only: isIPv6(host) });
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      try {
        socket.close();
      } catch {
        // never bound
      }
      reject(err);
    };
    socket.once('error', onError);
    try {
      socket.bind({ address: host, port, exclusive: true }, () => {
        socket.off('error', onError);
        socket.on('error', () => {}); // owners add their own handler; never an unhandled 'error'
        resolve(socket);
      });
    } catch (err) {
      onError(err as Error);
    }
  });
}
