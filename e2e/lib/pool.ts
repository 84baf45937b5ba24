// The warm pool as the E2E suites drive it (docs/pool.md): claims through the admin API, the
// pooled node's console markers, and the per-node `claim→first-boot N.Ns` figure, taken from
// railyard's own event times (the claim's `pool-claimed` to the machine's `first-boot`).
import type { MachineDetail } from './api.ts';
import { SCALE } from './flow.ts';
import type { NodeRun } from './node-run.ts';
import { ADMIN_TOKEN, type Railyard } from './railyard.ts';

const s = (sec: number) => sec * SCALE;

export interface ClaimAnswer {
  status: number;
  body: { claimed?: Array<{ mac: string; profile: string; prewritten: boolean }>; error?: string };
}

export async function claim(ry: Railyard, body: Record<string, unknown>): Promise<ClaimAnswer> {
  const res = await fetch(`http://${ry.opts.listen}/api/v1/pool/claim`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: (await res.json()) as ClaimAnswer['body'] };
}

/** PXE → the pool install script → PXE initramfs → pool.sh: written (or found current) and pooled. */
export async function expectPooled(node: NodeRun, rewrite: boolean): Promise<void> {
  await node.waitFor('boot.ipxe', /boot\.ipxe/, s(180));
  await node.waitFor('PXE initramfs', /Flatcar stand-in \S+ PXE initramfs/, s(240));
  if (!rewrite) await node.waitFor('disk current', /railyard: pool: \S+ already holds Flatcar/, s(240));
  await node.waitFor('pooled', /railyard: pool: pooled: Flatcar/, s(rewrite ? 300 : 120));
  if (rewrite && node.saw(/railyard: pool: \S+ already holds Flatcar/))
    throw new Error(`${node.spec.name}: a fresh disk was taken for a pooled one`);
}

/** Seconds from the machine's latest claim to its first-boot report (railyard's clock). */
export function claimToFirstBoot(detail: MachineDetail): number | undefined {
  const claimed = detail.events.filter((e) => e.type === 'pool-claimed').at(-1);
  const booted = detail.events.filter((e) => e.type === 'first-boot').at(-1);
  if (!claimed || !booted) return undefined;
  return (Date.parse(booted.at) - Date.parse(claimed.at)) / 1000;
}

/** The per-node line: `p1 posts=1 handoff=kexec claim→first-boot 11.4s`. */
export function poolNodeLine(node: NodeRun, detail: MachineDetail, posts: number): string {
  const handoff = detail.events.filter((e) => e.type === 'handoff').at(-1)?.data['method'];
  const seconds = claimToFirstBoot(detail);
  return [
    node.spec.name,
    `posts=${posts}`,
    ...(handoff ? [`handoff=${String(handoff)}`] : []),
    ...(seconds === undefined ? [] : [`claim→first-boot ${seconds.toFixed(1)}s`]),
  ].join(' ');
}

/** Firmware POSTs of a BIOS node on its console (SeaBIOS's banner once per POST). */
export function seabiosPosts(node: NodeRun): number {
  return node.lines.filter((l) => /SeaBIOS \(version /.test(l.text)).length;
}
