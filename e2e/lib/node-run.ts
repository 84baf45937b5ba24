// One QEMU node: started with a fresh (or given) disk, its serial console read line by line
// with timestamps (seconds since QEMU started), and markers awaited in order.
import type { ChildProcess } from 'node:child_process';
import { copyFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Cleanup } from './cleanup.ts';
import { run, startTracked, stopChild } from './proc.ts';
import { type NodeSpec, OVMF_VARS, qemuArgs } from './qemu-args.ts';

export interface ConsoleLine {
  t: number;
  text: string;
}

export interface NodeRunOptions {
  /** run QEMU inside this network namespace (tap networking). */
  netns?: string;
  /** called for every console line (e.g. to print it, or to append to a log). */
  onLine?: (line: ConsoleLine) => void;
}

export class NodeRun {
  readonly lines: ConsoleLine[] = [];
  readonly marks: Array<{ label: string; t: number }> = [];
  readonly exited: Promise<number | null>;
  readonly #child: ChildProcess;
  readonly #start = Date.now();
  #cursor = 0;
  #waiters = new Set<() => void>();

  constructor(
    readonly spec: NodeSpec,
    child: ChildProcess,
    onLine?: (line: ConsoleLine) => void,
  ) {
    this.#child = child;
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (raw) => {
      // biome-ignore lint/suspicious/noControlCharactersInRegex: strips terminal escapes
      const text = raw.replace(/\x1b\[[0-9;?]*[A-Za-z]|\r/g, '');
      const line = { t: this.elapsed(), text };
      this.lines.push(line);
      onLine?.(line);
      for (const w of this.#waiters) w();
    });
    child.stderr?.on('data', (d: Buffer) => this.lines.push({ t: this.elapsed(), text: `qemu: ${d}` }));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    this.exited.then(() => {
      for (const w of this.#waiters) w();
    });
  }

  elapsed(): number {
    return (Date.now() - this.#start) / 1000;
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Wait for the next console line (after the previous marker) matching `re`; returns its time. */
  async waitFor(label: string, re: RegExp, timeoutSec: number): Promise<number> {
    const deadline = Date.now() + timeoutSec * 1000;
    for (;;) {
      const i = this.lines.findIndex((l, k) => k >= this.#cursor && re.test(l.text));
      if (i >= 0) {
        this.#cursor = i + 1;
        const t = this.lines[i]!.t;
        this.marks.push({ label, t });
        return t;
      }
      if (!this.running) throw this.#error(`QEMU exited before "${label}" (${re})`);
      if (Date.now() > deadline) throw this.#error(`no "${label}" (${re}) within ${timeoutSec} s`);
      await this.#nextLine(deadline);
    }
  }

  /** True when any line from the start matches. */
  saw(re: RegExp): boolean {
    return this.lines.some((l) => re.test(l.text));
  }

  async waitExit(timeoutSec: number): Promise<number | null> {
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutSec * 1000).unref());
    const result = await Promise.race([this.exited, timer]);
    if (result === 'timeout') throw this.#error(`QEMU still running ${timeoutSec} s after the last marker`);
    return result;
  }

  stop(): Promise<void> {
    return stopChild(this.#child, 2000);
  }

  tail(n = 25): string {
    return this.lines
      .slice(-n)
      .map((l) => `  [${l.t.toFixed(1)}] ${l.text}`)
      .join('\n');
  }

  #nextLine(deadline: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.#waiters.delete(done);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, deadline - Date.now()) + 10);
      this.#waiters.add(done);
    });
  }

  #error(msg: string): Error {
    return new Error(
      `${this.spec.name}: ${msg} at +${this.elapsed().toFixed(1)} s; console tail:\n${this.tail()}`,
    );
  }
}

/** A fresh qcow2 disk (and OVMF vars copy) for a node. */
export async function freshDisk(spec: NodeSpec, sizeGb = 2): Promise<void> {
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', spec.disk, `${sizeGb}G`]);
  if (spec.firmware === 'uefi' && spec.varsFile) await copyFile(OVMF_VARS, spec.varsFile);
}

export function startNode(cleanup: Cleanup, spec: NodeSpec, opts: NodeRunOptions = {}): NodeRun {
  const qemu = ['qemu-system-x86_64', ...qemuArgs(spec)];
  const [cmd, ...args] = opts.netns ? ['ip', 'netns', 'exec', opts.netns, ...qemu] : qemu;
  const child = startTracked(cleanup, cmd!, args);
  return new NodeRun(spec, child, opts.onLine);
}
