// One read transfer: its own socket (the server's transfer ID), an optional OACK phase, then
// windows of DATA (RFC 7440; windowsize 1 is plain RFC 1350 lock-step).
//
// Contracts:
// - Only our timer retransmits. A duplicate or old ACK is ignored (no sorcerer's apprentice);
//   an ACK inside the window moves the window to ACK+1 and sends the next window.
// - Block numbers are tracked as absolute integers; the wire carries them modulo 2^16, so a
//   file longer than 65535 blocks rolls over to block 0.
// - Retransmit timeout: 1 s (or the client's negotiated `timeout`) until the client has
//   acknowledged something; after that an RTT estimate (RFC 6298 style, Karn's rule) between
//   MIN_RTO_MS and that base, so one lost packet on a LAN costs milliseconds, not a second.
//   Consecutive timeouts double the wait; after `retries` retransmits at or above the base
//   interval the client is considered gone.
// - A client that has never answered (no ACK of the OACK or of any DATA) is dropped at
//   FIRST_ANSWER_BUDGET_MS after the transfer started, whatever `retries` and `timeout`
//   say: a forged or silent request frees its slot within 10 s.
import type { RemoteInfo, Socket } from 'node:dgram';
import type { Negotiated } from './options.ts';
import { allocData, decodePacket, ErrorCode, encodeError, encodeOack } from './packets.ts';
import type { TftpClient, TftpFile } from './source.ts';

const BASE_RTO_MS = 1000;
const MIN_RTO_MS = 10;
const MAX_WAIT_MS = 16_000;
export const FIRST_ANSWER_BUDGET_MS = 10_000;

export type Outcome = 'complete' | 'client-error' | 'timeout' | 'aborted' | 'failed';

export interface TransferResult {
  outcome: Outcome;
  /** Bytes the client has acknowledged. */
  bytes: number;
  /** DATA/OACK packets sent again because the timer fired. */
  retransmits: number;
  durationMs: number;
  /** The client's ERROR message, or why we failed. */
  detail?: string;
  /** The client ended the transfer right after our OACK (PXE ROMs probing tsize). */
  probe?: boolean;
}

export interface TransferOptions {
  socket: Socket;
  client: TftpClient;
  file: TftpFile;
  negotiated: Negotiated;
  retries: number;
  /** Called for every ERROR packet this transfer sends (metrics). */
  onErrorSent?: (code: number) => void;
}

export class Transfer {
  readonly done: Promise<TransferResult>;
  #resolve!: (result: TransferResult) => void;
  readonly #socket: Socket;
  readonly #client: TftpClient;
  readonly #file: TftpFile;
  readonly #blksize: number;
  readonly #windowsize: number;
  readonly #retries: number;
  readonly #onErrorSent: (code: number) => void;
  readonly #lastBlock: number;
  readonly #baseRto: number;
  readonly #adaptive: boolean;
  readonly #startedAt = Date.now();
  #phase: 'oack' | 'data' | 'done' = 'data';
  #oack: Buffer | undefined;
  #windowStart = 1;
  #highestSent = 0;
  #generation = 0;
  #timer: NodeJS.Timeout | undefined;
  #timeouts = 0;
  #giveUpAfter = 0;
  #retransmits = 0;
  #rto: number;
  #srtt: number | undefined;
  #rttvar = 0;
  #sentAt = 0;
  #clean = true;
  #answered = false;

  constructor(options: TransferOptions) {
    this.done = new Promise((resolve) => {
      this.#resolve = resolve;
    });
    this.#socket = options.socket;
    this.#client = options.client;
    this.#file = options.file;
    this.#blksize = options.negotiated.blksize;
    this.#windowsize = options.negotiated.windowsize;
    this.#retries = options.retries;
    this.#onErrorSent = options.onErrorSent ?? (() => {});
    // Always a final short block, possibly empty: a 0-byte file is one empty DATA packet.
    this.#lastBlock = Math.floor(options.file.size / this.#blksize) + 1;
    const timeoutSec = options.negotiated.timeoutSec;
    this.#adaptive = timeoutSec === undefined;
    this.#baseRto = timeoutSec === undefined ? BASE_RTO_MS : timeoutSec * 1000;
    this.#rto = this.#baseRto;
    if (options.negotiated.oack.length > 0) {
      this.#phase = 'oack';
      this.#oack = encodeOack(options.negotiated.oack);
    }
    this.#socket.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo));
    this.#socket.on('error', (err) => this.#finish('failed', `socket error: ${err.message}`));
  }

