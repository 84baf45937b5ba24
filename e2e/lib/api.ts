// railyard's API as the tests see it: machine state, events and phase timeline, and the
// target Ignition it rendered (taken out of the machine's installer cpio).
import { gunzipSync } from 'node:zlib';
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

/** The installed system's Ignition railyard rendered for `mac` (/opt/railyard/target.ign). */
export async function renderedTarget(ry: Railyard, mac: string): Promise<Buffer> {
  const url = `http://${ry.opts.listen}/installer/${mac}.cpio.gz`;
  const curl = ['curl', '-fsS', '--max-time', '10', url];
  const [cmd, ...args] = ry.opts.netns ? ['ip', 'netns', 'exec', ry.opts.netns, ...curl] : curl;
  const gz = await run('sh', ['-c', `"$@" | base64 -w0`, 'sh', cmd!, ...args]);
  const cpio = gunzipSync(Buffer.from(gz, 'base64'));
  const ign = JSON.parse(newcFile(cpio, 'usr/share/oem/config.ign').toString()) as {
    storage: { files: Array<{ path: string; contents: { source: string } }> };
  };
  const file = ign.storage.files.find((f) => f.path === '/opt/railyard/target.ign');
  if (!file) throw new Error('installer Ignition has no /opt/railyard/target.ign');
  return decodeDataUrl(file.contents.source);
}

function newcFile(cpio: Buffer, name: string): Buffer {
  let off = 0;
  while (off + 110 <= cpio.length) {
    const hex = (i: number) => Number.parseInt(cpio.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16);
    const size = hex(6);
    const nameSize = hex(11);
    const entry = cpio.toString('utf8', off + 110, off + 110 + nameSize - 1);
    const dataAt = align4(off + 110 + nameSize);
    if (entry === name) return cpio.subarray(dataAt, dataAt + size);
    if (entry === 'TRAILER!!!') break;
    off = align4(dataAt + size);
  }
  throw new Error(`${name} not in the installer cpio`);
}

const align4 = (n: number) => (n + 3) & ~3;

function decodeDataUrl(src: string): Buffer {
  const m = /^data:([^,]*),(.*)$/s.exec(src);
  if (!m) throw new Error(`not a data URL: ${src.slice(0, 40)}`);
  return m[1]!.endsWith(';base64') ? Buffer.from(m[2]!, 'base64') : Buffer.from(decodeURIComponent(m[2]!));
}
