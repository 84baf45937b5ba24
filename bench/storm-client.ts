// Boot-storm load generator (its own process): N machines, each on its own keep-alive
// connection doing its script path strictly in order, `inflight` machines at a time.
// Raw sockets and a minimal HTTP/1.1 response parser keep the client's CPU cost low.
// Usage: storm-client.ts <host:port> <machines> <inflight> <run-id 0-255> <path-template>...
// A path template may contain {mac} (02-42-rr-xx-xx-xx). Prints one JSON line.
import { connect, type Socket } from 'node:net';
import { percentile } from './lib/stats.ts';

const [hostPort, machinesArg, inflightArg, runArg, ...templates] = process.argv.slice(2);
const [host, port] = [hostPort!.split(':')[0]!, Number(hostPort!.split(':')[1])];
const machines = Number(machinesArg);
const runId = Number(runArg);

const latencies: number[] = [];
const pathLatencies: number[] = [];
const failures: Record<string, number> = {};
let next = 0;

function macFor(i: number): string {
  return [2, 0x42, runId, i >> 16, (i >> 8) & 0xff, i & 0xff]
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('-');
}

/** Reads one response at a time off a keep-alive socket. */
class Conn {
  #buf: Buffer = Buffer.alloc(0);
  #waiter: (() => void) | undefined;
  #closed = false;
  constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.#buf = this.#buf.length ? Buffer.concat([this.#buf, d]) : d;
      this.#waiter?.();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#waiter?.();
    });
    socket.on('error', () => {});
  }

  async get(path: string): Promise<number> {
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostPort}\r\nUser-Agent: iPXE/1.21.1 (bench)\r\n\r\n`);
    for (;;) {
      const done = this.#parse();
      if (done !== undefined) return done;
      if (this.#closed) throw new Error('connection closed');
      await new Promise<void>((r) => {
        this.#waiter = r;
      });
    }
  }

  /** Status when a whole response is buffered (and consumed), else undefined. */
  #parse(): number | undefined {
    const end = this.#buf.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const head = this.#buf.subarray(0, end).toString('latin1');
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    let total: number;
    if (length) total = end + 4 + Number(length[1]);
    else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      const last = this.#buf.indexOf('\r\n0\r\n\r\n', end);
      if (last < 0) return undefined;
      total = last + 7;
    } else total = end + 4;
    if (this.#buf.length < total) return undefined;
    this.#buf = this.#buf.subarray(total);
    return status;
  }
}

async function oneMachine(i: number): Promise<void> {
  const mac = macFor(i);
  const socket = connect(port, host);
  socket.setNoDelay(true);
  const conn = new Conn(socket);
  const pathStart = performance.now();
  try {
    for (const t of templates) {
      const started = performance.now();
      const status = await conn.get(t.replaceAll('{mac}', mac));
      latencies.push(performance.now() - started);
      if (status !== 200) {
        failures[`HTTP ${status}`] = (failures[`HTTP ${status}`] ?? 0) + 1;
        return;
      }
    }
    pathLatencies.push(performance.now() - pathStart);
  } catch (err) {
    const key = (err as Error).message;
    failures[key] = (failures[key] ?? 0) + 1;
  } finally {
    socket.destroy();
  }
}

async function worker(): Promise<void> {
  while (next < machines) await oneMachine(next++);
}

const cpu0 = process.cpuUsage(); // the client's own work only, not its start-up
const started = performance.now();
await Promise.all(Array.from({ length: Math.min(Number(inflightArg), machines) }, worker));
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpu0);
latencies.sort((a, b) => a - b);
pathLatencies.sort((a, b) => a - b);
const stats = (xs: number[]) => ({ p50: percentile(xs, 50), p99: percentile(xs, 99), max: xs.at(-1) ?? 0 });
process.stdout.write(
  `${JSON.stringify({
    seconds,
    requests: latencies.length,
    paths: pathLatencies.length,
    errors: Object.values(failures).reduce((a, b) => a + b, 0),
    failures,
    request: stats(latencies),
    path: stats(pathLatencies),
    clientCpuSeconds: (cpu.user + cpu.system) / 1e6,
  })}\n`,
);