  /** True once the client acknowledged anything: a real peer, not a forged source. */
  get answered(): boolean {
    return this.#answered;
  }

  start(): void {
    if (this.#oack) this.#sendOack(false);
    else void this.#sendWindow(false);
  }

  /** Stop now (server shutdown, superseded request); `notify`: send the client an ERROR. */
  abort(reason: string, notify = true): void {
    this.#finish('aborted', reason, notify ? reason : undefined);
  }

  #onMessage(msg: Buffer, from: RemoteInfo): void {
    const packet = decodePacket(msg);
    if (!packet) return; // shorter than 4 bytes or unknown opcode: silently ignored
    if (from.address !== this.#client.address || from.port !== this.#client.port) {
      // RFC 1350 §4: wrong transfer ID. Tell the sender (unless it sent an ERROR), carry on.
      if (packet.op !== 'error') this.#sendError(ErrorCode.UNKNOWN_TID, 'unknown transfer ID', from);
      return;
    }
    if (packet.op === 'ack') this.#onAck(packet.block);
    else if (packet.op === 'error') this.#onClientError(packet.message);
  }

  #onClientError(message: string): void {
    const probe = this.#phase === 'oack';
    this.#finish('client-error', message || '(no message)', undefined, probe);
  }

  #onAck(block: number): void {
    if (this.#phase === 'oack') {
      if (block !== 0) return;
      this.#progress();
      this.#phase = 'data';
      void this.#sendWindow(false);
      return;
    }
    if (this.#phase !== 'data') return;
    const before = this.#windowStart - 1;
    const delta = (block - before) & 0xffff;
    if (delta === 0 || before + delta > this.#highestSent) return; // duplicate, old or bogus
    this.#progress();
    this.#windowStart = before + delta + 1;
    if (before + delta === this.#lastBlock) this.#finish('complete');
    else void this.#sendWindow(false);
  }

  /** The client acknowledged something new: reset the back-off, learn the round trip. */
  #progress(): void {
    this.#answered = true;
    this.#clearTimer();
    // Karn: no sample from a retransmitted window, but keep the backed-off timeout until a
    // clean sample says otherwise (a slow client must not be flooded at the old estimate).
    if (!this.#clean) this.#rto = Math.min(this.#rto * 2 ** this.#timeouts, this.#baseRto);
    this.#timeouts = 0;
    if (!this.#clean || !this.#adaptive) return;
    const sample = Date.now() - this.#sentAt;
    if (this.#srtt === undefined) {
      this.#srtt = sample;
      this.#rttvar = sample / 2;
    } else {
      this.#rttvar = 0.75 * this.#rttvar + 0.25 * Math.abs(this.#srtt - sample);
      this.#srtt = 0.875 * this.#srtt + 0.125 * sample;
    }
    this.#rto = Math.min(Math.max(this.#srtt + 4 * this.#rttvar, MIN_RTO_MS), this.#baseRto);
  }

  #sendOack(retransmit: boolean): void {
    this.#markSent(retransmit);
    this.#send(this.#oack as Buffer);
    this.#armTimer();
  }

  async #sendWindow(retransmit: boolean): Promise<void> {
    const generation = ++this.#generation;
    this.#clearTimer();
    this.#markSent(retransmit);
    const first = this.#windowStart;
    const last = Math.min(first + this.#windowsize - 1, this.#lastBlock);
    let chunk: Buffer;
    try {
      chunk = await this.#readBlocks(first, last);
    } catch (err) {
      this.#finish('failed', `read failed: ${(err as Error).message}`, 'read error');
      return;
    }
    if (generation !== this.#generation || this.#phase !== 'data') return; // superseded
    for (let block = first; block <= last; block++) {
      const from = (block - first) * this.#blksize;
      const payload = chunk.subarray(from, Math.min(from + this.#blksize, chunk.length));
      const packet = allocData(block, payload.length);
      payload.copy(packet, 4);
      this.#send(packet);
      if (retransmit && block <= this.#highestSent) this.#retransmits++;
      this.#highestSent = Math.max(this.#highestSent, block);
    }
    this.#armTimer();
  }

  /** One positional read for a whole window; a short read means the file changed under us. */
  async #readBlocks(first: number, last: number): Promise<Buffer> {
    const start = (first - 1) * this.#blksize;
    const length = Math.max(0, Math.min((last - first + 1) * this.#blksize, this.#file.size - start));
    const chunk = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const n = await this.#file.read(chunk, got, length - got, start + got);
      if (n === 0) throw new Error(`file shrank: ${start + got} of ${this.#file.size} bytes`);
      got += n;
    }
    return chunk;
  }

  #markSent(retransmit: boolean): void {
    if (retransmit) {
      this.#clean = false;
    } else {
      this.#clean = true;
      this.#sentAt = Date.now();
    }
  }

  #armTimer(): void {
    this.#clearTimer();
    let wait = Math.min(this.#rto * 2 ** this.#timeouts, MAX_WAIT_MS);
    if (!this.#answered)
      wait = Math.max(0, Math.min(wait, this.#startedAt + FIRST_ANSWER_BUDGET_MS - Date.now()));
    this.#timer = setTimeout(() => this.#onTimeout(), wait);
  }

  #onTimeout(): void {
    this.#timer = undefined;
    if (this.#phase === 'done') return;
    if (!this.#answered && Date.now() - this.#startedAt >= FIRST_ANSWER_BUDGET_MS) {
      this.#finish(
        'timeout',
        `no answer within ${FIRST_ANSWER_BUDGET_MS / 1000} s (${this.#timeouts} retransmits)`,
      );
      return;
    }
    if (this.#timeouts === 0) {
      // Fast retransmits below the base interval do not count against `retries`.
      const fast = Math.max(0, Math.ceil(Math.log2(this.#baseRto / this.#rto)));
      this.#giveUpAfter = this.#retries + fast;
    }
    if (this.#timeouts >= this.#giveUpAfter) {
      const finalBlockSent = this.#phase === 'data' && this.#highestSent === this.#lastBlock;
      // Without the last ACK we cannot tell "gone" from "done, final ACK lost" (RFC 1350 §6).
      const why = finalBlockSent ? ' (all data sent: the final ACK may just have been lost)' : '';
      this.#finish('timeout', `no answer after ${this.#timeouts} retransmits${why}`);
      return;
    }
    this.#timeouts++;
    if (this.#phase === 'oack') {
      this.#retransmits++;
      this.#sendOack(true);
    } else {
      void this.#sendWindow(true);
    }
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #send(packet: Buffer, to: { address: string; port: number } = this.#client, then?: () => void): void {
    // A callback keeps send errors (EHOSTUNREACH, ENOBUFS, closed socket) off the 'error' event.
    try {
      this.#socket.send(packet, to.port, to.address, () => then?.());
    } catch {
      then?.();
    }
  }

  #sendError(code: number, message: string, to: { address: string; port: number }, then?: () => void): void {
    this.#send(encodeError(code, message), to, then);
    this.#onErrorSent(code);
  }

  #finish(outcome: Outcome, detail?: string, errorToClient?: string, probe = false): void {
    if (this.#phase === 'done') return;
    const acked = this.#phase === 'oack' ? 0 : this.#windowStart - 1;
    this.#phase = 'done';
    this.#generation++;
    this.#clearTimer();
    const close = () => {
      try {
        this.#socket.close();
      } catch {
        // already closed
      }
    };
    if (errorToClient) this.#sendError(ErrorCode.UNDEFINED, errorToClient, this.#client, close);
    else close();
    this.#file.close().catch(() => {});
    this.#resolve({
      outcome,
      bytes: Math.min(acked * this.#blksize, this.#file.size),
      retransmits: this.#retransmits,
      durationMs: Date.now() - this.#startedAt,
      ...(detail === undefined ? {} : { detail }),
      ...(probe ? { probe } : {}),
    });
  }
}
