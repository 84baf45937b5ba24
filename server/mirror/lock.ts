// A file lock in the mirror directory so that only one refresh (CLI, cron or the server's
// background job) touches the mirror at a time. The lock file appears atomically with its
// content (written to a temp file, then hard-linked into place). A lock left behind by a
// process that died on this host is detected by its PID and broken.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { BusyError } from '../errors.ts';
import type { Logger } from '../log.ts';

export interface LockHolder {
  pid: number;
  host: string;
  since: string;
  /** Distinguishes holders within one process. */
  token?: string;
  /** Linux boot ID: a lock from before a reboot is stale even if its PID is reused now. */
  boot?: string;
}

const BOOT_ID = readBootId();

function readBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export class LockBusyError extends BusyError {
  readonly holder: LockHolder | undefined;
  constructor(path: string, holder: LockHolder | undefined) {
    const who = holder ? `pid ${holder.pid} on ${holder.host}, since ${holder.since}` : 'holder unknown';
    super(`another mirror refresh is running (${who}); lock file ${path}`);
    this.holder = holder;
  }
}

export interface LockOptions {
  /** Wait for the holder to finish instead of failing with LockBusyError. */
  wait?: boolean | undefined;
  pollMs?: number;
  log?: Logger | undefined;
  signal?: AbortSignal | undefined;
}

export interface HeldLock {
  release(): Promise<void>;
}

export async function acquireLock(path: string, options: LockOptions = {}): Promise<HeldLock> {
  await mkdir(dirname(path), { recursive: true });
  const me: LockHolder = {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
    token: randomUUID(),
    ...(BOOT_ID ? { boot: BOOT_ID } : {}),
  };
  let announced = false;
  for (;;) {
    options.signal?.throwIfAborted();
    if (await tryCreate(path, me)) return { release: () => releaseLock(path, me) };
    const holder = await readHolder(path);
    if (holder && isStale(holder)) {
      options.log?.warn({ lock: path, holder }, 'removing stale mirror lock left by a dead process');
      await unlink(path).catch(() => undefined);
      continue;
    }
    if (!options.wait) throw new LockBusyError(path, holder);
    if (!announced) options.log?.info({ lock: path, holder }, 'waiting for another mirror refresh to finish');
    announced = true;
    await new Promise((r) => setTimeout(r, options.pollMs ?? 250));
  }
}

async function tryCreate(path: string, me: LockHolder): Promise<boolean> {
  const temp = `${path}.${me.pid}.${me.token}`;
  await writeFile(temp, JSON.stringify(me));
  try {
    await link(temp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

async function readHolder(path: string): Promise<LockHolder | undefined> {
  try {
    const data = JSON.parse(await readFile(path, 'utf8')) as Partial<LockHolder>;
    if (typeof data.pid !== 'number' || typeof data.host !== 'string') return undefined;
    return { ...data, pid: data.pid, host: data.host, since: String(data.since) };
  } catch {
    return undefined;
  }
}

/** Stale = held on this host by a process that no longer exists (or before a reboot). Other hosts: never guessed. */
function isStale(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return false;
  if (holder.boot && BOOT_ID && holder.boot !== BOOT_ID) return true;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

async function releaseLock(path: string, me: LockHolder): Promise<void> {
  const holder = await readHolder(path);
  if (holder && holder.pid === me.pid && holder.token === me.token) await unlink(path).catch(() => undefined);
}
