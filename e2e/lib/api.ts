// railyard's API as the tests see it: machine state, events and phase timeline, and the
// target Ignition its latest install attempt rendered (the admin's view of the attempt).
import { run } from './proc.ts';
import { ADMIN_TOKEN, httpGet, type Railyard } from './railyard.ts';

export interface MachineEvent {
  type: string;
  at: string;
  source: string;
  data: Record<string, unknown>;
}
export interface MachineDetail {
  machine: { mac: string; state: string; failures: number; failureReason: string | null };
  timeline: Array<{ phase: string; start: string; end: string | null; seconds: number | null }>;
  events: MachineEvent[];
  attempts: Array<{ id: number; state: string }>;
}

export async function machine(ry: Railyard, mac: string): Promise<MachineDetail> {
  return JSON.parse(
    // Reading the API needs the admin credential (or a dashboard session).
    await httpGet(ry.opts, `http://${ry.opts.listen}/api/v1/machines/${mac}`, {
      Authorization: `Bearer ${ADMIN_TOKEN}`,
    }),
  ) as MachineDetail;
}

export async function waitState(
  ry: Railyard,
  mac: string,
  state: string,
  timeoutSec: number,
): Promise<MachineDetail> {
  const deadline = Date.now() + timeoutSec * 1000;
  let last = '';
  for (;;) {
    const d = await machine(ry, mac).catch(() => null);
    if (d?.machine.state === state) return d;
    last = d?.machine.state ?? 'unknown';
    if (Date.now() > deadline)
      throw new Error(`${mac}: state ${last}, expected ${state} within ${timeoutSec} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export function eventsOf(d: MachineDetail, type: string): MachineEvent[] {
  return d.events.filter((e) => e.type === type);
}

/**
 * The installed system's Ignition railyard rendered for `mac`'s latest install attempt
 * (`/opt/railyard/target.ign` in its installer), byte for byte, from the admin API: the
 * installer itself is served only to the machine, and only while it installs.
 */
export async function renderedTarget(ry: Railyard, mac: string): Promise<Buffer> {
  const attempt = (await machine(ry, mac)).attempts[0];
  if (!attempt) throw new Error(`${mac}: no install attempt`);
  const url = `http://${ry.opts.listen}/api/v1/machines/${mac}/attempts/${attempt.id}/target.ign`;
  const curl = ['curl', '-fsS', '--max-time', '10', '-H', `Authorization: Bearer ${ADMIN_TOKEN}`, url];
  const [cmd, ...args] = ry.opts.netns ? ['ip', 'netns', 'exec', ry.opts.netns, ...curl] : curl;
  return Buffer.from(await run('sh', ['-c', `"$@" | base64 -w0`, 'sh', cmd!, ...args]), 'base64');
}
