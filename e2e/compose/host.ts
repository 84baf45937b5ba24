// The host state a Docker engine could change, read before and after the run: the iptables
// FORWARD chain, IP forwarding, bridges. And the bridges behind the engine's networks.
import { readFileSync } from 'node:fs';
import { run } from '../lib/proc.ts';

export interface HostNetState {
  forward: string;
  ipForward: string;
  bridges: string[];
}

export async function hostNetState(): Promise<HostNetState> {
  const forward = (await run('iptables', ['-S', 'FORWARD']).catch((e: Error) => e.message)).trim();
  const ipForward = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
  return { forward, ipForward, bridges: await linkNames('bridge') };
}

export function describeNetState(s: HostNetState): string {
  return `iptables -S FORWARD: ${s.forward.replace(/\n/g, '; ')} | ip_forward ${s.ipForward} | bridges: ${s.bridges.join(' ') || 'none'}`;
}

async function linkNames(type: string): Promise<string[]> {
  const out = await run('ip', ['-o', 'link', 'show', 'type', type]);
  return out
    .split('\n')
    .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1])
    .filter((n): n is string => Boolean(n));
}

/** Linux bridge names of the engine's bridge networks (default br-<first 12 of the ID>). */
export async function bridgesOf(engine: {
  docker(args: readonly string[]): Promise<string>;
}): Promise<string[]> {
  const ids = (await engine.docker(['network', 'ls', '-q', '--no-trunc', '--filter', 'driver=bridge']))
    .split('\n')
    .filter(Boolean);
  if (ids.length === 0) return [];
  const out = await engine.docker([
    'network',
    'inspect',
    '--format',
    '{{.Id}} {{index .Options "com.docker.network.bridge.name"}}',
    ...ids,
  ]);
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [id, name] = l.split(' ');
      return name && name !== '<no' ? name : `br-${id!.slice(0, 12)}`;
    });
}

/** Delete these links where they still exist; returns the ones that were there. */
export async function deleteLinks(names: string[]): Promise<string[]> {
  const present = new Set(await linkNames('bridge'));
  const left = names.filter((n) => present.has(n));
  for (const n of left) await run('ip', ['link', 'delete', n]);
  return left;
}

export async function waitFor(what: string, seconds: number, ok: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    if (await ok()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
