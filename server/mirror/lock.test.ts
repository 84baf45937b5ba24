import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import { acquireLock, LockBusyError } from './lock.ts';

async function inTemp(fn: (dir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'railyard-lock-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a second holder is refused with a clear message, then gets the lock after release', () =>
  inTemp(async (dir) => {
    const path = join(dir, '.lock');
    const first = await acquireLock(path);
    await assert.rejects(acquireLock(path), (err: unknown) => {
      return (
        err instanceof LockBusyError &&
        err.message.includes(`another mirror refresh is running (pid ${process.pid}`)
      );
    });
    await first.release();
    assert.ok(!existsSync(path));
    await (await acquireLock(path)).release();
  }));

test('wait: the second holder waits for the first', () =>
  inTemp(async (dir) => {
    const path = join(dir, '.lock');
    const first = await acquireLock(path);
    const order: string[] = [];
    const second = acquireLock(path, { wait: true, pollMs: 10 }).then((l) => {
      order.push('second');
      return l;
    });
    await new Promise((r) => setTimeout(r, 50));
    order.push('first released');
    await first.release();
    await (await second).release();
    assert.deepEqual(order, ['first released', 'second']);
  }));

test('a stale lock from a dead process is broken', () =>
  inTemp(async (dir) => {
    const path = join(dir, '.lock');
    const dead = spawnSync(process.execPath, [
      '-e',
      'process.stdout.write(String(process.pid))',
    ]).stdout.toString();
    writeFileSync(
      path,
      JSON.stringify({ pid: Number(dead), host: hostname(), since: '2020-01-01T00:00:00Z' }),
    );
    await (await acquireLock(path)).release();
  }));

test('a lock from before a reboot is stale even when its PID is alive now', () =>
  inTemp(async (dir) => {
    const path = join(dir, '.lock');
    const holder = {
      pid: process.pid,
      host: hostname(),
      since: '2020-01-01T00:00:00Z',
      boot: 'another-boot',
    };
    writeFileSync(path, JSON.stringify(holder));
    if (!existsSync('/proc/sys/kernel/random/boot_id')) {
      console.log('    skipped: no Linux boot ID');
      return;
    }
    await (await acquireLock(path)).release();
  }));

test('a lock held on another host is never guessed stale', () =>
  inTemp(async (dir) => {
    const path = join(dir, '.lock');
    writeFileSync(path, JSON.stringify({ pid: 999999, host: 'elsewhere', since: '2020-01-01T00:00:00Z' }));
    await assert.rejects(acquireLock(path), LockBusyError);
  }));

test.run();
