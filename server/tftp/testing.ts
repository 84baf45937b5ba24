// Test helpers for the TFTP module (not imported by production code): fixture trees, an
// in-process server on 127.0.0.1, a raw UDP probe, and a runner for real client programs.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileRoot, segmentsFromTftpName } from '../assets/file-root.ts';
import { openUnderRoot } from '../assets/open-file.ts';
import { silentLogger } from '../log.ts';
import { CLI } from '../testing/cli.ts';
import { decodePacket, encodeAck, encodeRequest, type Packet } from './packets.ts';
import { type TftpLimits, type TftpObserver, TftpServer } from './server.ts';
import { type TftpSource, withGeneratedFiles } from './source.ts';

export const TEST_LIMITS: TftpLimits = {
  maxTransfers: 100,
  maxPerClient: 8,
  maxBlksize: 1468,
  maxWindowsize: 16,
  retries: 6,
};

export function tempDir(prefix = 'ryt-tftp-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Random files named `f<size>` in `dir`; returns name → sha256. */
export function writeFixtures(dir: string, sizes: readonly number[]): Map<string, string> {
  const sums = new Map<string, string>();
  for (const size of sizes) {
    const bytes = randomBytes(size);
    writeFileSync(join(dir, `f${size}`), bytes);
    sums.set(`f${size}`, sha256(bytes));
  }
  return sums;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function rootSource(dir: string): TftpSource {
  const root = new FileRoot(dir);
  return withGeneratedFiles(
    { 'boot.ipxe': '#!ipxe\nchain http://127.0.0.1:8080/boot.ipxe\n' },
    { open: (name) => openUnderRoot(root, segmentsFromTftpName(name)) },
  );
}

export async function startTestServer(
  source: TftpSource,
  limits: Partial<TftpLimits> = {},
  host = '127.0.0.1',
  observer: TftpObserver = {},
): Promise<{ server: TftpServer; port: number }> {
  const server = new TftpServer(source, { ...TEST_LIMITS, ...limits }, silentLogger(), observer);
  const address = await server.listen({ host, port: 0 });
  return { server, port: address.port };
}

export interface Received {
  raw: Buffer;
  packet: Packet | undefined;
  port: number;
  address: string;
}

/** A raw UDP peer: send arbitrary bytes, await what comes back (queued in arrival order). */
export class UdpProbe {
  readonly socket: Socket;
  readonly #queue: Received[] = [];
  #waiter: (() => void) | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('message', (raw, from) => {
      this.#queue.push({ raw, packet: decodePacket(raw), port: from.port, address: from.address });
      this.#waiter?.();
    });
  }

  static async open(host = '127.0.0.1'): Promise<UdpProbe> {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve) => socket.bind(0, host, resolve));
    return new UdpProbe(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(bytes: Buffer | Uint8Array, port: number, host = '127.0.0.1'): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.send(bytes, port, host, (err) => (err ? reject(err) : resolve())),
    );
  }

  /** The next datagram, or undefined if none arrives within `ms`. */
  async next(ms = 5000): Promise<Received | undefined> {
    const deadline = Date.now() + ms;
    while (this.#queue.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#waiter = undefined;
    }
    return this.#queue.shift();
  }

  /** Everything that arrives within `ms` (a quiet period check, not a timing assertion). */
  async drain(ms: number): Promise<Received[]> {
    const out: Received[] = [];
    for (let r = await this.next(ms); r; r = await this.next(ms)) out.push(r);
    return out;
  }

  close(): void {
    this.socket.close();
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a program to completion (killed after `timeoutMs`); never rejects. */
export function run(
  cmd: string,
  args: readonly string[],
  options: { timeoutMs?: number; cwd?: string } = {},
) {
  return new Promise<RunResult>((resolve) => {
    const child = spawn(cmd, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: `${stderr}${err.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** True if `cmd` is on PATH. */
export async function have(cmd: string): Promise<boolean> {
  return (await run('sh', ['-c', `command -v ${cmd}`])).code === 0;
}

export interface RawGetResult {
  bytes: Buffer;
  /** Every DATA packet received, duplicates included. */
  dataPackets: number;
  oack: Map<string, string> | undefined;
  error: { code: number; message: string } | undefined;
}

/**
 * A minimal client on a raw probe: RRQ, optional OACK, DATA in order; acknowledges the end of
 * each window (or the last in-order block after a gap). With `duplicateAcks`, every ACK is
 * sent twice at once and once more when the next packet arrives (like iPXE, whose 250 ms
 * timer re-sends an ACK while the answer is already on its way).
 */
export async function rawGet(
  probe: UdpProbe,
  port: number,
  name: string,
  options: Record<string, string> = {},
  duplicateAcks = false,
): Promise<RawGetResult> {
  const ackTimes = duplicateAcks ? 2 : 1;
  let lastAck: { block: number; to: number } | undefined;
  await probe.send(encodeRequest('rrq', name, 'octet', options), port);
  const chunks: Buffer[] = [];
  const result: RawGetResult = { bytes: Buffer.alloc(0), dataPackets: 0, oack: undefined, error: undefined };
  let blksize = 512;
  let windowsize = 1;
  let next = 1;
  let inWindow = 0;
  const ack = async (block: number, to: number) => {
    for (let i = 0; i < ackTimes; i++) await probe.send(encodeAck(block), to);
    lastAck = { block, to };
  };
  for (;;) {
    const r = await probe.next(15_000);
    if (!r) throw new Error(`rawGet ${name}: no answer (next block ${next})`);
    const p = r.packet;
    if (duplicateAcks && lastAck) {
      await probe.send(encodeAck(lastAck.block), lastAck.to);
      lastAck = undefined;
      await new Promise((resolve) => setTimeout(resolve, 5)); // let a (wrong) answer to it get out
    }
    if (p?.op === 'error') return { ...result, error: { code: p.code, message: p.message } };
    if (p?.op === 'oack') {
      result.oack = parseOack(r.raw);
      blksize = Number(result.oack.get('blksize') ?? 512);
      windowsize = Number(result.oack.get('windowsize') ?? 1);
      await ack(0, r.port);
      continue;
    }
    if (p?.op !== 'data') continue;
    result.dataPackets++;
    if (p.block !== (next & 0xffff)) {
      inWindow = 0;
      await ack((next - 1) & 0xffff, r.port); // gap or duplicate: say what we have
      continue;
    }
    chunks.push(Buffer.from(p.data));
    next++;
    inWindow++;
    const last = p.data.length < blksize;
    if (last || inWindow >= windowsize) {
      inWindow = 0;
      await ack(p.block, r.port);
    }
    if (last) return { ...result, bytes: Buffer.concat(chunks) };
  }
}

export function parseOack(raw: Buffer): Map<string, string> {
  const fields = raw.subarray(2).toString('utf8').split('\0');
  const out = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) out.set(fields[i] as string, fields[i + 1] as string);
  return out;
}

export { CLI };

export interface ServerProcess {
  child: ChildProcess;
  /** Port of the first "TFTP listening on" line; undefined if the process exited first. */
  port: number | undefined;
  /** Everything written to stderr so far (the JSON log, or a startup error). */
  output: () => string;
  exitCode: Promise<number | null>;
  stop: () => Promise<void>;
}

/**
 * `railyard serve` in a child process, HTTP on 127.0.0.1:0. `wrap` runs it under another
 * program (prlimit, setpriv); `cli` is the entry point's path as that program sees it
 * (testing/unprivileged.ts). Stopped by its PID only.
 */
export async function spawnServer(
  args: readonly string[],
  options: { env?: Record<string, string>; wrap?: readonly string[]; cwd?: string; cli?: string } = {},
): Promise<ServerProcess> {
  const cli = options.cli ?? CLI;
  const argv = [...(options.wrap ?? []), process.execPath, cli, 'serve', '-l', '127.0.0.1:0', ...args];
  const cwd = options.cwd ?? tempDir('ryt-tftp-cwd-');
  const child = spawn(argv[0] as string, argv.slice(1), {
    cwd,
    // No mirror refresh: these servers must not reach for the Internet.
    env: {
      ...process.env,
      RAILYARD_LOG_FORMAT: 'json',
      RAILYARD_MIRROR_AUTO_REFRESH: 'false',
      ...options.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  const exitCode = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      if (!options.cwd) rmSync(cwd, { recursive: true, force: true });
      resolve(code);
    }),
  );
  const port = await new Promise<number | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 60_000);
    child.stderr?.on('data', (d: Buffer) => {
      output += d.toString();
      const m = /TFTP listening on [^"]*:(\d+)"/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    void exitCode.then(() => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exitCode;
  };
  return { child, port, output: () => output, exitCode, stop };
}
